/**
 * The encodings a secret can take on its way out of a process, written into Buffers.
 *
 * SECURITY: every form is built byte by byte into a Buffer the caller owns and zeroes (see `SecretMatcher.dispose`);
 * the Buffers come from Node's pool (`allocUnsafe`, every byte then written) because these are made for every
 * response and pooled allocation is several times cheaper;
 * no function here turns secret bytes into a JavaScript string, which could not be wiped. (Node's own
 * `buf.toString('base64')`, `encodeURIComponent` and `JSON.stringify` all return strings, so they are not used.)
 *
 * What is covered, and why each form exists:
 * - raw bytes (a venue that echoes the key as sent);
 * - JSON string escapes: `JSON.stringify` style, and an ASCII-only style (non-ASCII as `\uXXXX`, `/` as `\/`, as PHP
 *   and Python's `ensure_ascii` write it);
 * - base64 and base64url of the secret at each of the three byte alignments it can have inside a longer blob
 *   (only the characters fully determined by the secret's bits; padding kept, so a blob ending with the secret
 *   matches to its end, and one without padding matches up to where the padding would be);
 * - hex (matched case-insensitively, so both cases and mixed case);
 * - URL encodings (matched case-insensitively, so `%2F` and `%2f`): `encodeURIComponent`'s set, RFC 3986's
 *   unreserved set, `application/x-www-form-urlencoded` (space as `+`), and every byte percent-encoded.
 *
 * Variants that differ only in how a few rare characters are escaped still share most of their bytes; the
 * fragment rule of `SecretMatcher` catches the runs between the characters a variant does not foresee.
 */

/** How a form is compared with text. */
export type FormKind = 'exact' | 'hex' | 'url';

/** One encoding of a secret. `bytes` holds secret-derived data: zero it when done. */
export interface EncodedForm {
  readonly kind: FormKind;
  /** ASCII-lowercased for `hex` and `url` forms (they are compared with case-folded text). */
  readonly bytes: Buffer;
}

const BASE64 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1');
const BASE64URL = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', 'latin1');
const HEX = Buffer.from('0123456789abcdef', 'latin1');
const PERCENT = 0x25;
const PLUS = 0x2b;
const BACKSLASH = 0x5c;

/**
 * Every form of `secret` listed in the module comment, without duplicates (for a secret of letters and digits,
 * raw, JSON and URL forms coincide; one of each kind is kept). For the run rule of `SecretMatcher`.
 */
export function encodedForms(secret: Buffer): EncodedForm[] {
  const forms = new FormList();
  textForms(secret, forms);
  for (const shift of [0, 1, 2] as const) {
    forms.add('exact', base64At(secret, shift, BASE64));
    forms.add('exact', base64At(secret, shift, BASE64URL));
  }
  return forms.list;
}

/**
 * Whole-value forms of a short secret, for the token rule of `SecretMatcher`: as {@link encodedForms}, except that
 * base64 is only the standalone encoding (a short value inside a longer blob cannot be told from chance), with
 * and without padding.
 */
export function wholeValueForms(secret: Buffer): EncodedForm[] {
  const forms = new FormList();
  textForms(secret, forms);
  for (const alphabet of [BASE64, BASE64URL]) {
    const padded = base64At(secret, 0, alphabet);
    let end = padded.length;
    while (end > 0 && padded[end - 1] === 0x3d) end--;
    forms.add('exact', Buffer.from(padded.subarray(0, end)));
    forms.add('exact', padded);
  }
  return forms.list;
}

/** Byte → its ASCII-lowercase (A-Z → a-z, every other byte unchanged). */
export const FOLD: Uint8Array = Uint8Array.from({ length: 256 }, (_, b) =>
  b >= 0x41 && b <= 0x5a ? b | 0x20 : b,
);
/** Byte → itself, the counterpart of {@link FOLD} for exact comparison. */
export const IDENTITY: Uint8Array = Uint8Array.from({ length: 256 }, (_, b) => b);

