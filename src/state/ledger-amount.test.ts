// Ledger amounts: decimal text to whole steps of 10^-8 and back, with the rounding direction asked for.
import { describe, expect, it } from 'vitest';

import { fromSteps, LEDGER_MAX_STEPS, toSteps } from './ledger-amount.js';

describe('ledger amounts', () => {
  it('reads decimals into steps of 0.00000001 without a float', () => {
    expect(toSteps('0', 'up')).toBe(0n);
    expect(toSteps('007.50', 'down')).toBe(750_000_000n);
    expect(toSteps('0.00000001', 'down')).toBe(1n);
    // 2^53 + 1 units would lose its last digit through a double.
    expect(toSteps('9007199254740993', 'up')).toBe(9_007_199_254_740_993n * 10n ** 8n);
  });

  it('rounds a finer fraction up or down, and leaves trailing zeros alone', () => {
    expect(toSteps('0.000000001', 'up')).toBe(1n);
    expect(toSteps('0.000000001', 'down')).toBe(0n);
    expect(toSteps('1.000000019', 'up')).toBe(100_000_002n);
    expect(toSteps('1.000000019', 'down')).toBe(100_000_001n);
    expect(toSteps('1.00000001000000', 'up')).toBe(100_000_001n);
  });

  it('rejects what is not a plain non-negative decimal', () => {
    for (const text of ['', '-1', '+1', '1e3', '.5', '5.', '1,5', ' 1', 'NaN']) {
      expect(toSteps(text, 'up'), text).toBeUndefined();
    }
  });

  it('writes steps back canonically', () => {
    expect(fromSteps(0n)).toBe('0');
    expect(fromSteps(150_000_000n)).toBe('1.5');
    expect(fromSteps(1n)).toBe('0.00000001');
    expect(fromSteps(LEDGER_MAX_STEPS)).toBe('10000000000');
  });
});
