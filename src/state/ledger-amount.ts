import type { Decimal } from '../venues/venue-account.js';

// The limit ledger counts in whole steps of 10^-8 of a unit (a satoshi of whatever the limit counts), held as BigInt
// and stored as 64-bit integers (SQLite INTEGER, PostgreSQL bigint). Converted with string arithmetic, never through
// a float. Range: 0 to 10,000,000,000 units (10^18 steps), so a single amount always fits, and so does the sum of a
// key's reservations (each reservation is admitted only while the key's usage stays within a cap of that range).
// Sums that can grow past it (committed usage over time) are kept exact: BigInt text in SQLite, numeric in
// PostgreSQL; see each ledger.

/** Fraction digits a ledger amount keeps. */
export const LEDGER_FRACTION_DIGITS = 8;
const ONE = 10n ** BigInt(LEDGER_FRACTION_DIGITS);
/** The largest cap or amount the ledger accepts, in steps: 10,000,000,000 units. */
export const LEDGER_MAX_STEPS = 10n ** 10n * ONE;
const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/**
 * How a decimal that falls between two steps is rounded. SECURITY: amounts up, caps down, so rounding never lets a
 * cap pass (tested at the cap with amounts and caps finer than a step).
 */
export type Rounding = 'up' | 'down';

/**
 * `text` in steps of 10^-8, rounded as asked; undefined when it is not a plain non-negative decimal (`"12"`,
 * `"0.5"`). Does not check the range: see {@link LEDGER_MAX_STEPS}.
 */
export function toSteps(text: Decimal, rounding: Rounding): bigint | undefined {
  const m = DECIMAL.exec(text);
  if (m === null) return undefined;
  const fraction = m[2] ?? '';
  const kept = fraction.slice(0, LEDGER_FRACTION_DIGITS).padEnd(LEDGER_FRACTION_DIGITS, '0');
  const steps = BigInt(m[1] ?? '0') * ONE + BigInt(kept);
  const dropped = /[1-9]/.test(fraction.slice(LEDGER_FRACTION_DIGITS));
  return rounding === 'up' && dropped ? steps + 1n : steps;
}

/** Canonical decimal text of a number of steps (`150000000n` → `"1.5"`). */
export function fromSteps(steps: bigint): Decimal {
  const whole = steps / ONE;
  const fraction = (steps % ONE).toString().padStart(LEDGER_FRACTION_DIGITS, '0').replace(/0+$/, '');
  return fraction === '' ? whole.toString() : `${whole.toString()}.${fraction}`;
}