/** ASCII-lowercases `bytes` in place (only A-Z change, so lengths and UTF-8 stay intact) and returns it. */
export function foldAscii(bytes: Buffer): Buffer {
  for (let i = 0; i < bytes.length; i++) bytes[i] = FOLD[bytes[i] ?? 0] ?? 0;
  return bytes;
}

/** Forms without duplicates; a duplicate is zeroed and dropped. */
class FormList {
  readonly list: EncodedForm[] = [];

  add(kind: FormKind, bytes: Buffer): void {
    if (bytes.length === 0 || this.list.some((f) => f.kind === kind && f.bytes.equals(bytes))) {
      bytes.fill(0);
      return;
    }
    this.list.push({ kind, bytes });
  }
}

/** The forms that do not depend on alignment: raw, JSON, hex, URL. */
function textForms(secret: Buffer, forms: FormList): void {
  forms.add('exact', Buffer.from(secret));
  forms.add('exact', jsonEscaped(secret, false));
  forms.add('exact', jsonEscaped(secret, true));
  forms.add('hex', hexLower(secret));
  forms.add('url', percentEncoded(secret, URI_COMPONENT_SAFE, false));
  forms.add('url', percentEncoded(secret, UNRESERVED, false));
  forms.add('url', percentEncoded(secret, FORM_SAFE, true));
  forms.add('url', percentEncoded(secret, NONE_SAFE, false));
}

/**
 * The base64 characters of `secret` placed `shift` bytes into a blob: every character whose six bits all come
 * from the secret, then the last partial character and the padding the blob would have if it ended there.
 */
function base64At(secret: Buffer, shift: 0 | 1 | 2, alphabet: Buffer): Buffer {
  const totalBytes = shift + secret.length;
  const chars = Math.ceil((totalBytes * 8) / 6);
  const padded = Math.ceil(totalBytes / 3) * 4;
  const skip = Math.ceil((shift * 8) / 6);
  const out = Buffer.allocUnsafe(padded - skip).fill(0x3d); // '='
  for (let c = skip; c < chars; c++) {
    const bit = c * 6;
    const j = (bit >> 3) - shift; // index into the secret of the byte the character starts in (<0: the prefix)
    const high = j < 0 ? 0 : (secret[j] ?? 0);
    const low = j + 1 < 0 ? 0 : (secret[j + 1] ?? 0);
    out[c - skip] = alphabet[(((high << 8) | low) >> (10 - (bit & 7))) & 0x3f] ?? 0;
  }
  return out;
}

function hexLower(secret: Buffer): Buffer {
  const out = Buffer.allocUnsafe(secret.length * 2);
  for (let i = 0; i < secret.length; i++) {
    const b = secret[i] ?? 0;
    out[2 * i] = HEX[b >> 4] ?? 0;
    out[2 * i + 1] = HEX[b & 15] ?? 0;
  }
  return out;
}

/** A 256-entry table: 1 for the bytes `test` accepts. */
function byteSet(test: (b: number) => boolean): Uint8Array {
  return Uint8Array.from({ length: 256 }, (_, b) => (test(b) ? 1 : 0));
}

