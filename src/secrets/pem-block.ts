/**
 * PEM blocks (RFC 7468 "Textual Encodings of PKIX, PKCS, and CMS Structures") read from and written to Buffers,
 * byte by byte, for secrets that are private keys: an exchange's Ed25519 or RSA API key is stored as PEM text.
 *
 * Why not `crypto.createPrivateKey(text)` alone: the scrubbers must know the key's DER bytes to catch it in forms
 * the PEM text does not show (hex of the DER, base64 at another alignment, a re-wrapped PKCS#8 body), and they
 * must get them without making a JavaScript string of the key, which could not be wiped (see `secret-encodings.ts`).
 *
 * Lenient where stored keys differ in harmless ways: CRLF or LF line ends, indentation, no line breaks at all, and
 * the two-character escape `\n` in place of line ends (a PEM pasted into a one-line environment variable or a JSON
 * field written by hand). RFC 1421 header lines (`Proc-Type: 4,ENCRYPTED`, `DEK-Info: …`) are skipped and reported.
 *
 * SECURITY: the DER and encoded PEM are Buffers the caller owns and zeroes; labels are not secret (`PRIVATE KEY`).
 */

/** One `-----BEGIN <label>-----` … `-----END <label>-----` block. */
export interface PemBlock {
  /** E.g. `PRIVATE KEY`, `RSA PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`, `PUBLIC KEY`. */
  readonly label: string;
  /** The decoded body. Secret-derived when the block is a private key: zero it when done. */
  readonly der: Buffer;
  /** True when the body carried RFC 1421 headers (`Proc-Type: 4,ENCRYPTED` of OpenSSL's legacy encrypted keys). */
  readonly headers: boolean;
}

const BEGIN = Buffer.from('-----BEGIN ', 'latin1');
const DASHES = Buffer.from('-----', 'latin1');
const LABEL = /^[A-Z0-9]+(?: [A-Z0-9]+)*$/;
const MAX_LABEL = 64;
const LINE_WIDTH = 64;
const BASE64 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1');
const DECODE = new Int16Array(256).fill(-1);
for (const [index, byte] of BASE64.entries()) DECODE[byte] = index;

/** True when `bytes` holds a `-----BEGIN ` marker (cheap test before {@link readPemBlocks}). */
export function looksLikePem(bytes: Buffer): boolean {
  return bytes.indexOf(BEGIN) !== -1;
}

/**
 * Every well-formed PEM block in `bytes`, in order. A block whose body is not base64 or whose END line does not
 * match its BEGIN line is left out (it is not a key anything could use).
 */
export function readPemBlocks(bytes: Buffer): PemBlock[] {
  const blocks: PemBlock[] = [];
  let from = 0;
  for (;;) {
    const begin = bytes.indexOf(BEGIN, from);
    if (begin === -1) return blocks;
    const labelStart = begin + BEGIN.length;
    const labelEnd = bytes.indexOf(DASHES, labelStart);
    if (labelEnd === -1 || labelEnd - labelStart > MAX_LABEL) return blocks;
    const label = bytes.toString('latin1', labelStart, labelEnd);
    const bodyStart = labelEnd + DASHES.length;
    from = bodyStart;
    if (!LABEL.test(label)) continue;
    const end = Buffer.from(`-----END ${label}-----`, 'latin1');
    const bodyEnd = bytes.indexOf(end, bodyStart);
    if (bodyEnd === -1) continue;
    from = bodyEnd + end.length;
    const body = decodeBody(bytes.subarray(bodyStart, bodyEnd));
    if (body !== undefined) blocks.push({ label, ...body });
  }
}

/**
 * For a value that is one PEM block and nothing else (surrounding whitespace aside): the part of its text that
 * carries the key — from after the BEGIN line and any RFC 1421 header lines to the END line — as a view into
 * `bytes` (no copy). Undefined for anything else.
 *
 * Why: the armor (`-----BEGIN ENCRYPTED PRIVATE KEY-----`) is the same in every key and in ordinary prose ("not a
 * private key"); a scrubber that took it for secret text would redact those words wherever they appear.
 */
