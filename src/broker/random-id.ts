import { randomFillSync } from 'node:crypto';

/** Bytes of randomness drawn from the OS at a time. */
const POOL_BYTES = 4096;

let pool = Buffer.alloc(0);
let offset = 0;

/**
 * `bytes` random bytes from the operating system's CSPRNG, as base64url: ids of requests and log lines. Drawn from
 * a pool filled `POOL_BYTES` at a time, as `crypto.randomUUID` does, because `randomBytes` per id cost about 10 µs
 * of CPU per request for two ids (bench/README.md, issue 11). Each byte is handed out once.
 *
 * Not for keys or tokens: a pool of future randomness in memory is fine for ids, which are not secrets.
 */
export function randomId(bytes: number): string {
  if (offset + bytes > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(Math.max(POOL_BYTES, bytes)));
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + bytes);
  offset += bytes;
  return id;
}
