import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { binanceSignature } from './binance-signature.js';
import { PaperConfigError } from './paper-config-error.js';
import { type PaperExchange, type PaperSymbol, startPaperExchange } from './paper-exchange.js';
import { BTCUSDT } from './spot-markets.js';
import { WORKED_EXAMPLE as EX } from './testdata/binance-worked-example.js';
import { client, list, type Reply, send } from './testdata/signed-client.js';

describe("Binance's published worked example against the server", () => {
  const LTCBTC: PaperSymbol = {
    symbol: 'LTCBTC',
    baseAsset: 'LTC',
    quoteAsset: 'BTC',
    tickSize: '0.000001',
    stepSize: '0.01',
    minQty: '0.01',
    maxQty: '100000',
    minNotional: '0.0001',
  };
  const clock: { t: number } = { t: EX.timestamp };
  let ex: PaperExchange;

  beforeAll(async () => {
    ex = await startPaperExchange({
      accounts: [{ apiKey: EX.apiKey, secret: EX.secretKey, balances: { BTC: '1' } }],
      symbols: [LTCBTC],
      prices: { LTCBTC: '0.2' },
      now: () => clock.t,
    });
  });
  afterAll(async () => {
    await ex.stop();
  });

  const example1 = (): Promise<Reply> =>
    send(ex, 'POST', '/api/v3/order', { apiKey: EX.apiKey, body: `${EX.params}&signature=${EX.signature}` });

  it('accepts Example 1 (request body) as published, at serverTime = timestamp', async () => {
    clock.t = EX.timestamp;
    const reply = await example1();
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      symbol: 'LTCBTC',
      orderListId: -1,
      transactTime: EX.timestamp,
      price: '0.10000000',
      origQty: '1.00000000',
      executedQty: '0.00000000',
      status: 'NEW',
      timeInForce: 'GTC',
      type: 'LIMIT',
      side: 'BUY',
      fills: [],
    });
    // 1 LTC at 0.1 BTC rests below the 0.2 price: 0.1 BTC is locked.
    expect(ex.balances(EX.apiKey).BTC).toEqual({ free: '0.9', locked: '0.1' });
  });

  it('accepts Example 2 (query string) and Example 3 (mixed) as published', async () => {
    clock.t = EX.timestamp;
    const example2 = await send(ex, 'POST', `/api/v3/order?${EX.params}&signature=${EX.signature}`, {
      apiKey: EX.apiKey,
    });
    expect(example2.status).toBe(200);
    expect(example2.body.status).toBe('NEW');
    const example3 = await send(ex, 'POST', `/api/v3/order?${EX.mixedQuery}`, {
      apiKey: EX.apiKey,
      body: `${EX.mixedBody}&signature=${EX.mixedSignature}`,
    });
    expect(example3.status).toBe(200);
    expect(example3.body.status).toBe('NEW');
  });

  it('records each accepted request with the parameters it verified', () => {
    const accepted = ex.requests().filter((r) => r.verified);
    expect(accepted.length).toBeGreaterThanOrEqual(3);
    for (const r of accepted.slice(0, 3)) {
      expect(r).toMatchObject({
        method: 'POST',
        path: '/api/v3/order',
        apiKey: EX.apiKey,
        signed: true,
        status: 200,
      });
      expect(r.params).toEqual({
        symbol: 'LTCBTC',
        side: 'BUY',
        type: 'LIMIT',
        timeInForce: 'GTC',
        quantity: '1',
        price: '0.1',
        recvWindow: '5000',
        timestamp: String(EX.timestamp),
      });
    }
    expect(accepted[2]?.query).toBe(EX.mixedQuery);
    expect(accepted[2]?.body).toBe(`${EX.mixedBody}&signature=${EX.mixedSignature}`);
  });

  it('rejects the published request with one character of the signature changed: -1022', async () => {
    clock.t = EX.timestamp;
    const before = ex.orders().length;
    const changed = `${EX.signature.slice(0, 10)}${EX.signature[10] === '0' ? '1' : '0'}${EX.signature.slice(11)}`;
    const reply = await send(ex, 'POST', '/api/v3/order', {
      apiKey: EX.apiKey,
      body: `${EX.params}&signature=${changed}`,
    });
    expect(reply).toEqual({
      status: 400,
      body: { code: -1022, msg: 'Signature for this request is not valid.' },
    });
    expect(ex.orders().length).toBe(before);
    expect(ex.requests().at(-1)).toMatchObject({ verified: false, status: 400, errorCode: -1022 });
  });

  it('rejects a changed parameter under the published signature: -1022', async () => {
    clock.t = EX.timestamp;
    const reply = await send(ex, 'POST', '/api/v3/order', {
      apiKey: EX.apiKey,
      body: `${EX.params.replace('quantity=1', 'quantity=2')}&signature=${EX.signature}`,
    });
    expect(reply.body.code).toBe(-1022);
  });

  it('treats the signature as case-insensitive, as documented', async () => {
    clock.t = EX.timestamp;
    const reply = await send(ex, 'POST', '/api/v3/order', {
      apiKey: EX.apiKey,
      body: `${EX.params}&signature=${EX.signature.toUpperCase()}`,
    });
    expect(reply.status).toBe(200);
  });

  it('applies the documented timing rule at its exact boundaries', async () => {
    // Valid iff timestamp < serverTime + 1000 && serverTime - timestamp <= recvWindow (5000 here).
    clock.t = EX.timestamp + 5000;
    expect((await example1()).status).toBe(200);

    clock.t = EX.timestamp + 5001;
    expect((await example1()).body).toEqual({
      code: -1021,
      msg: 'Timestamp for this request is outside of the recvWindow.',
    });

    clock.t = EX.timestamp - 999;
    expect((await example1()).status).toBe(200);

    clock.t = EX.timestamp - 1000;
    expect((await example1()).body).toEqual({
      code: -1021,
      msg: "Timestamp for this request was 1000ms ahead of the server's time.",
    });
  });

  it('rejects an unknown API key with -2015 and a missing or malformed one with -2014 (HTTP 401)', async () => {
    clock.t = EX.timestamp;
    const body = `${EX.params}&signature=${EX.signature}`;
    const unknown = await send(ex, 'POST', '/api/v3/order', { apiKey: `${EX.apiKey.slice(0, -1)}B`, body });
    expect(unknown).toEqual({
      status: 401,
      body: { code: -2015, msg: 'Invalid API-key, IP, or permissions for action.' },
    });
    const missing = await send(ex, 'POST', '/api/v3/order', { body });
    expect(missing).toEqual({ status: 401, body: { code: -2014, msg: 'API-key format invalid.' } });
    const malformed = await send(ex, 'POST', '/api/v3/order', { apiKey: 'not a key!', body });
    expect(malformed.body.code).toBe(-2014);
  });

  it('never writes the secret into a response or a request record', () => {
    expect(JSON.stringify(ex.requests())).not.toContain(EX.secretKey);
  });
});

