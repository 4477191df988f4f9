import { describe, expect, it } from 'vitest';

import { normalizeOrder } from './order-normalizer.js';
import type { MarketRules } from './venue-account.js';

const rules: MarketRules = {
  symbol: 'BTC/USDT',
  base: 'BTC',
  quote: 'USDT',
  priceStep: '0.01',
  amountStep: '0.00001',
  minAmount: '0.00001',
  maxAmount: '9000',
  minNotional: '5',
};

describe('normalizeOrder', () => {
  it('rounds amount and price down to the steps and estimates the value', () => {
    const order = normalizeOrder(
      rules,
      { symbol: 'BTC/USDT', side: 'buy', type: 'limit', amount: '0.0012345', price: '60000.129' },
      '1',
    );
    expect(order).toMatchObject({
      amount: '0.00123',
      price: '60000.12',
      notional: '73.8001476',
      quote: 'USDT',
    });
  });

  it('values a market order at the reference price', () => {
    const order = normalizeOrder(
      rules,
      { symbol: 'BTC/USDT', side: 'sell', type: 'market', amount: '0.001', price: undefined },
      '60000',
    );
    expect(order.notional).toBe('60');
  });

  it.each([
    ['0.000001', /rounds down to 0/],
    ['10000', /above the maximum/],
    ['0.00005', /below the minimum 5/],
  ])('rejects amount %s before sending', (amount, message) => {
    expect(() =>
      normalizeOrder(
        rules,
        { symbol: 'BTC/USDT', side: 'buy', type: 'market', amount, price: undefined },
        '60000',
      ),
    ).toThrow(message);
  });
});
