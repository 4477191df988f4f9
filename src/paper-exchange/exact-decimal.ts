/**
 * Exact decimal numbers as a scaled `bigint`, for the paper exchange's balances, prices and quantities.
 *
 * Why not `number`: `0.1 + 0.2 !== 0.3`. An exchange that moves balances with floats drifts by a satoshi here and
 * there, and a test that checks "balance after = balance before − cost − fee" then fails or, worse, passes by
 * rounding. Every operation here is exact except the ones that say how they round ({@link ExactDecimal.divFloor},
 * {@link ExactDecimal.roundHalfUp}).
 *
 * Immutable; safe to share.
 */
export class ExactDecimal {
  /** `value = units / 10^scale`. */
  readonly units: bigint;
  readonly scale: number;

  private constructor(units: bigint, scale: number) {
    this.units = units;
    this.scale = scale;
  }

  static readonly ZERO = new ExactDecimal(0n, 0);

  /**
   * Parses Binance's `DECIMAL` wire form: digits with an optional fraction, no sign, no exponent
   * (`^([0-9]{1,20})(\.[0-9]{1,20})?$`). Returns `undefined` for anything else.
   */
  static parse(text: string): ExactDecimal | undefined {
    const match = DECIMAL_PATTERN.exec(text);
    if (match === null) return undefined;
    const whole = match[1] ?? '0';
    const fraction = match[2] ?? '';
    return new ExactDecimal(BigInt(whole + fraction), fraction.length);
  }

  /** Like {@link ExactDecimal.parse} but also accepts a leading `-`. */
  static parseSigned(text: string): ExactDecimal | undefined {
    if (text.startsWith('-')) return ExactDecimal.parse(text.slice(1))?.neg();
    return ExactDecimal.parse(text);
  }

  static fromInteger(value: bigint | number): ExactDecimal {
    return new ExactDecimal(BigInt(value), 0);
  }

  add(other: ExactDecimal): ExactDecimal {
    const scale = Math.max(this.scale, other.scale);
    return new ExactDecimal(this.unitsAt(scale) + other.unitsAt(scale), scale);
  }

  sub(other: ExactDecimal): ExactDecimal {
    const scale = Math.max(this.scale, other.scale);
    return new ExactDecimal(this.unitsAt(scale) - other.unitsAt(scale), scale);
  }

  mul(other: ExactDecimal): ExactDecimal {
    return new ExactDecimal(this.units * other.units, this.scale + other.scale);
  }

  neg(): ExactDecimal {
    return new ExactDecimal(-this.units, this.scale);
  }

  /** `this / divisor`, rounded toward negative infinity to `scale` decimals. Throws on a zero divisor. */
  divFloor(divisor: ExactDecimal, scale: number): ExactDecimal {
    if (divisor.units === 0n) throw new RangeError('division by zero');
    // this / divisor = (a / 10^sa) / (b / 10^sb); at `scale` decimals: a * 10^(scale + sb) / (b * 10^sa).
    const numerator = this.units * 10n ** BigInt(scale + divisor.scale);
    const denominator = divisor.units * 10n ** BigInt(this.scale);
    return new ExactDecimal(floorDiv(numerator, denominator), scale);
  }

  /** The largest multiple of `step` not above `this` (for non-negative values and a positive step). */
  floorToStep(step: ExactDecimal): ExactDecimal {
    const scale = Math.max(this.scale, step.scale);
    const stepUnits = step.unitsAt(scale);
    if (stepUnits <= 0n) throw new RangeError('step must be positive');
    return new ExactDecimal(floorDiv(this.unitsAt(scale), stepUnits) * stepUnits, scale);
  }

  /** True when `this` is a whole multiple of `step` (every value is a multiple of a zero step). */
  isMultipleOf(step: ExactDecimal): boolean {
    const scale = Math.max(this.scale, step.scale);
    const stepUnits = step.unitsAt(scale);
    if (stepUnits === 0n) return true;
    return this.unitsAt(scale) % stepUnits === 0n;
  }

  /** Rounded to `scale` decimals, halves away from zero. */
  roundHalfUp(scale: number): ExactDecimal {
    if (scale >= this.scale) return this;
    const divisor = 10n ** BigInt(this.scale - scale);
    const magnitude = this.units < 0n ? -this.units : this.units;
    const rounded = (magnitude + divisor / 2n) / divisor;
    return new ExactDecimal(this.units < 0n ? -rounded : rounded, scale);
  }

  cmp(other: ExactDecimal): -1 | 0 | 1 {
    const scale = Math.max(this.scale, other.scale);
    const a = this.unitsAt(scale);
    const b = other.unitsAt(scale);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  eq(other: ExactDecimal): boolean {
    return this.cmp(other) === 0;
  }
  lt(other: ExactDecimal): boolean {
    return this.cmp(other) < 0;
  }
  lte(other: ExactDecimal): boolean {
    return this.cmp(other) <= 0;
  }
  gt(other: ExactDecimal): boolean {
    return this.cmp(other) > 0;
  }
  gte(other: ExactDecimal): boolean {
    return this.cmp(other) >= 0;
  }
  isZero(): boolean {
    return this.units === 0n;
  }
  isNegative(): boolean {
    return this.units < 0n;
  }
  isPositive(): boolean {
    return this.units > 0n;
  }

  /** Decimal places actually used (trailing zeros do not count): `0.10` has 1. */
  significantScale(): number {
    let units = this.units;
    let scale = this.scale;
    while (scale > 0 && units % 10n === 0n) {
      units /= 10n;
      scale -= 1;
    }
    return scale;
  }

  /**
   * Fixed-point text with at least `minScale` decimals, as Binance prints amounts (`"0.10000000"`); more decimals
   * are kept when the value needs them, so formatting never rounds.
   */
  toFixed(minScale = 8): string {
    const scale = Math.max(minScale, this.significantScale());
    const units = this.unitsAt(scale);
    const negative = units < 0n;
    const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
    const whole = digits.slice(0, digits.length - scale);
    const fraction = digits.slice(digits.length - scale);
    return `${negative ? '-' : ''}${whole}${scale > 0 ? `.${fraction}` : ''}`;
  }

  /** Shortest exact text (`"0.1"`, `"60000"`). */
  toString(): string {
    return this.toFixed(0);
  }

  toJSON(): string {
    return this.toString();
  }

  private unitsAt(scale: number): bigint {
    if (scale < this.scale) {
      // Only toFixed() asks for fewer decimals than stored, and never fewer than significantScale(): only zeros go.
      return this.units / 10n ** BigInt(this.scale - scale);
    }
    return this.units * 10n ** BigInt(scale - this.scale);
  }
}

const DECIMAL_PATTERN = /^([0-9]{1,20})(?:\.([0-9]{1,20}))?$/;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  // bigint division truncates toward zero; step down when the signs differ and there is a remainder.
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}
