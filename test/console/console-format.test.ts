// The console's pure parts (console/src/format.ts, send-of.ts): how amounts, spans, windows, distances and rules
// read, and what an approval's bound payload is taken to send. Run by Node; the browser runs the same code.
import { describe, expect, it } from 'vitest';

import {
  formatClock,
  formatDecimal,
  formatDistance,
  formatSpan,
  formatWindow,
  fractionOf,
  ruleParts,
  shortHash,
} from '../../console/src/format.js';
import { sendOf } from '../../console/src/send-of.js';

describe('console formatting', () => {
  it('groups thousands of decimal text without losing a digit', () => {
    expect(formatDecimal('12345.678901')).toBe('12,345.678901');
    expect(formatDecimal('-1000000')).toBe('-1,000,000');
    expect(formatDecimal('0.00000001')).toBe('0.00000001');
    expect(formatDecimal('999')).toBe('999');
    // Not a plain decimal: shown as sent.
    expect(formatDecimal('1e5')).toBe('1e5');
  });

  it('writes spans and windows as people say them', () => {
    expect(formatSpan(12_400)).toBe('12s');
    expect(formatSpan(249_000)).toBe('4m 09s');
    expect(formatSpan(7_500_000)).toBe('2h 05m');
    expect(formatSpan(2 * 86_400_000 + 3_600_000)).toBe('2d 01h');
    expect(formatSpan(-5)).toBe('0s');
    expect(formatWindow(86_400_000)).toBe('24h');
    expect(formatWindow(7 * 86_400_000)).toBe('7d');
    expect(formatWindow(60_000)).toBe('1m');
    expect(formatWindow(1_500)).toBe('1.5s');
    expect(formatWindow(null)).toBe('standing');
  });

  it('measures a limit price against the reference price in percent', () => {
    expect(formatDistance('59400', '60000')).toBe('−1.00 %');
    expect(formatDistance('63000', '60000')).toBe('+5.00 %');
    expect(formatDistance('60000', '60000')).toBe('±0.00 %');
    expect(formatDistance(undefined, '60000')).toBeUndefined();
    expect(formatDistance('1', '0')).toBeUndefined();
  });

  it('fills a bar by used / cap, within 0..1', () => {
    expect(fractionOf('3060', '20000')).toBeCloseTo(0.153);
    expect(fractionOf('25000', '20000')).toBe(1);
    expect(fractionOf('0', '0')).toBe(0);
    expect(fractionOf('5', '0')).toBe(1);
  });

  it('shortens a hash and a time of today, and splits a rule into its name and place', () => {
    expect(shortHash('ce68c6b807818a1c4ba1e77567a83cfb406b3cadaa5729a453b765ab2081186f')).toBe(
      'ce68c6b8…81186f',
    );
    const now = Date.parse('2026-11-30T12:00:00Z');
    expect(formatClock(new Date(now + 60_000).toISOString(), now)).toMatch(/^\d\d:\d\d:\d\d$/);
    expect(formatClock(new Date(now + 3 * 86_400_000).toISOString(), now)).toMatch(/^\d{4}-\d\d-\d\d /);
    expect(ruleParts('policies.trader.rules[1] (large)')).toEqual({
      name: 'large',
      path: 'policies.trader.rules[1]',
    });
    expect(ruleParts('policies.trader.rules[0]')).toEqual({
      name: 'policies.trader.rules[0]',
      path: undefined,
    });
  });
});

describe('what an approval sends', () => {
  const order = {
    symbol: 'BTC/USDT',
    base: 'BTC',
    quote: 'USDT',
    side: 'buy',
    type: 'limit',
    amount: '0.05',
    price: '60000',
    referencePrice: '60100',
    notional: '3000',
  };

  it('reads the resolved order of a bound payload, field by field', () => {
    expect(sendOf({ send: { kind: 'order', account: 'paper', order, clientOrderId: 'x' } })).toEqual({
      kind: 'order',
      account: 'paper',
      ...order,
    });
  });

  it('reads a withdrawal by its address-book label, never its address', () => {
    const send = {
      kind: 'withdrawal',
      account: 'paper',
      withdrawal: { asset: 'USDT', amount: '25', destination: 'cold', network: 'TRX' },
      address: 'TAddr',
    };
    expect(sendOf({ send })).toEqual({
      kind: 'withdrawal',
      account: 'paper',
      asset: 'USDT',
      amount: '25',
      destination: 'cold',
      network: 'TRX',
    });
  });

  it('sends nothing for an action without a payload, and marks missing fields instead of guessing', () => {
    expect(sendOf({ send: null, input: { orderId: '1' } })).toBeUndefined();
    expect(sendOf(null)).toBeUndefined();
    expect(sendOf({ send: { kind: 'order', order: { side: 'sell' } } })).toMatchObject({
      side: 'sell',
      amount: '?',
      price: undefined,
      notional: '?',
    });
  });
});