describe('paper exchange: trading over HTTP', () => {
  const ETHUSDT: PaperSymbol = {
    symbol: 'ETHUSDT',
    baseAsset: 'ETH',
    quoteAsset: 'USDT',
    tickSize: '0.01',
    stepSize: '0.0001',
    minQty: '0.0001',
    maxQty: '9000',
    minNotional: '5',
    notionalFilter: 'MIN_NOTIONAL',
  };
  const ALICE = { apiKey: 'aliceKey0123456789', secret: 'alice-secret-do-not-leak' };
  const BOB = { apiKey: 'bobKey0123456789', secret: 'bob-secret-do-not-leak' };
  const clock = { t: 1_700_000_000_000 };
  let ex: PaperExchange;
  let alice: ReturnType<typeof client>;
  let bob: ReturnType<typeof client>;
  let ids = 0;

  beforeAll(async () => {
    ex = await startPaperExchange({
      accounts: [
        { ...ALICE, balances: { USDT: '10000', BTC: '0.5' } },
        { ...BOB, balances: { USDT: '100' } },
      ],
      symbols: [BTCUSDT, ETHUSDT],
      prices: { BTCUSDT: '60000', ETHUSDT: '3000' },
      now: () => clock.t,
      newClientOrderId: () => `auto${++ids}`,
    });
    alice = client(ex, ALICE.apiKey, ALICE.secret, () => clock.t);
    bob = client(ex, BOB.apiKey, BOB.secret, () => clock.t);
  });
  afterAll(async () => {
    await ex.stop();
  });

  it('binds loopback only', async () => {
    expect(ex.host).toBe('127.0.0.1');
    expect(ex.url).toBe(`http://127.0.0.1:${ex.port}`);
    expect(ex.port).toBeGreaterThan(0);
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.com']) {
      const failure = await startPaperExchange({ host, accounts: [], symbols: [], prices: {} }).catch(
        (err: unknown) => err,
      );
      expect(failure, host).toBeInstanceOf(PaperConfigError);
    }
  });

  it('serves ping, time and exchangeInfo shaped like Binance', async () => {
    expect((await send(ex, 'GET', '/api/v3/ping')).body).toEqual({});
    expect((await send(ex, 'GET', '/api/v3/time')).body).toEqual({ serverTime: clock.t });
    const info = (await send(ex, 'GET', '/api/v3/exchangeInfo')).body;
    expect(info).toMatchObject({ timezone: 'UTC', serverTime: clock.t, exchangeFilters: [] });
    expect(info.rateLimits.length).toBeGreaterThan(0);
    expect(list(info.symbols).map((s) => s.symbol)).toEqual(['BTCUSDT', 'ETHUSDT']);
    expect(info.symbols[0]).toMatchObject({
      symbol: 'BTCUSDT',
      status: 'TRADING',
      baseAsset: 'BTC',
      quoteAsset: 'USDT',
      baseAssetPrecision: 8,
      quotePrecision: 8,
      quoteAssetPrecision: 8,
      orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET'],
      quoteOrderQtyMarketAllowed: true,
      isSpotTradingAllowed: true,
      isMarginTradingAllowed: false,
      permissions: [],
      permissionSets: [['SPOT']],
      filters: [
        {
          filterType: 'PRICE_FILTER',
          minPrice: '0.01000000',
          maxPrice: '1000000.00000000',
          tickSize: '0.01000000',
        },
        { filterType: 'LOT_SIZE', minQty: '0.00001000', maxQty: '9000.00000000', stepSize: '0.00001000' },
        { filterType: 'NOTIONAL', minNotional: '5.00000000', applyMinToMarket: true },
      ],
    });
    expect(info.symbols[1].filters[2]).toMatchObject({
      filterType: 'MIN_NOTIONAL',
      minNotional: '5.00000000',
    });
    const one = (await send(ex, 'GET', '/api/v3/exchangeInfo?symbol=ETHUSDT')).body;
    expect(list(one.symbols).map((s) => s.symbol)).toEqual(['ETHUSDT']);
    const many = await send(
      ex,
      'GET',
      `/api/v3/exchangeInfo?symbols=${encodeURIComponent('["ETHUSDT","BTCUSDT"]')}`,
    );
    expect(many.body.symbols).toHaveLength(2);
    expect(await send(ex, 'GET', '/api/v3/exchangeInfo?symbol=DOGEUSDT')).toEqual({
      status: 400,
      body: { code: -1121, msg: 'Invalid symbol.' },
    });
  });

  it('serves tickers and a small book around the price', async () => {
    expect((await send(ex, 'GET', '/api/v3/ticker/price?symbol=BTCUSDT')).body).toEqual({
      symbol: 'BTCUSDT',
      price: '60000.00000000',
    });
    expect((await send(ex, 'GET', '/api/v3/ticker/price')).body).toHaveLength(2);
    expect((await send(ex, 'GET', '/api/v3/ticker/bookTicker?symbol=BTCUSDT')).body).toMatchObject({
      symbol: 'BTCUSDT',
      bidPrice: '59999.99000000',
      askPrice: '60000.01000000',
    });
    const day = (await send(ex, 'GET', '/api/v3/ticker/24hr?symbol=ETHUSDT')).body;
    expect(day).toMatchObject({ symbol: 'ETHUSDT', lastPrice: '3000.00000000', openPrice: '3000.00000000' });
    expect((await send(ex, 'GET', '/api/v3/ticker/24hr')).body).toHaveLength(2);
    const depth = (await send(ex, 'GET', '/api/v3/depth?symbol=BTCUSDT&limit=5')).body;
    expect(depth.bids).toHaveLength(5);
    expect(depth.asks[0]).toEqual(['60000.01000000', '0.01000000']);
    expect(depth.bids[4]).toEqual(['59999.95000000', '0.01000000']);
    expect((await send(ex, 'GET', '/api/v3/depth')).body.code).toBe(-1102);
  });

  it('reports balances exactly, with canTrade', async () => {
    const account = await alice('GET', '/api/v3/account', {});
    expect(account.status).toBe(200);
    expect(account.body).toMatchObject({ canTrade: true, accountType: 'SPOT', makerCommission: 10 });
    expect(account.body.balances).toEqual([
      { asset: 'USDT', free: '10000.00000000', locked: '0.00000000' },
      { asset: 'BTC', free: '0.50000000', locked: '0.00000000' },
      { asset: 'ETH', free: '0.00000000', locked: '0.00000000' },
    ]);
    const nonZero = await alice('GET', '/api/v3/account', { omitZeroBalances: 'true' });
    expect(list(nonZero.body.balances).map((b) => b.asset)).toEqual(['USDT', 'BTC']);
  });

  it('places a MARKET order and answers in the FULL shape with fills; balances move exactly', async () => {
    const reply = await alice('POST', '/api/v3/order', {
      symbol: 'BTCUSDT',
      side: 'BUY',
      type: 'MARKET',
      quantity: '0.01',
      newClientOrderId: 'mkt-1',
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      symbol: 'BTCUSDT',
      clientOrderId: 'mkt-1',
      transactTime: clock.t,
      price: '0.00000000',
      origQty: '0.01000000',
      executedQty: '0.01000000',
      cummulativeQuoteQty: '600.00000000',
      status: 'FILLED',
      type: 'MARKET',
      side: 'BUY',
      fills: [
        { price: '60000.00000000', qty: '0.01000000', commission: '0.00001000', commissionAsset: 'BTC' },
      ],
    });
    expect(ex.balances(ALICE.apiKey)).toMatchObject({
      USDT: { free: '9400', locked: '0' },
      BTC: { free: '0.50999', locked: '0' },
    });
  });

  it('answers in the ACK and RESULT shapes when asked', async () => {
    const ack = await alice('POST', '/api/v3/order', {
      symbol: 'BTCUSDT',
      side: 'SELL',
      type: 'MARKET',
      quantity: '0.001',
      newOrderRespType: 'ACK',
    });
    expect(Object.keys(ack.body as object).sort()).toEqual([
      'clientOrderId',
      'orderId',
      'orderListId',
      'symbol',
      'transactTime',
    ]);
    const result = await alice('POST', '/api/v3/order', {
      symbol: 'BTCUSDT',
      side: 'SELL',
      type: 'MARKET',
      quantity: '0.001',
      newOrderRespType: 'RESULT',
    });
    expect(result.body.status).toBe('FILLED');
    expect(result.body.fills).toBeUndefined();
    // Two sells of 0.001 BTC at 60000: +120 USDT less 0.12 fee.
    expect(ex.balances(ALICE.apiKey).USDT).toEqual({ free: '9519.88', locked: '0' });
  });

  it('places a LIMIT order, finds it by orderId and by client order id, lists and cancels it', async () => {
    const placed = await alice('POST', '/api/v3/order', {
      symbol: 'BTCUSDT',
      side: 'BUY',
      type: 'LIMIT',
      timeInForce: 'GTC',
      quantity: '0.1',
      price: '50000',
      newClientOrderId: 'lim-1',
    });
    expect(placed.body).toMatchObject({ status: 'NEW', price: '50000.00000000', fills: [] });
    const orderId = placed.body.orderId as number;
    expect(ex.balances(ALICE.apiKey).USDT).toEqual({ free: '4519.88', locked: '5000' });

    const byId = await alice('GET', '/api/v3/order', { symbol: 'BTCUSDT', orderId: String(orderId) });
    const byClientId = await alice('GET', '/api/v3/order', { symbol: 'BTCUSDT', origClientOrderId: 'lim-1' });
    expect(byId.body).toEqual(byClientId.body);
    expect(byId.body).toMatchObject({
      orderId,
      clientOrderId: 'lim-1',
      status: 'NEW',
      origQty: '0.10000000',
      isWorking: true,
      time: clock.t,
    });
    const open = await alice('GET', '/api/v3/openOrders', { symbol: 'BTCUSDT' });
    expect(list(open.body).map((o) => o.orderId)).toEqual([orderId]);
    expect((await alice('GET', '/api/v3/openOrders', {})).body).toHaveLength(1);
    expect((await bob('GET', '/api/v3/openOrders', {})).body).toEqual([]);
    // Bob cannot see or cancel Alice's order.
    expect((await bob('GET', '/api/v3/order', { symbol: 'BTCUSDT', orderId: String(orderId) })).body).toEqual(
      {
        code: -2013,
        msg: 'Order does not exist.',
      },
    );
    expect(
      (await bob('DELETE', '/api/v3/order', { symbol: 'BTCUSDT', orderId: String(orderId) })).body.code,
    ).toBe(-2011);

    const canceled = await alice('DELETE', '/api/v3/order', { symbol: 'BTCUSDT', orderId: String(orderId) });
    expect(canceled.body).toMatchObject({ orderId, origClientOrderId: 'lim-1', status: 'CANCELED' });
    expect(ex.balances(ALICE.apiKey).USDT).toEqual({ free: '9519.88', locked: '0' });
    expect(
      (await alice('DELETE', '/api/v3/order', { symbol: 'BTCUSDT', orderId: String(orderId) })).body,
    ).toEqual({
      code: -2011,
      msg: 'Unknown order sent.',
    });
    expect((await alice('GET', '/api/v3/order', { symbol: 'BTCUSDT', orderId: '999999' })).body.code).toBe(
      -2013,
    );
  });

  it('fills a resting LIMIT order once setPrice crosses it', async () => {
    const placed = await alice('POST', '/api/v3/order', {
      symbol: 'BTCUSDT',
      side: 'BUY',
      type: 'LIMIT',
      timeInForce: 'GTC',
      quantity: '0.01',
      price: '59000',
    });
    const orderId = String(placed.body.orderId);
    expect(placed.body.status).toBe('NEW');
    clock.t += 1000;
    ex.setPrice('BTCUSDT', '58999.99');
    const filled = await alice('GET', '/api/v3/order', { symbol: 'BTCUSDT', orderId });
    expect(filled.body).toMatchObject({
      status: 'FILLED',
      executedQty: '0.01000000',
      cummulativeQuoteQty: '590.00000000',
      updateTime: clock.t,
    });
    const trades = await alice('GET', '/api/v3/myTrades', { symbol: 'BTCUSDT', orderId });
    expect(trades.body).toEqual([
      expect.objectContaining({
        price: '59000.00000000',
        qty: '0.01000000',
        commission: '0.00001000',
        commissionAsset: 'BTC',
        isBuyer: true,
        isMaker: true,
      }),
    ]);
    // 9519.88 - 590 USDT; 0.50999 - 0.002 + 0.01 - 0.00001 BTC.
    expect(ex.balances(ALICE.apiKey)).toMatchObject({
      USDT: { free: '8929.88', locked: '0' },
      BTC: { free: '0.51798', locked: '0' },
    });
    expect(ex.price('BTCUSDT')).toBe('58999.99');
    ex.setPrice('BTCUSDT', '60000');
  });

  it('expires IOC and FOK orders that cannot fill', async () => {
    for (const timeInForce of ['IOC', 'FOK']) {
      const reply = await alice('POST', '/api/v3/order', {
        symbol: 'BTCUSDT',
        side: 'SELL',
        type: 'LIMIT',
        timeInForce,
        quantity: '0.01',
        price: '70000',
      });
      expect(reply.body).toMatchObject({ status: 'EXPIRED', executedQty: '0.00000000', fills: [] });
    }
    expect(ex.balances(ALICE.apiKey).BTC).toEqual({ free: '0.51798', locked: '0' });
  });

  it('rejects a duplicate client order id among open orders with -2010 "Duplicate order sent."', async () => {
    const order = {
      symbol: 'ETHUSDT',
      side: 'BUY',
      type: 'LIMIT',
      timeInForce: 'GTC',
      quantity: '1',
      price: '2000',
      newClientOrderId: 'same-id',
    };
    expect((await alice('POST', '/api/v3/order', order)).status).toBe(200);
    expect(await alice('POST', '/api/v3/order', order)).toEqual({
      status: 400,
      body: { code: -2010, msg: 'Duplicate order sent.' },
    });
    const all = await alice('DELETE', '/api/v3/openOrders', { symbol: 'ETHUSDT' });
    expect(list(all.body).map((o) => o.status)).toEqual(['CANCELED']);
    expect((await alice('POST', '/api/v3/order', order)).status).toBe(200);
    await alice('DELETE', '/api/v3/order', { symbol: 'ETHUSDT', origClientOrderId: 'same-id' });
  });

  it('rejects an order the account cannot pay for with -2010', async () => {
    expect(
      await bob('POST', '/api/v3/order', {
        symbol: 'BTCUSDT',
        side: 'BUY',
        type: 'MARKET',
        quantity: '0.01',
      }),
    ).toEqual({
      status: 400,
      body: { code: -2010, msg: 'Account has insufficient balance for requested action.' },
    });
  });

  it('answers missing parameters with -1102', async () => {
    const cases: [Record<string, string>, string][] = [
      [
        { side: 'BUY', type: 'MARKET', quantity: '1' },
        "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
      ],
      [
        { symbol: 'BTCUSDT', type: 'MARKET', quantity: '1' },
        "Mandatory parameter 'side' was not sent, was empty/null, or malformed.",
      ],
      [
        { symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', quantity: '1' },
        "Mandatory parameter 'price' was not sent, was empty/null, or malformed.",
      ],
      [
        { symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', price: '1', quantity: '1' },
        "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.",
      ],
      [
        { symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET' },
        "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
      ],
      [
        { symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quantity: '' },
        "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
      ],
    ];
    for (const [params, msg] of cases) {
      expect(await alice('POST', '/api/v3/order', params), msg).toEqual({
        status: 400,
        body: { code: -1102, msg },
      });
    }
    expect((await alice('GET', '/api/v3/order', { symbol: 'BTCUSDT' })).body).toEqual({
      code: -1102,
      msg: "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
    });
    // timestamp and signature are mandatory on SIGNED endpoints.
    const unsigned = await send(ex, 'GET', '/api/v3/account?timestamp=1', { apiKey: ALICE.apiKey });
    expect(unsigned.body).toEqual({
      code: -1102,
      msg: "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
    });
    const text = 'recvWindow=5000';
    const noTimestamp = await send(
      ex,
      'GET',
      `/api/v3/account?${text}&signature=${binanceSignature(ALICE.secret, text)}`,
      {
        apiKey: ALICE.apiKey,
      },
    );
    expect(noTimestamp.body.msg).toBe(
      "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
    );
  });

  it('answers malformed and superfluous parameters with -1100, -1106, -1111, -1115, -1116, -1117, -1121, -1130', async () => {
    const base = { symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quantity: '0.01' };
    const code = async (params: Record<string, string>): Promise<number> =>
      (await alice('POST', '/api/v3/order', params)).body.code as number;
    expect(await code({ ...base, quantity: '-1' })).toBe(-1100);
    expect(await code({ ...base, quantity: '1e-2' })).toBe(-1100);
    expect(await code({ ...base, symbol: 'btcusdt' })).toBe(-1100);
    expect(await code({ ...base, newClientOrderId: 'has space' })).toBe(-1100);
    expect(await code({ ...base, price: '1' })).toBe(-1106);
    expect(await code({ ...base, timeInForce: 'GTC' })).toBe(-1106);
    expect(await code({ ...base, quantity: '0.000000001' })).toBe(-1111);
    expect(await code({ ...base, type: 'LIMIT', timeInForce: 'GTX', price: '50000' })).toBe(-1115);
    expect(await code({ ...base, type: 'STOP_LOSS' })).toBe(-1116);
    expect(await code({ ...base, side: 'HOLD' })).toBe(-1117);
    expect(await code({ ...base, symbol: 'DOGEUSDT' })).toBe(-1121);
    expect(await code({ ...base, newOrderRespType: 'ALL' })).toBe(-1130);
    const dup = 'symbol=BTCUSDT&symbol=ETHUSDT';
    expect((await send(ex, 'GET', `/api/v3/ticker/price?${dup}`)).body).toEqual({
      code: -1101,
      msg: 'Duplicate values for a parameter detected.',
    });
    expect((await alice('GET', '/api/v3/account', { recvWindow: '60001' })).body).toEqual({
      code: -1102,
      msg: "'recvWindow' contains unexpected value. Cannot be greater than '60000'.",
    });
    expect((await alice('GET', '/api/v3/account', { recvWindow: '60000' })).status).toBe(200);
  });

  it('answers filter failures with -1013', async () => {
    const limit = { symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC' };
    const msg = async (params: Record<string, string>): Promise<unknown> =>
      (await alice('POST', '/api/v3/order', params)).body;
    expect(await msg({ ...limit, price: '50000.001', quantity: '0.01' })).toEqual({
      code: -1013,
      msg: 'Filter failure: PRICE_FILTER',
    });
    expect(await msg({ ...limit, price: '50000', quantity: '0.000015' })).toEqual({
      code: -1013,
      msg: 'Filter failure: LOT_SIZE',
    });
    expect(await msg({ ...limit, price: '50000', quantity: '10000' })).toEqual({
      code: -1013,
      msg: 'Filter failure: LOT_SIZE',
    });
    expect(await msg({ ...limit, price: '50000', quantity: '0.00009' })).toEqual({
      code: -1013,
      msg: 'Filter failure: NOTIONAL',
    });
    expect(await msg({ symbol: 'ETHUSDT', side: 'BUY', type: 'MARKET', quantity: '0.001' })).toEqual({
      code: -1013,
      msg: 'Filter failure: MIN_NOTIONAL',
    });
  });

  it('POST /api/v3/order/test validates and places nothing', async () => {
    const before = ex.orders().length;
    const ok = await alice('POST', '/api/v3/order/test', {
      symbol: 'BTCUSDT',
      side: 'BUY',
      type: 'MARKET',
      quantity: '0.01',
    });
    expect(ok).toEqual({ status: 200, body: {} });
    const bad = await alice('POST', '/api/v3/order/test', {
      symbol: 'BTCUSDT',
      side: 'BUY',
      type: 'MARKET',
      quantity: '1',
    });
    expect(bad.body).toEqual({ code: -2010, msg: 'Account has insufficient balance for requested action.' });
    expect(ex.orders().length).toBe(before);
  });

  it('lists all orders, and answers unknown endpoints with 404 -1020', async () => {
    const all = await alice('GET', '/api/v3/allOrders', { symbol: 'BTCUSDT' });
    expect(all.body.length).toBe(
      ex.orders().filter((o) => o.apiKey === ALICE.apiKey && o.symbol === 'BTCUSDT').length,
    );
    expect(await send(ex, 'GET', '/sapi/v1/capital/config/getall')).toEqual({
      status: 404,
      body: { code: -1020, msg: 'This operation is not supported.' },
    });
  });

  it('records every request in order, with the parameters it read, and no secret', () => {
    const log = ex.requests();
    expect(log.map((r) => r.seq)).toEqual(log.map((_, i) => i + 1));
    const placed = log.find((r) => r.params.newClientOrderId === 'mkt-1');
    expect(placed).toMatchObject({
      method: 'POST',
      path: '/api/v3/order',
      apiKey: ALICE.apiKey,
      signed: true,
      verified: true,
      status: 200,
      errorCode: undefined,
      params: { symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quantity: '0.01', newClientOrderId: 'mkt-1' },
    });
    expect(placed?.body).toMatch(/&signature=[0-9a-f]{64}$/);
    // The order the exchange holds is the order the client sent.
    expect(ex.orders().find((o) => o.clientOrderId === 'mkt-1')).toMatchObject({
      apiKey: ALICE.apiKey,
      symbol: 'BTCUSDT',
      side: 'BUY',
      type: 'MARKET',
      origQty: '0.01',
      status: 'FILLED',
    });
    const serialized = JSON.stringify(log);
    expect(serialized).not.toContain(ALICE.secret);
    expect(serialized).not.toContain(BOB.secret);
    expect(log.filter((r) => !r.signed).every((r) => !r.verified)).toBe(true);
  });

  it('refuses bad configuration with COFRE_INPUT_INVALID', async () => {
    const base = { accounts: [], symbols: [BTCUSDT], prices: { BTCUSDT: '60000' } };
    const bad = [
      { ...base, prices: {} },
      { ...base, prices: { BTCUSDT: '0' } },
      { ...base, prices: { BTCUSDT: '60000', XRPUSDT: '1' } },
      { ...base, symbols: [{ ...BTCUSDT, tickSize: '0' }] },
      { ...base, symbols: [BTCUSDT, BTCUSDT] },
      { ...base, accounts: [{ apiKey: 'has-dash', secret: 's', balances: {} }] },
      { ...base, accounts: [{ apiKey: 'key1', secret: '', balances: {} }] },
      { ...base, accounts: [{ apiKey: 'key1', secret: 's', balances: { BTC: '-1' } }] },
      { ...base, feeRate: '1' },
      { ...base, port: 70000 },
    ];
    for (const options of bad) {
      const failure = await startPaperExchange(options).catch((err: unknown) => err);
      expect(failure, JSON.stringify(options)).toBeInstanceOf(PaperConfigError);
    }
    expect(() => {
      ex.setPrice('BTCUSDT', 'abc');
    }).toThrow(/positive decimal/);
    expect(() => {
      ex.setPrice('XRPUSDT', '1');
    }).toThrow(/no symbol/);
  });
});

describe('paper exchange: stop()', () => {
  it('closes the listener and open connections; a second stop() is harmless', async () => {
    const ex = await startPaperExchange({ accounts: [], symbols: [], prices: {} });
    expect((await send(ex, 'GET', '/api/v3/ping')).status).toBe(200);
    await ex.stop();
    await ex.stop();
    await expect(fetch(`${ex.url}/api/v3/ping`)).rejects.toThrow();
  });
});
