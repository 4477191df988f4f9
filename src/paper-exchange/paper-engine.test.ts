import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { BinanceApiError } from './binance-error.js';
import { ExactDecimal } from './exact-decimal.js';
import { type NewOrder, PaperEngine } from './paper-engine.js';
import { type PaperSymbol, symbolRules } from './paper-symbol.js';
import { BTCUSDT } from './spot-markets.js';

const d = (text: string): ExactDecimal => {
  const value = ExactDecimal.parse(text);
  if (value === undefined) throw new Error(`bad test decimal ${text}`);
  return value;
};

function engine(
  options: { symbol?: Partial<PaperSymbol>; balances?: Record<string, string>; clock?: { t: number } } = {},
): PaperEngine {
  const clock = options.clock ?? { t: 1_700_000_000_000 };
  let ids = 0;
  return new PaperEngine({
    symbols: [symbolRules({ ...BTCUSDT, ...options.symbol })],
    prices: new Map([['BTCUSDT', d('60000')]]),
    balances: new Map([
      [
        'alice',
        new Map(Object.entries(options.balances ?? { USDT: '10000', BTC: '0.5' }).map(([a, v]) => [a, d(v)])),
      ],
    ]),
    feeRate: d('0.001'),
    now: () => clock.t,
    newClientOrderId: () => `auto${++ids}`,
  });
}

function balances(e: PaperEngine, apiKey = 'alice'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [asset, b] of e.balances(apiKey)) out[asset] = `${b.free.toString()}/${b.locked.toString()}`;
  return out;
}

function order(fields: Partial<NewOrder> & Pick<NewOrder, 'side' | 'type'>): NewOrder {
  return { symbol: 'BTCUSDT', ...fields };
}

function rejection(fn: () => unknown): { code: number; msg: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof BinanceApiError) return err.toWire();
    throw err;
  }
  throw new Error('expected a BinanceApiError');
}

describe('PaperEngine: market orders', () => {
  it('a MARKET BUY fills at the reference price; the fee is 0.1% of the base received', () => {
    const e = engine();
    const o = e.placeOrder('alice', order({ side: 'BUY', type: 'MARKET', quantity: d('0.01') }));
    expect(o.status).toBe('FILLED');
    expect(o.cummulativeQuoteQty.toString()).toBe('600');
    expect(
      o.fills.map((f) => [f.price.toString(), f.qty.toString(), f.commission.toString(), f.commissionAsset]),
    ).toEqual([['60000', '0.01', '0.00001', 'BTC']]);
    // 10000 - 600 USDT; 0.5 + 0.01 - 0.00001 BTC.
    expect(balances(e)).toEqual({ USDT: '9400/0', BTC: '0.50999/0' });
  });

  it('a MARKET SELL pays the fee in the quote received', () => {
    const e = engine();
    e.placeOrder('alice', order({ side: 'SELL', type: 'MARKET', quantity: d('0.1') }));
    // 10000 + 6000 - 6 USDT; 0.5 - 0.1 BTC.
    expect(balances(e)).toEqual({ USDT: '15994/0', BTC: '0.4/0' });
  });

  it('quoteOrderQty buys as much as the amount pays for, rounded down to the step size', () => {
    const e = engine();
    const o = e.placeOrder('alice', order({ side: 'BUY', type: 'MARKET', quoteOrderQty: d('100') }));
    // 100 / 60000 = 0.0016666… → 0.00166 BTC for 99.6 USDT.
    expect(o.origQty.toString()).toBe('0.00166');
    expect(o.origQuoteOrderQty.toString()).toBe('100');
    expect(o.cummulativeQuoteQty.toString()).toBe('99.6');
    expect(balances(e)).toEqual({ USDT: '9900.4/0', BTC: '0.50165834/0' });
  });

  it('rounds the fee half up to the commission precision', () => {
    const e = engine({ symbol: { quoteAssetPrecision: 2 } });
    e.setPrice('BTCUSDT', d('60000.05'));
    const o = e.placeOrder('alice', order({ side: 'SELL', type: 'MARKET', quantity: d('0.0001') }));
    // 6.000005 USDT received; fee 0.006000005 → 0.01 at 2 decimals.
    expect(o.fills[0]?.commission.toString()).toBe('0.01');
    expect(balances(e).USDT).toBe('10005.990005/0');
  });
});

