import { formatUnits } from 'viem';

import { CofreError } from '../errors.js';
import { multiplyDecimal, normalizeDecimal } from '../venues/decimal.js';
import type { Decimal } from '../venues/venue-account.js';

/** The largest uint256. */
export const MAX_UINT256 = (1n << 256n) - 1n;

/**
 * An amount in units of an asset ("10.5") as base units (wei, a token's smallest unit), exactly. Throws
 * `COFRE_INPUT_INVALID` when it has more fraction digits than the asset has decimals (never rounded: what the agent
 * asked for is what is signed, or nothing) or does not fit a uint256.
 */
export function toBaseUnits(amount: string, decimals: number, what: string): bigint {
  // Wider than cofre's decimals: an amount as large as a uint256 must be expressible, so that an unlimited approval is
  // judged (and denied) as one rather than refused as a typo.
  if (!/^\d{1,78}(?:\.\d{1,78})?$/.test(amount)) {
    throw new CofreError('COFRE_INPUT_INVALID', `${what}: "${amount.slice(0, 90)}" is not a decimal`);
  }
  const [whole = '0', fraction = ''] = amount.split('.');
  const trimmed = fraction.replace(/0+$/, '');
  if (trimmed.length > decimals) {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      `${what}: "${amount}" has more than ${decimals} decimal places, the asset's precision`,
    );
  }
  const base = BigInt(whole + trimmed.padEnd(decimals, '0'));
  if (base > MAX_UINT256) throw new CofreError('COFRE_INPUT_INVALID', `${what}: "${amount}" is too large`);
  return base;
}

/** The largest amount cofre's decimals (and so policy) hold: 30 integer digits. */
const LARGEST_DECIMAL = '9'.repeat(30);
const LARGEST_WHOLE = 10n ** 30n - 1n;

/**
 * Base units as a decimal in units of the asset, for policy and limits: exact whenever cofre's decimals can hold it
 * (at most 30 integer and 18 fraction digits); otherwise never smaller than the true amount — more than 18 fraction
 * digits round up, more than 30 integer digits clamp to the largest decimal — so a cap is never passed by an amount
 * too large or too fine to write down.
 */
export function fromBaseUnits(base: bigint, decimals: number): Decimal {
  let units = base;
  let places = decimals;
  if (places > 18) {
    const divisor = 10n ** BigInt(places - 18);
    units = (units + divisor - 1n) / divisor;
    places = 18;
  }
  if (units / 10n ** BigInt(places) > LARGEST_WHOLE) return LARGEST_DECIMAL;
  return normalizeDecimal(formatUnits(units, places));
}

/** A non-negative integer argument given as decimal digits. */
export function parseUint(text: string, bits: number, what: string): bigint {
  if (!/^\d{1,78}$/.test(text)) {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      `${what}: "${text.slice(0, 80)}" is not an integer (decimal digits)`,
    );
  }
  const value = BigInt(text);
  if (value >= 1n << BigInt(bits))
    throw new CofreError('COFRE_INPUT_INVALID', `${what}: does not fit uint${bits}`);
  return value;
}

/** The sum of decimals: exact, or the largest decimal when it would not fit one. */
export function sumDecimals(values: readonly Decimal[]): Decimal {
  const scale = Math.max(0, ...values.map((v) => v.split('.')[1]?.length ?? 0));
  let total = 0n;
  for (const v of values) {
    const [whole = '0', fraction = ''] = v.split('.');
    total += BigInt(whole + fraction.padEnd(scale, '0'));
  }
  return fromBaseUnits(total, scale);
}

/**
 * The value of `moves` at `prices` (per unit, in `quote`); undefined when any asset has no price, or no quote. A
 * call that moves nothing cofre can count is worth 0 (policy judges it by contract and function instead).
 */
export function notionalOf(
  moves: readonly { readonly asset: string; readonly amount: Decimal }[],
  quote: string | undefined,
  prices: Readonly<Record<string, Decimal>> | undefined,
): { readonly quote: string; readonly amount: Decimal } | undefined {
  if (quote === undefined) return undefined;
  const values: Decimal[] = [];
  for (const move of moves) {
    const price = move.asset === quote ? '1' : prices?.[move.asset];
    if (price === undefined) return undefined;
    values.push(multiplyDecimal(move.amount, price));
  }
  const total = sumDecimals(values);
  return { quote, amount: total };
}
