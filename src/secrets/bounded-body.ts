/**
 * Reads a response body from a secret backend with a ceiling on its size.
 *
 * Why: a backend's answer is held in memory whole (to parse it as JSON) before anything checks it. A proxy page, a
 * misconfigured endpoint or a hostile server answering with gigabytes would exhaust cofre's memory, and with it
 * every account it serves. So bodies are read chunk by chunk and the read stops at the first byte over the limit.
 */
import { CofreError } from '../errors.js';

/**
 * Default ceiling of one backend answer: 1 MiB. Exchange credentials are a few hundred bytes, AWS Secrets Manager
 * refuses secrets over 64 KiB, and the largest legitimate answer cofre reads (a Vault LIST of one folder) holds
 * about ten thousand paths of typical length in 1 MiB; anything bigger is not a credential.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

/** What the error message says about the read. */
export interface BoundedRead {
  /** The backend, e.g. `Vault at https://vault.example:8200`. */
  readonly source: string;
  /** What was asked, a path or reference; never a value. */
  readonly subject: string;
  /** The config field that sets the limit, named in the message. */
  readonly setting: string;
}

/** `COFRE_BACKEND_RESPONSE_TOO_LARGE` for a body over `maxBytes` (at least `seen` bytes). */
export function responseTooLarge(read: BoundedRead, maxBytes: number, seen: number): CofreError {
  return new CofreError(
    'COFRE_BACKEND_RESPONSE_TOO_LARGE',
    `${read.source} answered ${read.subject} with more than ${maxBytes} bytes (at least ${seen}); refused unread. Check that the address is the backend itself, or raise ${read.setting}`,
    { details: { path: read.subject, maxBytes } },
  );
}

/**
 * Concatenates `chunks` and returns them, or throws {@link responseTooLarge} as soon as they pass `maxBytes`.
 * Stopping the iteration early cancels the underlying stream (web `ReadableStream` and Node streams both do).
 * A declared `Content-Length` over the limit is refused before reading.
 */
export async function readBounded(
  chunks: AsyncIterable<Uint8Array> | null | undefined,
  maxBytes: number,
  read: BoundedRead,
  declaredLength?: string | null,
): Promise<Buffer> {
  if (chunks === null || chunks === undefined) return Buffer.alloc(0);
  const declared = declaredLength === null || declaredLength === undefined ? NaN : Number(declaredLength);
  if (Number.isSafeInteger(declared) && declared > maxBytes) {
    // Ending the iteration cancels the stream, so the connection is not left holding an unread body.
    await chunks[Symbol.asyncIterator]().return?.();
    throw responseTooLarge(read, maxBytes, declared);
  }
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of chunks) {
    total += chunk.byteLength;
    if (total > maxBytes) throw responseTooLarge(read, maxBytes, total);
    parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return Buffer.concat(parts, total);
}
