import { z } from 'zod';

import { CofreError } from '../errors.js';

/** What a size may look like in text: digits and an optional 1024-based unit. Case-insensitive. */
export const BYTE_SIZE_PATTERN = /^(\d+)\s*(b|kb|kib|mb|mib)?$/i;

const UNIT_BYTES: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1024,
  kib: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
};

const SIZE_HELP = 'a size like 65536, "64kb" or "1mb" (units b, kb/KiB, mb/MiB; 1 kb = 1024 bytes)';

/**
 * Parses a size (`65536`, `"64kb"`, `"1MiB"`) to bytes; units are 1024-based. Throws `COFRE_INPUT_INVALID` for
 * anything else. Pure; safe to call concurrently.
 */
export function parseByteSize(input: string | number): number {
  const bytes = byteSizeToNumber(input);
  if (bytes === undefined) throw new CofreError('COFRE_INPUT_INVALID', `invalid size; expected ${SIZE_HELP}`);
  return bytes;
}

function byteSizeToNumber(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isSafeInteger(input) && input >= 0 ? input : undefined;
  const match = BYTE_SIZE_PATTERN.exec(input);
  if (!match) return undefined;
  const bytes = Number(match[1]) * (UNIT_BYTES[(match[2] ?? 'b').toLowerCase()] ?? Number.NaN);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** A config size field: an integer number of bytes or a string with a unit; outputs bytes within `[min, max]`. */
export function byteSizeSchema(options: { readonly min: number; readonly max: number }) {
  return z
    .union([
      z.int().nonnegative({ error: 'a size cannot be negative' }),
      z.string().regex(BYTE_SIZE_PATTERN, { error: `invalid size; expected ${SIZE_HELP}` }),
    ])
    .transform((value, ctx) => {
      const bytes = byteSizeToNumber(value);
      if (bytes === undefined || bytes < options.min || bytes > options.max) {
        ctx.addIssue({
          code: 'custom',
          message: `size must be between ${options.min} and ${options.max} bytes`,
        });
        return z.NEVER;
      }
      return bytes;
    });
}