export function pemBodyRegion(bytes: Buffer): Buffer | undefined {
  const begin = bytes.indexOf(BEGIN);
  if (begin === -1 || bytes.subarray(0, begin).some((b) => !isSpace(b))) return undefined;
  const labelEnd = bytes.indexOf(DASHES, begin + BEGIN.length);
  if (labelEnd === -1) return undefined;
  const label = bytes.toString('latin1', begin + BEGIN.length, labelEnd);
  const end = Buffer.from(`-----END ${label}-----`, 'latin1');
  const bodyEnd = bytes.indexOf(end, labelEnd);
  if (bodyEnd === -1 || bytes.subarray(bodyEnd + end.length).some((b) => !isSpace(b))) return undefined;
  let start = labelEnd + DASHES.length;
  // Past header lines ("Proc-Type: 4,ENCRYPTED"): the body starts after the last line holding a ':'.
  const colon = bytes.subarray(start, bodyEnd).lastIndexOf(0x3a);
  if (colon !== -1) start = lineEnd(bytes.subarray(0, bodyEnd), start + colon);
  return bytes.subarray(start, bodyEnd);
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/**
 * `der` as a PEM block with `label`: 64-character lines, LF line ends, a final LF — the form OpenSSL and Node write
 * (`KeyObject.export({ format: 'pem' })`), built in a Buffer the caller owns and zeroes.
 */
export function encodePem(label: string, der: Buffer): Buffer {
  const head = Buffer.from(`-----BEGIN ${label}-----\n`, 'latin1');
  const tail = Buffer.from(`-----END ${label}-----\n`, 'latin1');
  const chars = Math.ceil(der.length / 3) * 4;
  const lines = Math.ceil(chars / LINE_WIDTH);
  const out = Buffer.alloc(head.length + chars + lines + tail.length);
  head.copy(out, 0);
  let at = head.length;
  let written = 0;
  const put = (byte: number): void => {
    out[at++] = byte;
    written++;
    if (written % LINE_WIDTH === 0) out[at++] = 0x0a;
  };
  for (let i = 0; i < der.length; i += 3) {
    const b0 = der[i] ?? 0;
    const b1 = der[i + 1] ?? 0;
    const b2 = der[i + 2] ?? 0;
    put(BASE64[b0 >> 2] ?? 0);
    put(BASE64[((b0 & 3) << 4) | (b1 >> 4)] ?? 0);
    put(i + 1 < der.length ? (BASE64[((b1 & 15) << 2) | (b2 >> 6)] ?? 0) : 0x3d);
    put(i + 2 < der.length ? (BASE64[b2 & 63] ?? 0) : 0x3d);
  }
  if (written % LINE_WIDTH !== 0) out[at++] = 0x0a;
  tail.copy(out, at);
  return out;
}

/** The body's bytes, skipping whitespace, `\n` escapes and header lines; undefined when it is not base64. */
function decodeBody(body: Buffer): { der: Buffer; headers: boolean } | undefined {
  const out = Buffer.alloc(Math.floor((body.length * 3) / 4) + 3);
  let length = 0;
  let bits = 0;
  let count = 0;
  let padding = 0;
  let headers = false;
  let i = 0;
  while (i < body.length) {
    const end = lineEnd(body, i);
    // RFC 1421 header lines ("Proc-Type: 4,ENCRYPTED") hold a ':', which base64 never does.
    const colon = body.indexOf(0x3a, i);
    if (colon !== -1 && colon < end) {
      headers = true;
      i = end;
      continue;
    }
    for (; i < end; i++) {
      const byte = body[i] ?? 0;
      if (byte === 0x0a || byte === 0x0d || byte === 0x20 || byte === 0x09) continue;
      if (byte === 0x5c && (body[i + 1] === 0x6e || body[i + 1] === 0x72)) {
        i++;
        continue;
      }
      if (byte === 0x3d) {
        padding++;
        continue;
      }
      const value = DECODE[byte] ?? -1;
      if (value === -1 || padding > 0) {
        out.fill(0);
        return undefined;
      }
      bits = ((bits << 6) | value) & 0xffffff;
      count++;
      if (count === 4) {
        out[length++] = (bits >> 16) & 0xff;
        out[length++] = (bits >> 8) & 0xff;
        out[length++] = bits & 0xff;
        bits = 0;
        count = 0;
      }
    }
  }
  if (count === 1 || padding > 2 || length + count === 0) {
    out.fill(0);
    return undefined;
  }
  if (count === 2) out[length++] = (bits >> 4) & 0xff;
  if (count === 3) {
    out[length++] = (bits >> 10) & 0xff;
    out[length++] = (bits >> 2) & 0xff;
  }
  const der = Buffer.from(out.subarray(0, length));
  out.fill(0);
  return { der, headers };
}

/** Index just past the line that starts at `from`: after its LF, CR or `\n` / `\r` escape, or the body's end. */
function lineEnd(body: Buffer, from: number): number {
  for (let i = from; i < body.length; i++) {
    const byte = body[i];
    if (byte === 0x0a || byte === 0x0d) return i + 1;
    if (byte === 0x5c && (body[i + 1] === 0x6e || body[i + 1] === 0x72)) return i + 2;
  }
  return body.length;
}
