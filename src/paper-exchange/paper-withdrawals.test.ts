// The paper exchange's withdraw endpoint, driven only through ccxt's binance class (the client cofre uses against
// Binance), so that what is checked is what Binance's official client sends and reads.
import ccxt from 'ccxt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type PaperExchange, startPaperExchange } from './paper-exchange.js';
import { BTCUSDT } from './spot-markets.js';

const ALICE = { apiKey: 'aliceKey1', secret: 'alice-secret', balances: { USDT: '1000', BTC: '1' } };
const BOB = { apiKey: 'bobKey1', secret: 'bob-secret', balances: { USDT: '10' } };
const ADDRESS = 'TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE';

let ex: PaperExchange;

/** ccxt's binance, spot only, every API section pointed at the paper exchange. */
function binance(account: { apiKey: string; secret: string }): InstanceType<typeof ccxt.binance> {
  const client = new ccxt.binance({
    apiKey: account.apiKey,
    secret: account.secret,
    options: {
      defaultType: 'spot',
      fetchMarkets: { types: ['spot'] },
      fetchCurrencies: false,
      fetchMargins: false,
    },
  });
  const rewrite = (value: unknown): unknown =>
    typeof value === 'string'
      ? value.replace(/^https:\/\/[^/]+/, ex.url)
      : Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, rewrite(v)]));
  client.urls['api'] = rewrite(client.urls['api']) as typeof client.urls.api;
  return client;
}

beforeAll(async () => {
  ex = await startPaperExchange({ accounts: [ALICE, BOB], symbols: [BTCUSDT], prices: { BTCUSDT: '60000' } });
});
afterAll(async () => {
  await ex.stop();
});

describe('POST /sapi/v1/capital/withdraw/apply through ccxt', () => {
  it('accepts a signed withdrawal, answers its id, debits the free balance and records it', async () => {
    const client = binance(ALICE);
    const tx = await client.withdraw('USDT', '125.5' as unknown as number, ADDRESS, 'memo-7', {
      network: 'TRC20',
      withdrawOrderId: 'cofre-w-1',
    });
    expect(tx.id).toMatch(/^[0-9a-f]{32}$/);
    expect(ex.withdrawals()).toEqual([
      {
        apiKey: ALICE.apiKey,
        id: tx.id,
        coin: 'USDT',
        amount: '125.5',
        // ccxt turns the unified network code into Binance's network id.
        network: 'TRX',
        address: ADDRESS,
        addressTag: 'memo-7',
        withdrawOrderId: 'cofre-w-1',
        applyTime: expect.any(Number) as number,
      },
    ]);
    expect(ex.balances(ALICE.apiKey)['USDT']).toEqual({ free: '874.5', locked: '0' });
    const request = ex.requests().at(-1);
    expect(request).toMatchObject({
      method: 'POST',
      path: '/sapi/v1/capital/withdraw/apply',
      verified: true,
    });
  });

  it('refuses more than the free balance with -4026, and records nothing', async () => {
    const before = ex.withdrawals().length;
    const err = await binance(BOB)
      .withdraw('USDT', '10.01' as unknown as number, ADDRESS)
      .catch((e: unknown) => e);
    // ccxt 4.5.84 raises BadRequest for -4026 on this endpoint; either way an ExchangeError (the venue said no).
    expect(err).toBeInstanceOf(ccxt.ExchangeError);
    expect(ex.requests().at(-1)?.errorCode).toBe(-4026);
    expect(ex.withdrawals()).toHaveLength(before);
    expect(ex.balances(BOB.apiKey)['USDT']).toEqual({ free: '10', locked: '0' });
  });

  it('cannot withdraw funds locked in an open order', async () => {
    const client = binance(BOB);
    // 6 USDT locked in a resting buy of 0.00015 BTC at 40000; 4 USDT stay free.
    await client.createOrder('BTC/USDT', 'limit', 'buy', 0.00015, 40000);
    expect(ex.balances(BOB.apiKey)['USDT']).toEqual({ free: '4', locked: '6' });
    const before = ex.withdrawals().length;
    await expect(client.withdraw('USDT', 5, ADDRESS)).rejects.toBeInstanceOf(ccxt.ExchangeError);
    expect(ex.requests().at(-1)?.errorCode).toBe(-4026);
    expect(ex.withdrawals()).toHaveLength(before);
    await client.withdraw('USDT', 4, ADDRESS);
    expect(ex.withdrawals()).toHaveLength(before + 1);
    expect(ex.balances(BOB.apiKey)['USDT']).toEqual({ free: '0', locked: '6' });
  });

  it('refuses a wrong signature (-1022) and an unknown coin (-1130) without moving funds', async () => {
    const before = ex.withdrawals().length;
    const forged = binance({ apiKey: ALICE.apiKey, secret: 'not-alice-secret' });
    await expect(forged.withdraw('USDT', 1, ADDRESS)).rejects.toBeInstanceOf(ccxt.AuthenticationError);
    expect(ex.requests().at(-1)).toMatchObject({ verified: false, errorCode: -1022 });
    // ccxt knows only the currencies of the loaded markets; a coin it does not know is sent by its id.
    const client = binance(ALICE);
    await expect(client.withdraw('BTC', '0' as unknown as number, ADDRESS)).rejects.toBeInstanceOf(
      ccxt.BadRequest,
    );
    expect(ex.requests().at(-1)?.errorCode).toBe(-1130);
    expect(ex.withdrawals()).toHaveLength(before);
    expect(ex.balances(ALICE.apiKey)['USDT']?.free).toBe('874.5');
  });
});

