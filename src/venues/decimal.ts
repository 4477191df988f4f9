import type { Decimal } from './venue-account.js';

// Exact decimal arithmetic on strings, with BigInt scaled by 10^18. Hand-written: the few operations order
// normalisation needs (compare, multiply, floor to a step) do not justify a decimal library, and floats cannot be
// used for money.
const SCALE = 18n;
const ONE = 10n ** SCALE;
const DECIMAL = /^(\d{1,30})(?:\.(\d{1,18}))?$/;

/** True for a plain non-negative decimal (`"0.5"`, `"12"`), at most 30 integer and 18 fraction digits. */
export function isDecimal(text: string): boolean {
  return DECIMAL.test(text);
}

function toScaled(text: Decimal): bigint {
  const m = DECIMAL.exec(text);
  if (m === null) throw new RangeError(`not a decimal: ${text}`);
  const fraction = (m[2] ?? '').padEnd(Number(SCALE), '0');
  return BigInt(m[1] ?? '0') * ONE + BigInt(fraction);
}

function fromScaled(value: bigint): Decimal {
  const whole = value / ONE;
  const fraction = (value % ONE).toString().padStart(Number(SCALE), '0').replace(/0+$/, '');
  return fraction === '' ? whole.toString() : `${whole.toString()}.${fraction}`;
}

/** Canonical form: no leading zeros, no trailing fraction zeros (`"001.50"` → `"1.5"`). */
export function normalizeDecimal(text: Decimal): Decimal {
  return fromScaled(toScaled(text));
}

export function compareDecimal(a: Decimal, b: Decimal): -1 | 0 | 1 {
  const x = toScaled(a);
  const y = toScaled(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function multiplyDecimal(a: Decimal, b: Decimal): Decimal {
  return fromScaled((toScaled(a) * toScaled(b)) / ONE);
}

/** Rounds down to a whole number of `step`s (`floorToStep("1.237", "0.01")` → `"1.23"`). */
export function floorToStep(value: Decimal, step: Decimal): Decimal {
  const s = toScaled(step);
  if (s === 0n) return normalizeDecimal(value);
  const v = toScaled(value);
  return fromScaled((v / s) * s);
}

/** Converts a finite JS number from a venue SDK to a decimal string without exponent notation. */
export function decimalFromNumber(value: number): Decimal {
  if (!Number.isFinite(value) || value < 0)
    throw new RangeError(`not a non-negative finite number: ${value}`);
  // toFixed(18) would expose binary noise; toPrecision(15) keeps what a double holds reliably.
  const text = Number(value.toPrecision(15)).toLocaleString('en-US', {
    useGrouping: false,
    maximumFractionDigits: 18,
  });
  return normalizeDecimal(text);
}

/** `a − b`, for `a ≥ b` (decimals here are never negative); throws otherwise. */
export function subtractDecimal(a: Decimal, b: Decimal): Decimal {
  const difference = toScaled(a) - toScaled(b);
  if (difference < 0n) throw new RangeError(`${a} − ${b} is negative`);
  return fromScaled(difference);
}

/** `a + b`, exact (issue 19: the summed amount of an asset a transaction moves). */
export function addDecimal(a: Decimal, b: Decimal): Decimal {
  return fromScaled(toScaled(a) + toScaled(b));
}
