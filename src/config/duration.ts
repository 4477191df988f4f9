import { z } from 'zod';

import { CofreError } from '../errors.js';

/** A span of time in milliseconds, as every parsed duration in the config is. */
export type DurationMs = number;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type DurationUnit = keyof typeof UNIT_MS;

/** What a duration may look like in text: digits and an optional unit (no unit means seconds). */
export const DURATION_PATTERN = /^(\d+)(ms|s|m|h|d)?$/;

const DURATION_HELP =
  'a duration like "30s", "5m", "1h" or "7d" (units ms, s, m, h, d), or a whole number of seconds';

/**
 * Parses `30s`, `5m`, `1h`, `7d`, `250ms`, or a whole number of seconds (`90` or `"90"`) to milliseconds.
 * Throws `COFRE_INPUT_INVALID` for anything else. Pure; safe to call concurrently.
 */
export function parseDuration(input: string | number): DurationMs {
  const ms = durationToMs(input);
  if (ms === undefined) {
    // The input is not echoed: a mistyped field may hold something that should not reach a log.
    throw new CofreError('COFRE_INPUT_INVALID', `invalid duration; expected ${DURATION_HELP}`);
  }
  return ms;
}

function durationToMs(input: string | number): DurationMs | undefined {
  if (typeof input === 'number') {
    return Number.isSafeInteger(input) && input >= 0 ? checked(input * 1_000) : undefined;
  }
  const match = DURATION_PATTERN.exec(input);
  if (!match) return undefined;
  const unit = (match[2] ?? 's') as DurationUnit;
  return checked(Number(match[1]) * UNIT_MS[unit]);
}

function checked(ms: number): DurationMs | undefined {
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/**
 * A config duration field: accepts a string such as `"5m"` or an integer number of seconds, outputs milliseconds.
 * `min` (milliseconds) rejects shorter spans. The input side stays representable in JSON Schema (integer or a
 * string with a pattern), so editors can check it.
 */
export function durationSchema(options: { readonly min?: DurationMs } = {}) {
  const min = options.min ?? 0;
  return z
    .union([
      z.int().nonnegative({ error: 'a duration in seconds cannot be negative' }),
      z.string().regex(DURATION_PATTERN, { error: `invalid duration; expected ${DURATION_HELP}` }),
    ])
    .transform((value, ctx) => {
      const ms = durationToMs(value);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `duration is too large; expected ${DURATION_HELP}` });
        return z.NEVER;
      }
      if (ms < min) {
        ctx.addIssue({ code: 'custom', message: `duration must be at least ${formatDuration(min)}` });
        return z.NEVER;
      }
      return ms;
    });
}

/** Renders milliseconds in the largest unit that divides them exactly (`300000` → `5m`). */
export function formatDuration(ms: DurationMs): string {
  const units: readonly DurationUnit[] = ['d', 'h', 'm', 's'];
  for (const unit of units) {
    if (ms !== 0 && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
