import { createHash } from 'node:crypto';

/**
 * The value child writers store under `<prefix>/<index>`, so a test can check any secret it finds without talking
 * to the child: binary (every byte value appears), and of varying length so the store size changes every write.
 */
export function valueFor(prefix: string, index: number): Buffer {
  const seed = createHash('sha256').update(`${prefix}/${index}`).digest();
  const length = 1 + ((index * 97) % 700);
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (seed[i % seed.length] ?? 0) ^ (i & 0xff);
  return out;
}
