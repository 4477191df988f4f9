import { functions, type Order as CcxtOrder } from 'ccxt';
import { describe, expect, it } from 'vitest';

import { type NumberFormat, toDecimal, toMarketRules, toOrder } from './ccxt-structures.js';

const format = (precisionMode: number): NumberFormat => ({
  numberToString: (value) => functions.numberToString(value),
  precisionMode,
  modes: functions,
});
const TICK = format(functions.TICK_SIZE);

function ccxtOrder(overrides: Partial<CcxtOrder>): CcxtOrder {
  return {
    id: '42',
    clientOrderId: 'cid-42',
    datetime: undefined,
    timestamp: 1_700_000_000_000,
    lastTradeTimestamp: undefined,
    status: 'open',
    symbol: 'BTC/USDT',
    type: 'limit',
    side: 'buy',
    price: 50000.25,
    average: undefined,
    amount: 0.015,
    filled: 0,
    remaining: 0.015,
    cost: 0,
    trades: [],
    fee: undefined,
    reduceOnly: undefined,
    postOnly: undefined,
    info: {},
    ...overrides,
  };
}

describe('toDecimal', () => {
  it('prints doubles as the shortest exact decimal, without exponents', () => {
    expect(toDecimal(1e-8, TICK)).toBe('0.00000001');
    expect(toDecimal(60000, TICK)).toBe('60000');
    expect(toDecimal(Number('1234567.12345678'), TICK)).toBe('1234567.12345678');
    expect(toDecimal(1e21, TICK)).toBe('1000000000000000000000');
    expect(toDecimal(-0, TICK)).toBe('0');
  });

  it('rounds what a double cannot hold: more than 15-17 significant digits (documented limit)', () => {
    expect(toDecimal(Number('0.1234567890123456789'), TICK)).toBe('0.12345678901234568');
  });

  it('passes decimal strings through and refuses anything else', () => {
    expect(toDecimal('0.00100000', TICK)).toBe('0.00100000');
    expect(toDecimal('1e5', TICK)).toBeUndefined();
    expect(toDecimal(Number.NaN, TICK)).toBeUndefined();
    expect(toDecimal(Number.POSITIVE_INFINITY, TICK)).toBeUndefined();
    expect(toDecimal(undefined, TICK)).toBeUndefined();
  });
});

describe('toOrder', () => {
  it('maps the unified fields', () => {
    expect(toOrder(ccxtOrder({}), TICK)).toEqual({
      id: '42',
      clientOrderId: 'cid-42',
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'limit',
      status: 'open',
      amount: '0.015',
      filled: '0',
      price: '50000.25',
      average: undefined,
      timestamp: '2023-11-14T22:13:20.000Z',
    });
  });

  it('reports venue-specific types as other, and a pending cancel as open', () => {
    const order = toOrder(ccxtOrder({ type: 'stop_loss_limit', status: 'canceling' }), TICK);
    expect(order.type).toBe('other');
    expect(order.status).toBe('open');
  });

  it('falls back to the known client order id', () => {
    expect(toOrder(ccxtOrder({ clientOrderId: undefined }), TICK, 'mine').clientOrderId).toBe('mine');
  });

  it.each([{ id: undefined }, { side: 'short' }, { status: 'weird' }, { amount: undefined }])(
    'refuses an answer with %o as COFRE_VENUE_RESPONSE_INVALID',
    (overrides) => {
      expect(() => toOrder(ccxtOrder(overrides as Partial<CcxtOrder>), TICK)).toThrow(
        expect.objectContaining({ code: 'COFRE_VENUE_RESPONSE_INVALID' }),
      );
    },
  );
});

describe('toMarketRules', () => {
  const market = (precision: { amount: number; price: number }) =>
    ({
      symbol: 'BTC/USDT',
      base: 'BTC',
      quote: 'USDT',
      spot: true,
      precision,
      limits: { amount: { min: 0.00001, max: 9000 }, cost: { min: 5, max: undefined } },
    }) as unknown as Parameters<typeof toMarketRules>[0];

  it('reads tick sizes', () => {
    expect(toMarketRules(market({ amount: 0.00001, price: 0.01 }), TICK)).toMatchObject({
      priceStep: '0.01',
      amountStep: '0.00001',
      minAmount: '0.00001',
      maxAmount: '9000',
      minNotional: '5',
    });
  });

  it('turns decimal places into steps', () => {
    const rules = toMarketRules(market({ amount: 5, price: 0 }), format(functions.DECIMAL_PLACES));
    expect(rules.amountStep).toBe('0.00001');
    expect(rules.priceStep).toBe('1');
  });

  it('reports no step for significant digits', () => {
    const rules = toMarketRules(market({ amount: 5, price: 5 }), format(functions.SIGNIFICANT_DIGITS));
    expect(rules.amountStep).toBeUndefined();
    expect(rules.priceStep).toBeUndefined();
  });
});
