import { randomBytes } from 'node:crypto';

/** A fresh canary value and every encoding in which it could leak. */
export function makeCanary(): { value: string; encodings: readonly string[] } {
  const value = `canary-${randomBytes(16).toString('hex')}`;
  return { value, encodings: encodingsOf(value) };
}

/** Every encoding in which `value` (a token, a secret_id, any credential a test knows) could leak. */
export function encodingsOf(value: string): readonly string[] {
  const bytes = Buffer.from(value);
  const encodings = [
    value,
    bytes.toString('base64'),
    bytes.toString('base64url'),
    bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(),
    encodeURIComponent(`${value}/`), // URL-encoded in a path-like context
    // Unpadded base64 of every alignment, so the canary is caught inside a longer base64 blob too.
    ...[0, 1, 2].map((shift) =>
      Buffer.concat([Buffer.alloc(shift), bytes])
        .toString('base64')
        .slice(Math.ceil((shift * 4) / 3) + 1, -4),
    ),
  ];
  return encodings;
}

/** The encodings of the canary found in `text` (empty when it did not leak). */
export function leaks(text: string | Buffer, encodings: readonly string[]): string[] {
  const haystack = typeof text === 'string' ? text : text.toString('latin1');
  return encodings.filter((e) => haystack.includes(e));
}
