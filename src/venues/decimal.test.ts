import { describe, expect, it } from 'vitest';

import {
  compareDecimal,
  decimalFromNumber,
  floorToStep,
  isDecimal,
  multiplyDecimal,
  normalizeDecimal,
} from './decimal.js';

describe('decimal', () => {
  it('recognises plain decimals only', () => {
    for (const ok of ['0', '1', '0.5', '123.000000000000000001']) expect(isDecimal(ok)).toBe(true);
    for (const bad of ['', '-1', '1e5', '.5', '1.', 'NaN', '0x10', '1,5', ' 1'])
      expect(isDecimal(bad)).toBe(false);
  });

  it('computes exactly', () => {
    expect(normalizeDecimal('001.500')).toBe('1.5');
    expect(multiplyDecimal('0.1', '0.2')).toBe('0.02');
    expect(multiplyDecimal('60000', '0.001')).toBe('60');
    expect(floorToStep('1.237', '0.01')).toBe('1.23');
    expect(floorToStep('0.00099', '0.001')).toBe('0');
    expect(compareDecimal('0.1', '0.10')).toBe(0);
    expect(compareDecimal('2', '10')).toBe(-1);
  });

  it('converts SDK floats without binary noise or exponents', () => {
    expect(decimalFromNumber(0.1 + 0.2)).toBe('0.3');
    expect(decimalFromNumber(1e-7)).toBe('0.0000001');
    expect(decimalFromNumber(60000)).toBe('60000');
  });
});