describe('GET /sapi/v1/capital/withdraw/history through ccxt', () => {
  it("lists the account's own withdrawals, newest first, and finds one by withdrawOrderId", async () => {
    const client = binance(ALICE);
    await client.withdraw('USDT', 1, ADDRESS, undefined, { withdrawOrderId: 'hist-1' });
    await client.withdraw('USDT', 2, ADDRESS, undefined, { withdrawOrderId: 'hist-2' });
    const mine = ex.withdrawals().filter((w) => w.apiKey === ALICE.apiKey);
    const all = await client.fetchWithdrawals('USDT');
    // ccxt sorts by time; the ids are the exchange's, the amounts as sent, each still processing.
    expect(all.map((t) => t.id).sort()).toEqual(mine.map((w) => w.id).sort());
    expect(all.every((t) => t.status === 'pending' && t.type === 'withdrawal')).toBe(true);
    const one = await client.fetchWithdrawals('USDT', undefined, undefined, { withdrawOrderId: 'hist-2' });
    expect(one.map((t) => [t.id, t.amount])).toEqual([[mine.at(-1)?.id, 2]]);
    expect(await client.fetchWithdrawals('USDT', undefined, undefined, { withdrawOrderId: 'nope' })).toEqual(
      [],
    );
    // Bob sees only his own.
    const bobs = await binance(BOB).fetchWithdrawals('USDT');
    expect(bobs.map((t) => t.id).sort()).toEqual(
      ex
        .withdrawals()
        .filter((w) => w.apiKey === BOB.apiKey)
        .map((w) => w.id)
        .sort(),
    );
  });
});

describe('DELETE /api/v3/openOrders through ccxt', () => {
  it('cancels every open order on the symbol, and answers -2011 (ccxt: OrderNotFound) when none is open', async () => {
    const client = binance(ALICE);
    await client.createOrder('BTC/USDT', 'limit', 'buy', 0.001, 50000, { clientOrderId: 'all-1' });
    await client.createOrder('BTC/USDT', 'limit', 'sell', 0.001, 70000, { clientOrderId: 'all-2' });
    const cancelled = await client.cancelAllOrders('BTC/USDT');
    expect(cancelled.map((o) => o.status)).toEqual(['canceled', 'canceled']);
    expect(
      ex
        .orders()
        .filter((o) => o.clientOrderId.startsWith('all-'))
        .map((o) => o.status),
    ).toEqual(['CANCELED', 'CANCELED']);
    await expect(client.cancelAllOrders('BTC/USDT')).rejects.toBeInstanceOf(ccxt.OrderNotFound);
  });
});
