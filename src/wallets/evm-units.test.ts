import { describe, expect, it } from 'vitest';

import { fromBaseUnits, MAX_UINT256, notionalOf, parseUint, sumDecimals, toBaseUnits } from './evm-units.js';

describe('toBaseUnits', () => {
  it('converts token units to base units exactly', () => {
    expect(toBaseUnits('10.5', 6, 'amount')).toBe(10_500_000n);
    expect(toBaseUnits('1.000000', 6, 'amount')).toBe(1_000_000n);
    expect(toBaseUnits('0.000000000000000001', 18, 'value')).toBe(1n);
  });

  it('refuses more decimals than the asset has (never rounds), non-decimals and more than a uint256', () => {
    expect(() => toBaseUnits('1.0000001', 6, 'amount')).toThrow(/more than 6 decimal places/);
    expect(() => toBaseUnits('1e5', 6, 'amount')).toThrow(/not a decimal/);
    expect(() => toBaseUnits('-1', 6, 'amount')).toThrow(/not a decimal/);
    expect(() => toBaseUnits((MAX_UINT256 + 1n).toString(), 0, 'amount')).toThrow(/too large/);
  });

  it('takes an amount as large as a uint256, so an unlimited approval can be judged as one', () => {
    expect(toBaseUnits(MAX_UINT256.toString(), 0, 'amount')).toBe(MAX_UINT256);
  });
});

describe('fromBaseUnits', () => {
  it('is exact where cofre decimals can hold it', () => {
    expect(fromBaseUnits(10_500_000n, 6)).toBe('10.5');
    expect(fromBaseUnits(0n, 18)).toBe('0');
  });

  it('is never below the true amount when it cannot be written exactly', () => {
    expect(fromBaseUnits(MAX_UINT256, 18)).toBe('9'.repeat(30));
    // 24 decimals: 1 base unit rounds up to the smallest 18-decimal amount
    expect(fromBaseUnits(1n, 24)).toBe('0.000000000000000001');
  });
});

describe('parseUint, sumDecimals, notionalOf', () => {
  it('parses decimal integers within their width', () => {
    expect(parseUint('42', 8, 'x')).toBe(42n);
    expect(() => parseUint('256', 8, 'x')).toThrow(/does not fit uint8/);
    expect(() => parseUint('0x10', 256, 'x')).toThrow(/not an integer/);
  });

  it('adds decimals exactly', () => {
    expect(sumDecimals(['0.1', '0.2', '3'])).toBe('3.3');
    expect(sumDecimals([])).toBe('0');
  });

  it('values moves at the configured prices, the quote at 1; unpriced or unquoted is undefined; nothing is 0', () => {
    const moves = [
      { asset: 'ETH', amount: '0.5' },
      { asset: 'USDC', amount: '10' },
    ];
    expect(notionalOf(moves, 'USDC', { ETH: '3000' })).toEqual({ quote: 'USDC', amount: '1510' });
    expect(notionalOf([{ asset: 'DAI', amount: '1' }], 'USDC', { ETH: '3000' })).toBeUndefined();
    expect(notionalOf(moves, undefined, { ETH: '3000' })).toBeUndefined();
    expect(notionalOf([], 'USDC', {})).toEqual({ quote: 'USDC', amount: '0' });
  });
});