describe('PaperEngine: limit orders', () => {
  it('a resting BUY locks price × quantity and fills at its limit once setPrice reaches it', () => {
    const e = engine();
    const o = e.placeOrder(
      'alice',
      order({ side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', price: d('59000'), quantity: d('0.1') }),
    );
    expect(o.status).toBe('NEW');
    expect(balances(e)).toEqual({ USDT: '4100/5900', BTC: '0.5/0' });

    e.setPrice('BTCUSDT', d('59500'));
    expect(o.status).toBe('NEW');

    e.setPrice('BTCUSDT', d('58000'));
    expect(o.status).toBe('FILLED');
    expect(o.fills[0]?.price.toString()).toBe('59000');
    expect(o.fills[0]?.isMaker).toBe(true);
    expect(balances(e)).toEqual({ USDT: '4100/0', BTC: '0.5999/0' });
  });

  it('a resting SELL fills when the price rises to it', () => {
    const e = engine();
    const o = e.placeOrder(
      'alice',
      order({ side: 'SELL', type: 'LIMIT', timeInForce: 'GTC', price: d('61000'), quantity: d('0.2') }),
    );
    expect(balances(e)).toEqual({ USDT: '10000/0', BTC: '0.3/0.2' });
    e.setPrice('BTCUSDT', d('61000'));
    expect(o.status).toBe('FILLED');
    // 12200 USDT less 12.2 fee.
    expect(balances(e)).toEqual({ USDT: '22187.8/0', BTC: '0.3/0' });
  });

  it('a marketable LIMIT fills at once at the better reference price and returns the unused lock', () => {
    const e = engine();
    const o = e.placeOrder(
      'alice',
      order({ side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', price: d('61000'), quantity: d('0.01') }),
    );
    expect(o.status).toBe('FILLED');
    expect(o.fills[0]?.price.toString()).toBe('60000');
    expect(o.fills[0]?.isMaker).toBe(false);
    expect(balances(e)).toEqual({ USDT: '9400/0', BTC: '0.50999/0' });
  });

  it('IOC and FOK that cannot fill expire and release their lock', () => {
    const e = engine();
    for (const timeInForce of ['IOC', 'FOK'] as const) {
      const o = e.placeOrder(
        'alice',
        order({ side: 'BUY', type: 'LIMIT', timeInForce, price: d('50000'), quantity: d('0.1') }),
      );
      expect(o.status).toBe('EXPIRED');
      expect(o.fills).toEqual([]);
    }
    expect(balances(e)).toEqual({ USDT: '10000/0', BTC: '0.5/0' });
  });

  it('a LIMIT_MAKER that would take is rejected; one that rests is accepted', () => {
    const e = engine();
    expect(
      rejection(() =>
        e.placeOrder(
          'alice',
          order({ side: 'BUY', type: 'LIMIT_MAKER', price: d('60000'), quantity: d('0.01') }),
        ),
      ),
    ).toEqual({ code: -2010, msg: 'Order would immediately match and take.' });
    expect(
      e.placeOrder(
        'alice',
        order({ side: 'BUY', type: 'LIMIT_MAKER', price: d('59999.99'), quantity: d('0.01') }),
      ).status,
    ).toBe('NEW');
  });
});

describe('PaperEngine: cancel and query', () => {
  it('cancel releases the lock; a second cancel is -2011', () => {
    const e = engine();
    const o = e.placeOrder(
      'alice',
      order({ side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', price: d('50000'), quantity: d('0.1') }),
    );
    expect(e.cancelOrder('alice', 'BTCUSDT', { orderId: o.orderId }).status).toBe('CANCELED');
    expect(balances(e)).toEqual({ USDT: '10000/0', BTC: '0.5/0' });
    expect(rejection(() => e.cancelOrder('alice', 'BTCUSDT', { orderId: o.orderId }))).toEqual({
      code: -2011,
      msg: 'Unknown order sent.',
    });
  });

  it('finds orders by id or client id, only for their owner and symbol', () => {
    const e = engine();
    const o = e.placeOrder(
      'alice',
      order({
        side: 'BUY',
        type: 'LIMIT',
        timeInForce: 'GTC',
        price: d('50000'),
        quantity: d('0.1'),
        clientOrderId: 'mine-1',
      }),
    );
    expect(e.queryOrder('alice', 'BTCUSDT', { clientOrderId: 'mine-1' })).toBe(o);
    expect(e.queryOrder('alice', 'BTCUSDT', { orderId: o.orderId })).toBe(o);
    expect(rejection(() => e.queryOrder('mallory', 'BTCUSDT', { orderId: o.orderId }))).toEqual({
      code: -2013,
      msg: 'Order does not exist.',
    });
    expect(rejection(() => e.queryOrder('alice', 'ETHUSDT', { orderId: o.orderId })).code).toBe(-1121);
    expect(e.openOrders('alice').map((x) => x.orderId)).toEqual([o.orderId]);
    expect(e.openOrders('mallory')).toEqual([]);
  });

  it('a client order id is unique among open orders only', () => {
    const e = engine();
    const first = e.placeOrder(
      'alice',
      order({
        side: 'BUY',
        type: 'LIMIT',
        timeInForce: 'GTC',
        price: d('50000'),
        quantity: d('0.01'),
        clientOrderId: 'dup',
      }),
    );
    expect(
      rejection(() =>
        e.placeOrder(
          'alice',
          order({ side: 'BUY', type: 'MARKET', quantity: d('0.01'), clientOrderId: 'dup' }),
        ),
      ),
    ).toEqual({ code: -2010, msg: 'Duplicate order sent.' });
    e.cancelOrder('alice', 'BTCUSDT', { clientOrderId: 'dup' });
    const second = e.placeOrder(
      'alice',
      order({ side: 'BUY', type: 'MARKET', quantity: d('0.01'), clientOrderId: 'dup' }),
    );
    // The most recent order with the id is the one a query by client id finds.
    expect(e.queryOrder('alice', 'BTCUSDT', { clientOrderId: 'dup' })).toBe(second);
    expect(first.status).toBe('CANCELED');
  });

  it('testOrder checks everything and changes nothing', () => {
    const e = engine();
    e.testOrder('alice', order({ side: 'BUY', type: 'MARKET', quantity: d('0.01') }));
    expect(e.everyOrder()).toEqual([]);
    expect(balances(e)).toEqual({ USDT: '10000/0', BTC: '0.5/0' });
    expect(
      rejection(() => {
        e.testOrder('alice', order({ side: 'BUY', type: 'MARKET', quantity: d('1') }));
      }).code,
    ).toBe(-2010);
  });
});

describe('PaperEngine: rejections', () => {
  it('insufficient balance is -2010 with Binance’s message, and nothing is locked', () => {
    const e = engine();
    expect(
      rejection(() => e.placeOrder('alice', order({ side: 'BUY', type: 'MARKET', quantity: d('0.2') }))),
    ).toEqual({
      code: -2010,
      msg: 'Account has insufficient balance for requested action.',
    });
    expect(
      rejection(() =>
        e.placeOrder(
          'alice',
          order({
            side: 'SELL',
            type: 'LIMIT',
            timeInForce: 'GTC',
            price: d('70000'),
            quantity: d('0.50001'),
          }),
        ),
      ).code,
    ).toBe(-2010);
    expect(balances(e)).toEqual({ USDT: '10000/0', BTC: '0.5/0' });
  });

  it('filter failures are -1013 naming the filter', () => {
    const e = engine();
    const limit = (price: string, quantity: string): { code: number; msg: string } =>
      rejection(() =>
        e.placeOrder(
          'alice',
          order({ side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', price: d(price), quantity: d(quantity) }),
        ),
      );
    expect(limit('50000.001', '0.01')).toEqual({ code: -1013, msg: 'Filter failure: PRICE_FILTER' });
    expect(limit('2000000', '0.01')).toEqual({ code: -1013, msg: 'Filter failure: PRICE_FILTER' });
    expect(limit('50000', '0.000015')).toEqual({ code: -1013, msg: 'Filter failure: LOT_SIZE' });
    expect(limit('50000', '9001')).toEqual({ code: -1013, msg: 'Filter failure: LOT_SIZE' });
    expect(limit('50000', '0.00009')).toEqual({ code: -1013, msg: 'Filter failure: NOTIONAL' });
    expect(
      rejection(() => e.placeOrder('alice', order({ side: 'BUY', type: 'MARKET', quoteOrderQty: d('0.5') }))),
    ).toEqual({ code: -1013, msg: 'Filter failure: LOT_SIZE' });
    const old = engine({ symbol: { notionalFilter: 'MIN_NOTIONAL' } });
    expect(
      rejection(() =>
        old.placeOrder('alice', order({ side: 'BUY', type: 'MARKET', quantity: d('0.00001') })),
      ),
    ).toEqual({ code: -1013, msg: 'Filter failure: MIN_NOTIONAL' });
  });

  it('a symbol that is not trading rejects new orders with "Market is closed."', () => {
    const e = engine({ symbol: { status: 'HALT' } });
    expect(
      rejection(() => e.placeOrder('alice', order({ side: 'BUY', type: 'MARKET', quantity: d('0.01') }))),
    ).toEqual({
      code: -2010,
      msg: 'Market is closed.',
    });
  });
});

describe('PaperEngine: ledger invariants (property)', () => {
  it('balances never go negative and locked equals what open orders reserve, whatever the sequence', () => {
    const step = fc.oneof(
      fc.record({
        kind: fc.constant('limit' as const),
        side: fc.constantFrom('BUY' as const, 'SELL' as const),
        price: fc.integer({ min: 55_000, max: 65_000 }),
        qty: fc.integer({ min: 1, max: 5_000 }),
        tif: fc.constantFrom('GTC' as const, 'IOC' as const, 'FOK' as const),
      }),
      fc.record({
        kind: fc.constant('market' as const),
        side: fc.constantFrom('BUY' as const, 'SELL' as const),
        qty: fc.integer({ min: 1, max: 5_000 }),
      }),
      fc.record({ kind: fc.constant('price' as const), price: fc.integer({ min: 55_000, max: 65_000 }) }),
      fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const e = engine();
        for (const s of steps) {
          try {
            if (s.kind === 'limit') {
              const quantity = ExactDecimal.fromInteger(s.qty).mul(d('0.00001'));
              e.placeOrder(
                'alice',
                order({
                  side: s.side,
                  type: 'LIMIT',
                  timeInForce: s.tif,
                  price: ExactDecimal.fromInteger(s.price),
                  quantity,
                }),
              );
            } else if (s.kind === 'market') {
              const quantity = ExactDecimal.fromInteger(s.qty).mul(d('0.00001'));
              e.placeOrder('alice', order({ side: s.side, type: 'MARKET', quantity }));
            } else if (s.kind === 'price') {
              e.setPrice('BTCUSDT', ExactDecimal.fromInteger(s.price));
            } else {
              const open = e.openOrders('alice');
              const target = open[s.pick % Math.max(open.length, 1)];
              if (target !== undefined) e.cancelOrder('alice', 'BTCUSDT', { orderId: target.orderId });
            }
          } catch (err) {
            if (!(err instanceof BinanceApiError)) throw err;
          }
          const ledger = e.balances('alice');
          let lockedUsdt = ExactDecimal.ZERO;
          let lockedBtc = ExactDecimal.ZERO;
          for (const o of e.openOrders('alice')) {
            if (o.side === 'BUY') lockedUsdt = lockedUsdt.add(o.reserved);
            else lockedBtc = lockedBtc.add(o.reserved);
          }
          for (const b of ledger.values()) {
            if (b.free.isNegative() || b.locked.isNegative()) return false;
          }
          if (!ledger.get('USDT')?.locked.eq(lockedUsdt)) return false;
          if (!ledger.get('BTC')?.locked.eq(lockedBtc)) return false;
        }
        return true;
      }),
    );
  });
});
