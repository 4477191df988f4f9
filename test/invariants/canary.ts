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
    JSON.stringify(value).slice(1, -1),
    bytes.toString('base64'),
    bytes.toString('base64url'),
    bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(),
    encodeURIComponent(`${value}/`), // URL-encoded in a path-like context
    lowerPercent(encodeURIComponent(`${value}/`)),
    // Unpadded base64 of every alignment, so the canary is caught inside a longer base64 blob too.
    ...[0, 1, 2].map((shift) =>
      Buffer.concat([Buffer.alloc(shift), bytes])
        .toString('base64')
        .slice(Math.ceil((shift * 4) / 3) + 1, -4),
    ),
  ];
  return encodings;
}

/**
 * `value` in each encoding a scrubber must catch, by name, as it would stand in text: raw, JSON-escaped, base64 and
 * base64url standalone (padded and not) and inside a longer blob at byte offsets 1 and 2, hex in both cases, and
 * URL-encoded with upper- and lower-case `%xx`, as a form (`+` for space) and with every byte percent-encoded.
 * Blobs get random bytes around the value, so a test cannot pass by matching the neighbours.
 */
export function encodedVariants(value: string): Readonly<Record<string, string>> {
  const bytes = Buffer.from(value);
  const inBlob = (offset: number, encoding: 'base64' | 'base64url'): string =>
    Buffer.concat([randomBytes(offset), bytes, randomBytes(5)]).toString(encoding);
  const everyByte = [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  return {
    raw: value,
    json: JSON.stringify(value).slice(1, -1),
    'json-ascii': jsonAscii(value),
    base64: bytes.toString('base64'),
    'base64-unpadded': bytes.toString('base64').replace(/=+$/, ''),
    base64url: bytes.toString('base64url'),
    'base64 at offset 1': inBlob(1, 'base64'),
    'base64 at offset 2': inBlob(2, 'base64'),
    'base64 at offset 3': inBlob(3, 'base64'),
    'base64url at offset 1': inBlob(1, 'base64url'),
    'base64url at offset 2': inBlob(2, 'base64url'),
    hex: bytes.toString('hex'),
    HEX: bytes.toString('hex').toUpperCase(),
    'url %XX': encodeURIComponent(value),
    'url %xx': lowerPercent(encodeURIComponent(value)),
    'url form': new URLSearchParams({ v: value }).toString().slice(2),
    'url every byte %xx': everyByte,
    'url every byte %XX': everyByte.toUpperCase(),
  };
}

/**
 * Every run of `length` characters of `value` and of its base64 forms (at every alignment), and every run of
 * `hexLength` hex digits of its hex form in both cases: what a fragment-echoing venue could send. For leak checks
 * with {@link leaks}.
 */
export function fragmentsOf(value: string, length = 8, hexLength = 16): string[] {
  const bytes = Buffer.from(value);
  const windows = (text: string, n: number): string[] =>
    Array.from({ length: Math.max(0, text.length - n + 1) }, (_, i) => text.slice(i, i + n));
  const base64Interiors = [0, 1, 2].flatMap((shift) =>
    (['base64', 'base64url'] as const).map((encoding) =>
      Buffer.concat([Buffer.alloc(shift), bytes])
        .toString(encoding)
        .slice(Math.ceil((shift * 4) / 3) + 1, -4),
    ),
  );
  const hex = bytes.toString('hex');
  return [
    ...new Set([
      ...windows(value, length),
      ...base64Interiors.flatMap((b) => windows(b, length)),
      ...windows(hex, hexLength),
      ...windows(hex.toUpperCase(), hexLength),
    ]),
  ];
}

/** The encodings of the canary found in `text` (empty when it did not leak). */
export function leaks(text: string | Buffer, encodings: readonly string[]): string[] {
  const haystack = typeof text === 'string' ? text : text.toString('latin1');
  return encodings.filter((e) => haystack.includes(e));
}

function lowerPercent(text: string): string {
  return text.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());
}

/** JSON as PHP or Python's `ensure_ascii` writes it: non-ASCII as `\uXXXX`, `/` as `\/`. */
function jsonAscii(value: string): string {
  return JSON.stringify(value)
    .slice(1, -1)
    .replace(/\//g, '\\/')
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
