import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ExactDecimal } from './exact-decimal.js';

const d = (text: string): ExactDecimal => {
  const value = ExactDecimal.parseSigned(text);
  if (value === undefined) throw new Error(`bad test decimal ${text}`);
  return value;
};

describe('ExactDecimal', () => {
  it("parses Binance's DECIMAL form only", () => {
    expect(ExactDecimal.parse('0.1')?.toString()).toBe('0.1');
    expect(ExactDecimal.parse('60000')?.toString()).toBe('60000');
    expect(ExactDecimal.parse('000.50')?.toString()).toBe('0.5');
    for (const bad of ['', '-1', '+1', '1e3', '.5', '5.', '1,5', ' 1', '0x10', 'NaN', '1'.repeat(21)]) {
      expect(ExactDecimal.parse(bad), bad).toBeUndefined();
    }
  });

  it('adds, subtracts and multiplies exactly', () => {
    expect(d('0.1').add(d('0.2')).toString()).toBe('0.3');
    expect(d('10000').sub(d('0.00000001')).toString()).toBe('9999.99999999');
    expect(d('60000').mul(d('0.001')).toString()).toBe('60');
    expect(d('0.00012345').mul(d('0.001')).toString()).toBe('0.00000012345');
  });

  it('formats with at least 8 decimals, never rounding', () => {
    expect(d('0.1').toFixed()).toBe('0.10000000');
    expect(d('60000').toFixed()).toBe('60000.00000000');
    expect(d('0.00000012345').toFixed()).toBe('0.00000012345');
    expect(d('-1.5').toFixed(2)).toBe('-1.50');
    expect(d('0').toFixed(0)).toBe('0');
  });

  it('divides rounding down, floors to a step, rounds half up', () => {
    expect(d('100').divFloor(d('60000'), 5).toString()).toBe('0.00166');
    expect(d('-1').divFloor(d('3'), 2).toString()).toBe('-0.34');
    expect(d('0.00166666').floorToStep(d('0.00001')).toString()).toBe('0.00166');
    expect(d('0.000000125').roundHalfUp(8).toString()).toBe('0.00000013');
    expect(d('0.000000124').roundHalfUp(8).toString()).toBe('0.00000012');
    expect(d('-0.000000125').roundHalfUp(8).toString()).toBe('-0.00000013');
  });

  it('knows multiples and compares across scales', () => {
    expect(d('0.30').isMultipleOf(d('0.1'))).toBe(true);
    expect(d('0.35').isMultipleOf(d('0.1'))).toBe(false);
    expect(d('1.50').eq(d('1.5'))).toBe(true);
    expect(d('1.5').lt(d('1.50000001'))).toBe(true);
    expect(d('0.10').significantScale()).toBe(1);
  });

  it('round-trips canonical text exactly (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 20n - 1n }),
        fc.integer({ min: 1, max: 12 }),
        (units, scale) => {
          const digits = units.toString().padStart(scale + 1, '0');
          const text = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
          return ExactDecimal.parse(text)?.toFixed(scale) === text;
        },
      ),
    );
  });

  it('a + b - b == a for any a, b (property)', () => {
    const decimal = fc
      .tuple(fc.bigInt({ min: 0n, max: 10n ** 18n }), fc.integer({ min: 0, max: 10 }))
      .map(([u, s]) => ExactDecimal.fromInteger(u).divFloor(ExactDecimal.fromInteger(10n ** BigInt(s)), s));
    fc.assert(fc.property(decimal, decimal, (a, b) => a.add(b).sub(b).eq(a)));
  });
});
