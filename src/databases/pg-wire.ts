/**
 * The few PostgreSQL wire-protocol messages (protocol 3.0, https://www.postgresql.org/docs/current/protocol-message-formats.html)
 * cofre's database listener reads from a client or writes to it. pg-protocol (the parser and serializer of the `pg`
 * driver) covers the other direction — what a client sends and what a server answers — so the upstream side uses it;
 * it has no reader of a client's start-up packet nor a writer of server messages, which are these few lines.
 */

/** Protocol 3.0 in a StartupMessage; the minor version is the low 16 bits. */
export const PROTOCOL_3 = 3 << 16;
/** Special "versions" a client may send instead of a StartupMessage. */
export const SSL_REQUEST = 80_877_103;
export const GSSENC_REQUEST = 80_877_104;
export const CANCEL_REQUEST = 80_877_102;

/** The longest start-up packet accepted; PostgreSQL's own limit is 10 000 bytes. */
export const MAX_STARTUP_LENGTH = 10_000;
/** The longest PasswordMessage accepted: an agent token is under 100 bytes. */
export const MAX_PASSWORD_LENGTH = 1_024;

/** What a client sent first (length-prefixed, no type byte). */
export type StartupPacket =
  | { readonly kind: 'ssl' }
  | { readonly kind: 'gssenc' }
  | { readonly kind: 'cancel' }
  | { readonly kind: 'startup'; readonly minor: number; readonly params: ReadonlyMap<string, string> }
  | { readonly kind: 'invalid'; readonly reason: string };

/** Bytes needed before `buffer` holds a whole start-up packet: its length, or undefined when still unknown. */
export function startupLength(buffer: Buffer): number | undefined {
  return buffer.length < 4 ? undefined : buffer.readInt32BE(0);
}

/** Parses one whole start-up packet (`buffer` is exactly its length). */
export function parseStartup(buffer: Buffer): StartupPacket {
  if (buffer.length < 8) return { kind: 'invalid', reason: 'start-up packet too short' };
  const code = buffer.readInt32BE(4);
  if (code === SSL_REQUEST) return { kind: 'ssl' };
  if (code === GSSENC_REQUEST) return { kind: 'gssenc' };
  if (code === CANCEL_REQUEST) return { kind: 'cancel' };
  if (code >>> 16 !== 3)
    return { kind: 'invalid', reason: `unsupported protocol ${code >>> 16}.${code & 0xffff}` };
  const params = new Map<string, string>();
  const fields = buffer.subarray(8).toString('utf8').split('\0');
  // Pairs of name and value, then an empty name ending the list (so an odd number of parts before the trailing '').
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] ?? '';
    if (name === '') break;
    params.set(name, fields[i + 1] ?? '');
  }
  return { kind: 'startup', minor: code & 0xffff, params };
}

/** One typed message (type byte, int32 length including itself, body), as both directions frame them after start-up. */
export interface Frame {
  readonly type: string;
  readonly body: Buffer;
  /** The whole message, type byte included. */
  readonly raw: Buffer;
}

/** Splits the whole messages off the front of `buffer`; `rest` is an incomplete tail to keep for the next chunk. */
export function splitFrames(
  buffer: Buffer,
  maxLength: number,
): { frames: Frame[]; rest: Buffer; tooLong: boolean } {
  const frames: Frame[] = [];
  let at = 0;
  while (buffer.length - at >= 5) {
    const length = buffer.readInt32BE(at + 1);
    if (length < 4 || length > maxLength) return { frames, rest: Buffer.alloc(0), tooLong: true };
    if (buffer.length - at < length + 1) break;
    const raw = buffer.subarray(at, at + length + 1);
    frames.push({ type: String.fromCharCode(raw[0] ?? 0), body: raw.subarray(5), raw });
    at += length + 1;
  }
  return { frames, rest: buffer.subarray(at), tooLong: false };
}

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function int32s(...values: number[]): Buffer {
  const out = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => out.writeInt32BE(v, i * 4));
  return out;
}

/** AuthenticationCleartextPassword: asks the client for its password (here: its agent token). */
export const authenticationCleartextPassword = (): Buffer => message('R', int32s(3));

/** AuthenticationOk. */
export const authenticationOk = (): Buffer => message('R', int32s(0));

/** NegotiateProtocolVersion: this listener speaks 3.0 only; sent when a client asks for a newer minor version. */
export const negotiateProtocolVersion = (): Buffer => message('v', int32s(PROTOCOL_3, 0));

/** A FATAL ErrorResponse with a SQLSTATE and message (what a driver shows its user). */
export function errorResponse(code: string, text: string): Buffer {
  const field = (key: string, value: string): Buffer => Buffer.from(`${key}${value}\0`, 'utf8');
  return message(
    'E',
    Buffer.concat([
      field('S', 'FATAL'),
      field('V', 'FATAL'),
      field('C', code),
      field('M', text),
      Buffer.from([0]),
    ]),
  );
}

/** The password of a PasswordMessage body (a NUL-terminated string). */
export function passwordOf(body: Buffer): string {
  const end = body.indexOf(0);
  return body.subarray(0, end < 0 ? body.length : end).toString('utf8');
}