function isAlphanumeric(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

/** RFC 3986 unreserved: letters, digits, `-._~`. */
const UNRESERVED = byteSet((b) => isAlphanumeric(b) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e);
/** What `encodeURIComponent` leaves alone: unreserved plus `!'()*`. */
const URI_COMPONENT_SAFE = byteSet(
  (b) => UNRESERVED[b] === 1 || b === 0x21 || b === 0x27 || b === 0x28 || b === 0x29 || b === 0x2a,
);
/** What the WHATWG form encoder (`URLSearchParams`) leaves alone: letters, digits, `*-._`. */
const FORM_SAFE = byteSet((b) => isAlphanumeric(b) || b === 0x2a || b === 0x2d || b === 0x2e || b === 0x5f);
/** Nothing: every byte percent-encoded. */
const NONE_SAFE = byteSet(() => false);

/** Percent-encodes every byte not in `keep`, in lower case (the form is matched case-insensitively). */
function percentEncoded(secret: Buffer, keep: Uint8Array, plusForSpace: boolean): Buffer {
  let length = 0;
  for (let i = 0; i < secret.length; i++) {
    const b = secret[i] ?? 0;
    length += keep[b] === 1 || (plusForSpace && b === 0x20) ? 1 : 3;
  }
  const out = Buffer.allocUnsafe(length);
  let o = 0;
  for (let i = 0; i < secret.length; i++) {
    const b = secret[i] ?? 0;
    if (keep[b] === 1) {
      out[o++] = FOLD[b] ?? b;
    } else if (plusForSpace && b === 0x20) {
      out[o++] = PLUS;
    } else {
      out[o++] = PERCENT;
      out[o++] = HEX[b >> 4] ?? 0;
      out[o++] = HEX[b & 15] ?? 0;
    }
  }
  return out;
}

const SHORT_ESCAPES: Readonly<Record<number, number>> = {
  0x08: 0x62, // \b
  0x09: 0x74, // \t
  0x0a: 0x6e, // \n
  0x0c: 0x66, // \f
  0x0d: 0x72, // \r
  0x22: 0x22, // \"
  0x5c: 0x5c, // \\
};

/**
 * The secret as the inside of a JSON string. `asciiOnly`: non-ASCII code points as `\uXXXX` (UTF-16, lower-case
 * hex) and `/` as `\/`; invalid UTF-8 becomes `\ufffd`, as a decoder would make it. Two passes (measure, then
 * write) so that no growing JS array ever holds the secret's bytes.
 */
function jsonEscaped(secret: Buffer, asciiOnly: boolean): Buffer {
  let length = 0;
  escapeJson(secret, asciiOnly, () => {
    length++;
  });
  const out = Buffer.allocUnsafe(length);
  let o = 0;
  escapeJson(secret, asciiOnly, (b) => {
    out[o++] = b;
  });
  return out;
}

function escapeJson(secret: Buffer, asciiOnly: boolean, emit: (b: number) => void): void {
  const unicode = (unit: number): void => {
    emit(BACKSLASH);
    emit(0x75);
    for (const shift of [12, 8, 4, 0]) emit(HEX[(unit >> shift) & 15] ?? 0);
  };
  let i = 0;
  while (i < secret.length) {
    const b = secret.readUInt8(i);
    const short = SHORT_ESCAPES[b];
    if (short !== undefined) {
      emit(BACKSLASH);
      emit(short);
      i++;
    } else if (b < 0x20) {
      unicode(b);
      i++;
    } else if (b < 0x80 || !asciiOnly) {
      if (asciiOnly && b === 0x2f) emit(BACKSLASH);
      emit(b);
      i++;
    } else {
      const { codePoint, size } = decodeUtf8(secret, i);
      if (codePoint > 0xffff) {
        const v = codePoint - 0x10000;
        unicode(0xd800 | (v >> 10));
        unicode(0xdc00 | (v & 0x3ff));
      } else {
        unicode(codePoint);
      }
      i += size;
    }
  }
}

/** One UTF-8 code point at `i`; U+FFFD and size 1 for a malformed sequence. */
function decodeUtf8(bytes: Buffer, i: number): { codePoint: number; size: number } {
  const b = bytes.readUInt8(i);
  const size = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b <= 0xdf ? 2 : 0;
  if (size === 0 || i + size > bytes.length) return { codePoint: 0xfffd, size: 1 };
  let codePoint = b & (0xff >> (size + 1));
  for (let k = 1; k < size; k++) {
    const c = bytes.readUInt8(i + k);
    if ((c & 0xc0) !== 0x80) return { codePoint: 0xfffd, size: 1 };
    codePoint = (codePoint << 6) | (c & 0x3f);
  }
  const min = size === 2 ? 0x80 : size === 3 ? 0x800 : 0x10000;
  if (codePoint < min || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) {
    return { codePoint: 0xfffd, size: 1 };
  }
  return { codePoint, size };
}
