import { randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { inspect } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AccountConfig } from '../config/config-schema.js';
import { CofreError, isCofreError } from '../errors.js';
import { type PaperExchange, startPaperExchange } from '../paper-exchange/paper-exchange.js';
import { BTCUSDT, ETHUSDT } from '../paper-exchange/spot-markets.js';
import { SecretValue } from '../secrets/secret-value.js';
import type { RateWindowSource } from './account-queue.js';
import {
  ccxtExchangeOf,
  openVenueAccount,
  type VenueAccountOptions,
  type VenueRequestInfo,
} from './ccxt-venue-account.js';
import { runInRequestContext } from './request-context.js';
import { startDroppingProxy } from './testdata/dropping-proxy.js';
import type {
  OrderRef,
  OrderRequest,
  VenueAccount,
  VenueCallRecord,
  VenueCredentials,
  WithdrawalRequest,
} from './venue-account.js';

// Canary credentials: if any form of these shows up in an error, something leaked.
const API_KEY = `CanaryKey${randomBytes(24).toString('hex')}`;
const SECRET = `canary-secret-${randomBytes(24).toString('hex')}`;
const OTHER_KEY = `OtherKey${randomBytes(16).toString('hex')}`;
const OTHER_SECRET = `other-secret-${randomBytes(16).toString('hex')}`;

const REFS = { apiKey: 'local:exchanges/paper#apiKey', secret: 'local:exchanges/paper#secret' };

let paper: PaperExchange;

beforeAll(async () => {
  paper = await startPaperExchange({
    accounts: [
      { apiKey: API_KEY, secret: SECRET, balances: { USDT: '100000', BTC: '2' } },
      { apiKey: OTHER_KEY, secret: OTHER_SECRET, balances: { USDT: '5' } },
    ],
    symbols: [BTCUSDT],
    prices: { BTCUSDT: '60000' },
  });
});

afterAll(async () => {
  await paper.stop();
});

/** Hands out fresh SecretValues per call, like the secret resolver, and keeps them to check they get zeroed. */
function credentialSource(pair: { apiKey: string; secret: string } = { apiKey: API_KEY, secret: SECRET }): {
  readonly get: () => Promise<VenueCredentials>;
  readonly handedOut: SecretValue[];
  use(next: { apiKey: string; secret: string }): void;
} {
  let current = pair;
  const handedOut: SecretValue[] = [];
  return {
    handedOut,
    use(next) {
      current = next;
    },
    get() {
      const apiKey = SecretValue.fromText(current.apiKey);
      const secret = SecretValue.fromText(current.secret);
      handedOut.push(apiKey, secret);
      return Promise.resolve({ apiKey, secret });
    },
  };
}

/** A limit sell well above the market: it rests on the book. */
function restingSell(clientOrderId: string): OrderRequest {
  return { symbol: 'BTC/USDT', side: 'sell', type: 'limit', amount: '0.001', price: '70000', clientOrderId };
}

/** A market buy of BTC/USDT, the order most tests place. */
function marketBuy(clientOrderId: string, amount = '0.001'): OrderRequest {
  return { symbol: 'BTC/USDT', side: 'buy', type: 'market', amount, price: undefined, clientOrderId };
}

function paperConfig(baseUrl: string): AccountConfig {
  return { venue: 'binance', mode: 'paper', baseUrl, credentials: REFS };
}

async function openPaper(
  baseUrl = paper.url,
  credentials = credentialSource(),
  options: VenueAccountOptions = {},
): Promise<VenueAccount> {
  return openVenueAccount('paper-main', paperConfig(baseUrl), credentials.get, options);
}

async function failure(promise: Promise<unknown>): Promise<CofreError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof CofreError) return err;
    throw err;
  }
  throw new Error('expected a CofreError, got a result');
}

/** Every `signature=` value in the raw requests the paper exchange (or a proxy) received. */
function signaturesIn(requests: readonly { query: string; body: string }[]): string[] {
  return requests.flatMap((r) =>
    [...`${r.query}&${r.body}`.matchAll(/signature=([0-9a-fA-F]+)/g)].map((m) => m[1]!),
  );
}

/** SECURITY: no form of a canary, nor any signature, in anything a caller or a log could see of the error. */
function expectNoLeak(err: CofreError, signatures: readonly string[] = []): void {
  const seen = [
    err.message,
    String(err),
    err.stack ?? '',
    JSON.stringify(err),
    JSON.stringify(err.details ?? {}),
    inspect(err, { depth: 10 }),
  ].join('\n');
  expect(err.cause).toBeUndefined();
  for (const canary of [API_KEY, SECRET]) {
    const bytes = Buffer.from(canary, 'utf8');
    for (const form of [
      canary,
      bytes.toString('base64'),
      bytes.toString('base64url'),
      bytes.toString('hex'),
      encodeURIComponent(canary),
    ]) {
      expect(seen).not.toContain(form);
    }
  }
  for (const signature of signatures) expect(seen.toLowerCase()).not.toContain(signature.toLowerCase());
}

/** Opens a paper account behind a proxy that drops the matching requests, runs `test`, and closes both. */
async function throughDroppingProxy(
  drop: (method: string, path: string) => boolean,
  test: (account: VenueAccount, proxy: Awaited<ReturnType<typeof startDroppingProxy>>) => Promise<void>,
): Promise<void> {
  const proxy = await startDroppingProxy(paper.url, drop);
  const account = await openPaper(proxy.url);
  try {
    await test(account, proxy);
  } finally {
    await account.close();
    await proxy.stop();
  }
}

describe('CcxtVenueAccount against the paper exchange', () => {
  let account: VenueAccount;
  let credentials: ReturnType<typeof credentialSource>;
  const requests: VenueRequestInfo[] = [];

  beforeAll(async () => {
    credentials = credentialSource();
    account = await openPaper(paper.url, credentials, { onRequest: (r) => requests.push(r) });
  });

  afterAll(async () => {
    await account.close();
  });

  it('loads markets once across concurrent calls', async () => {
    const before = paper.requests().filter((r) => r.path === '/api/v3/exchangeInfo').length;
    const [rules] = await Promise.all([
      account.market('BTC/USDT'),
      account.fetchTicker('BTC/USDT'),
      account.fetchBalance(),
      account.market('BTCUSDT'),
      account.fetchOpenOrders('BTC/USDT'),
    ]);
    await account.market('BTC/USDT');
    const after = paper.requests().filter((r) => r.path === '/api/v3/exchangeInfo').length;
    expect(after - before).toBe(1);
    expect(rules).toEqual({
      symbol: 'BTC/USDT',
      base: 'BTC',
      quote: 'USDT',
      priceStep: '0.01',
      amountStep: '0.00001',
      minAmount: '0.00001',
      maxAmount: '9000',
      minNotional: '5',
    });
  });

  it('sends every request to the paper base URL, and only spot endpoints', () => {
    expect(requests.length).toBeGreaterThan(0);
    for (const r of requests) {
      expect(r.origin).toBe(paper.url);
      expect(r.path.startsWith('/api/v3/')).toBe(true);
    }
  });

  it('reads the balance as decimal strings, leaving out zero balances', async () => {
    const balance = await account.fetchBalance();
    expect(balance.assets['USDT']).toEqual({ free: '100000', used: '0', total: '100000' });
    expect(balance.assets['BTC']).toEqual({ free: '2', used: '0', total: '2' });
  });

  it('reads the ticker', async () => {
    const ticker = await account.fetchTicker('BTC/USDT');
    expect(ticker).toMatchObject({ symbol: 'BTC/USDT', last: '60000', bid: '59999.99', ask: '60000.01' });
    expect(ticker.timestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('places a market order carrying the client order id, signed correctly', async () => {
    const clientOrderId = `cofre-mkt-${randomBytes(4).toString('hex')}`;
    const order = await account.placeOrder({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'market',
      amount: '0.01',
      price: undefined,
      clientOrderId,
    });
    expect(order).toMatchObject({
      clientOrderId,
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'market',
      status: 'closed',
      amount: '0.01',
      filled: '0.01',
      average: '60000',
    });

    const received = paper.requests().filter((r) => r.method === 'POST' && r.path === '/api/v3/order');
    const sent = received.find((r) => r.params['newClientOrderId'] === clientOrderId);
    expect(sent).toBeDefined();
    expect(sent?.verified).toBe(true);
    expect(sent?.apiKey).toBe(API_KEY);
    expect(sent?.params['quantity']).toBe('0.01');
    expect(sent?.params['quoteOrderQty']).toBeUndefined();
    expect(paper.orders().find((o) => o.clientOrderId === clientOrderId)).toMatchObject({
      orderId: Number(order.id),
      status: 'FILLED',
      executedQty: '0.01',
    });
  });

  it('places a limit order, finds it by id, by client order id and among open orders, and cancels it', async () => {
    const clientOrderId = `cofre-lmt-${randomBytes(4).toString('hex')}`;
    const placed = await account.placeOrder({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'limit',
      amount: '0.015',
      price: '50000.25',
      clientOrderId,
    });
    expect(placed).toMatchObject({
      clientOrderId,
      type: 'limit',
      status: 'open',
      price: '50000.25',
      filled: '0',
    });
    const sent = paper.requests().find((r) => r.params['newClientOrderId'] === clientOrderId);
    expect(sent).toMatchObject({ verified: true, params: { price: '50000.25', quantity: '0.015' } });

    expect(await account.fetchOrder('BTC/USDT', { orderId: placed.id })).toEqual(placed);
    expect(await account.fetchOrder('BTC/USDT', { clientOrderId })).toEqual(placed);
    expect((await account.fetchOpenOrders(undefined)).map((o) => o.clientOrderId)).toContain(clientOrderId);
    expect((await account.fetchOpenOrders('BTC/USDT')).map((o) => o.id)).toContain(placed.id);

    const canceled = await account.cancelOrder('BTC/USDT', { clientOrderId });
    expect(canceled).toMatchObject({ id: placed.id, clientOrderId, status: 'canceled' });
    expect((await account.fetchOpenOrders('BTC/USDT')).map((o) => o.id)).not.toContain(placed.id);
  });

  it("reports the order's own client id when canceling by venue id", async () => {
    const clientOrderId = `cofre-cxl-${randomBytes(4).toString('hex')}`;
    const placed = await account.placeOrder(restingSell(clientOrderId));
    const canceled = await account.cancelOrder('BTC/USDT', { orderId: placed.id });
    expect(canceled).toMatchObject({ id: placed.id, clientOrderId, status: 'canceled' });
  });

  it('reads an order reference by value: orderId undefined names the clientOrderId, and one naming neither sends nothing', async () => {
    const clientOrderId = `cofre-ref-${randomBytes(4).toString('hex')}`;
    const placed = await account.placeOrder(restingSell(clientOrderId));
    // What a caller building the reference from optional fields hands over.
    const ref = { orderId: undefined, clientOrderId } as unknown as OrderRef;
    expect(await account.fetchOrder('BTC/USDT', ref)).toMatchObject({ id: placed.id });
    const canceled = await account.cancelOrder('BTC/USDT', ref);
    expect(canceled).toMatchObject({ id: placed.id, clientOrderId, status: 'canceled' });
    const sent = paper.requests().length;
    const err = await failure(account.cancelOrder('BTC/USDT', { orderId: '' }));
    expect(err.code).toBe('COFRE_INPUT_INVALID');
    expect(paper.requests().length).toBe(sent);
  });

  it('maps a venue refusal to COFRE_VENUE_REJECTED with the venue code and no secrets', async () => {
    const err = await failure(account.placeOrder(marketBuy('cofre-too-big', '100')));
    expect(err.code).toBe('COFRE_VENUE_REJECTED');
    expect(err.category).toBe('invalid');
    expect(err.retryable).toBe(false);
    expect(err.details).toMatchObject({ error: 'InsufficientFunds', venueCode: '-2010', httpStatus: 400 });
    expect(err.details).toMatchObject({
      venueText: 'Account has insufficient balance for requested action.',
    });
    expectNoLeak(err, signaturesIn(paper.requests()));
  });

  it('maps an unknown order to COFRE_VENUE_REJECTED', async () => {
    const err = await failure(account.fetchOrder('BTC/USDT', { clientOrderId: 'no-such-order' }));
    expect(err.code).toBe('COFRE_VENUE_REJECTED');
    expect(err.details).toMatchObject({ error: 'OrderNotFound' });
    expectNoLeak(err, signaturesIn(paper.requests()));
  });

  it('refuses a malformed order before sending it', async () => {
    const before = paper.requests().length;
    const err = await failure(
      account.placeOrder({
        symbol: 'BTC/USDT',
        side: 'buy',
        type: 'limit',
        amount: '0.01',
        price: undefined,
        clientOrderId: 'cofre-no-price',
      }),
    );
    expect(err.code).toBe('COFRE_INPUT_INVALID');
    expect(paper.requests().length).toBe(before);
  });

  it('zeroes every credential it was handed, and keeps none on the ccxt instance', () => {
    expect(credentials.handedOut.length).toBeGreaterThan(0);
    expect(credentials.handedOut.every((v) => v.zeroed)).toBe(true);
    const exchange = ccxtExchangeOf(account)!;
    expect(exchange.apiKey).toBeUndefined();
    expect(exchange.secret).toBeUndefined();
    expect(exchange.last_request_headers).toBeUndefined();
    expect(exchange.last_request_url).toBeUndefined();
    expect(exchange.last_request_body).toBeUndefined();
    for (const name of Object.getOwnPropertyNames(exchange)) {
      const descriptor = Object.getOwnPropertyDescriptor(exchange, name);
      if (typeof descriptor?.value === 'string') expect(descriptor.value).not.toContain(API_KEY);
    }
    expect(JSON.stringify([exchange.headers, exchange.options])).not.toContain(API_KEY);
  });

  it('pins verbose off, rate limiting on, and refuses assigned credentials', () => {
    const exchange = ccxtExchangeOf(account)!;
    expect(() => {
      exchange.verbose = true;
    }).toThrow(TypeError);
    expect(exchange.verbose).toBe(false);
    expect(() => {
      exchange.enableRateLimit = false;
    }).toThrow(TypeError);
    expect(exchange.enableRateLimit).toBe(true);
    expect(() => {
      exchange.apiKey = 'x';
    }).toThrow(/per call/);
    expect(exchange.options['maxRetriesOnFailure']).toBe(0);
  });
});

describe('credentials', () => {
  it('are resolved per call, so a rotation takes effect without reopening', async () => {
    const source = credentialSource();
    const account = await openPaper(paper.url, source);
    try {
      expect((await account.fetchBalance()).assets['BTC']).toBeDefined();
      source.use({ apiKey: OTHER_KEY, secret: OTHER_SECRET });
      const balance = await account.fetchBalance();
      expect(balance.assets['BTC']).toBeUndefined();
      expect(balance.assets['USDT']?.total).toBe('5');
    } finally {
      await account.close();
    }
  });

  // Regression: a missing secret reached the agent as HTTP 404 with the secret's reference in the message.
  it('that cannot be read fail as unavailable, naming no reference, and send nothing', async () => {
    const before = paper.requests().length;
    const missing = (): Promise<VenueCredentials> =>
      Promise.reject(
        new CofreError('COFRE_SECRET_NOT_FOUND', 'secret local:exchanges/paper#apiKey does not exist'),
      );
    const account = await openVenueAccount('paper-main', paperConfig(paper.url), missing);
    try {
      const err = await failure(account.placeOrder(marketBuy('no-keys-1', '0.01')));
      expect(err).toMatchObject({ code: 'COFRE_CREDENTIALS_UNAVAILABLE', retryable: true });
      expect(err.message).not.toContain('exchanges/paper');
      expect(isCofreError(err.cause, 'COFRE_SECRET_NOT_FOUND')).toBe(true);
      expect(
        paper
          .requests()
          .slice(before)
          .filter((r) => r.signed),
      ).toEqual([]);
    } finally {
      await account.close();
    }
  });

  it('are isolated per call: concurrent calls with different credentials each sign with their own', async () => {
    // No per-account lock: each call reads its own credentials from its async context while ccxt signs.
    let next = 0;
    const handedOut: SecretValue[] = [];
    const kinds: string[] = [];
    const alternate = (): Promise<VenueCredentials> => {
      const useMain = next++ % 2 === 0;
      kinds.push(useMain ? 'main' : 'other');
      const apiKey = SecretValue.fromText(useMain ? API_KEY : OTHER_KEY);
      const secret = SecretValue.fromText(useMain ? SECRET : OTHER_SECRET);
      handedOut.push(apiKey, secret);
      return Promise.resolve({ apiKey, secret });
    };
    const account = await openVenueAccount('paper-mixed', paperConfig(paper.url), alternate);
    try {
      const balances = await Promise.all(Array.from({ length: 6 }, () => account.fetchBalance()));
      // Calls ask for credentials in the order they were made (they all wait on the same market load first).
      expect(balances.map((b) => (b.assets['BTC'] === undefined ? 'other' : 'main'))).toEqual(kinds);
      expect(kinds).toContain('main');
      expect(kinds).toContain('other');
      expect(handedOut.every((v) => v.zeroed)).toBe(true);
    } finally {
      await account.close();
    }
  });

  it('are not asked for by public calls', async () => {
    const source = credentialSource();
    const account = await openPaper(paper.url, source);
    try {
      await account.fetchTicker('BTC/USDT');
      await account.market('BTC/USDT');
      expect(source.handedOut).toEqual([]);
    } finally {
      await account.close();
    }
  });

  it('a wrong secret gives COFRE_VENUE_AUTH_FAILED without leaking the key, secret or signature', async () => {
    const account = await openPaper(
      paper.url,
      credentialSource({ apiKey: API_KEY, secret: `${SECRET}-wrong` }),
    );
    try {
      const err = await failure(account.fetchBalance());
      expect(err.code).toBe('COFRE_VENUE_AUTH_FAILED');
      expect(err.category).toBe('denied');
      expect(err.details).toMatchObject({ venueCode: '-1022' });
      expectNoLeak(err, signaturesIn(paper.requests()));
    } finally {
      await account.close();
    }
  });

  it('an unknown API key gives COFRE_VENUE_AUTH_FAILED', async () => {
    const account = await openPaper(paper.url, credentialSource({ apiKey: 'UnknownKey123', secret: SECRET }));
    try {
      const err = await failure(account.fetchBalance());
      expect(err.code).toBe('COFRE_VENUE_AUTH_FAILED');
      expectNoLeak(err, signaturesIn(paper.requests()));
    } finally {
      await account.close();
    }
  });
});

describe('writes are never retried', () => {
  it('a dropped connection on a new order is COFRE_VENUE_OUTCOME_UNKNOWN after exactly one POST', async () => {
    const proxy = await startDroppingProxy(
      paper.url,
      (method, path) => method === 'POST' && path === '/api/v3/order',
    );
    const account = await openPaper(proxy.url);
    const ordersBefore = paper.orders().length;
    try {
      const err = await failure(account.placeOrder(marketBuy('cofre-dropped-1')));
      expect(err.code).toBe('COFRE_VENUE_OUTCOME_UNKNOWN');
      expect(err.retryable).toBe(false);
      const posts = proxy.seen.filter((r) => r.method === 'POST' && r.path === '/api/v3/order');
      expect(posts).toHaveLength(1);
      expect(posts[0]?.body).toContain('newClientOrderId=cofre-dropped-1');
      expect(paper.orders().length).toBe(ordersBefore);
      expectNoLeak(err, signaturesIn(proxy.seen));
    } finally {
      await account.close();
      await proxy.stop();
    }
  });

  it('even when ccxt is told to retry (a per-path option), the second attempt is refused', async () => {
    await throughDroppingProxy(
      (method, path) => method === 'POST' && path === '/api/v3/order',
      async (account, proxy) => {
        // binance's createOrder sends to the API path "order"; ccxt reads options[<path>] before the global option.
        ccxtExchangeOf(account)!.options['order'] = { maxRetriesOnFailure: 3 };
        const err = await failure(account.placeOrder(marketBuy('cofre-dropped-2')));
        expect(err.code).toBe('COFRE_VENUE_OUTCOME_UNKNOWN');
        expect(proxy.seen.filter((r) => r.method === 'POST' && r.path === '/api/v3/order')).toHaveLength(1);
        expectNoLeak(err, signaturesIn(proxy.seen));
      },
    );
  });

  it('a dropped cancel is COFRE_VENUE_OUTCOME_UNKNOWN too', async () => {
    await throughDroppingProxy(
      (method, path) => method === 'DELETE' && path === '/api/v3/order',
      async (account, proxy) => {
        const err = await failure(account.cancelOrder('BTC/USDT', { clientOrderId: 'whatever' }));
        expect(err.code).toBe('COFRE_VENUE_OUTCOME_UNKNOWN');
        expect(proxy.seen.filter((r) => r.method === 'DELETE')).toHaveLength(1);
      },
    );
  });

  it('a dropped read is COFRE_VENUE_UNAVAILABLE (retryable), sent once, and leaks no signature', async () => {
    await throughDroppingProxy(
      (method, path) => method === 'GET' && path === '/api/v3/account',
      async (account, proxy) => {
        const err = await failure(account.fetchBalance());
        expect(err.code).toBe('COFRE_VENUE_UNAVAILABLE');
        expect(err.retryable).toBe(true);
        expect(proxy.seen.filter((r) => r.path === '/api/v3/account')).toHaveLength(1);
        // The dropped GET carried its signature in the query string, which ccxt's own message quotes.
        const signatures = signaturesIn(proxy.seen);
        expect(signatures.length).toBeGreaterThan(0);
        expectNoLeak(err, signatures);
      },
    );
  });

  it('a failed market load is retried on the next call, not cached', async () => {
    let dropping = true;
    const proxy = await startDroppingProxy(
      paper.url,
      (_method, path) => dropping && path === '/api/v3/exchangeInfo',
    );
    const account = await openPaper(proxy.url);
    try {
      const err = await failure(account.market('BTC/USDT'));
      expect(err.code).toBe('COFRE_VENUE_UNAVAILABLE');
      dropping = false;
      expect((await account.market('BTC/USDT')).symbol).toBe('BTC/USDT');
    } finally {
      await account.close();
      await proxy.stop();
    }
  });
});

describe('hosts are checked against the mode', () => {
  it('refuses a request to a host tampered into urls after opening, before it is sent', async () => {
    const seen: VenueRequestInfo[] = [];
    const account = await openPaper(paper.url, credentialSource(), { onRequest: (r) => seen.push(r) });
    try {
      await account.market('BTC/USDT');
      const exchange = ccxtExchangeOf(account)!;
      (exchange.urls.api as Record<string, string>)['private'] = 'https://evil.example.com/api/v3';
      const before = paper.requests().length;
      const err = await failure(account.fetchBalance());
      expect(err.code).toBe('COFRE_VENUE_HOST_REFUSED');
      expect(err.message).toContain('https://evil.example.com');
      expect(paper.requests().length).toBe(before);
      expect(seen.some((r) => r.origin.includes('evil'))).toBe(false);
      expectNoLeak(err);
    } finally {
      await account.close();
    }
  });

  it('refuses a tampered write before it is sent: no order, no outcome-unknown', async () => {
    const account = await openPaper();
    try {
      await account.market('BTC/USDT');
      (ccxtExchangeOf(account)!.urls.api as Record<string, string>)['private'] = 'http://127.0.0.2:9/api/v3';
      const err = await failure(account.placeOrder(marketBuy('cofre-tampered')));
      expect(err.code).toBe('COFRE_VENUE_HOST_REFUSED');
    } finally {
      await account.close();
    }
  });

  it('refuses requests through a proxy set on the ccxt instance', async () => {
    const account = await openPaper();
    try {
      ccxtExchangeOf(account)!.httpsProxy = 'http://127.0.0.1:9';
      const err = await failure(account.fetchTicker('BTC/USDT'));
      expect(err.code).toBe('COFRE_VENUE_HOST_REFUSED');
      expect(err.message).toContain('httpsProxy');
    } finally {
      await account.close();
    }
  });

  it('rewrites every binance API section to the paper base URL', async () => {
    const account = await openPaper();
    try {
      const api = ccxtExchangeOf(account)!.urls.api as Record<string, string>;
      expect(Object.keys(api)).toEqual(
        expect.arrayContaining(['public', 'private', 'v1', 'sapi', 'fapiPublic']),
      );
      for (const url of Object.values(api)) expect(url.startsWith(`${paper.url}/`)).toBe(true);
      expect(api['private']).toBe(`${paper.url}/api/v3`);
      expect(api['sapi']).toBe(`${paper.url}/sapi/v1`);
    } finally {
      await account.close();
    }
  });

  it('paper mode needs a baseUrl', async () => {
    const err = await failure(
      openVenueAccount('p', { venue: 'binance', mode: 'paper', credentials: REFS }, credentialSource().get),
    );
    expect(err.code).toBe('COFRE_VENUE_HOST_REFUSED');
  });

  it('live mode refuses a baseUrl (the config refuses it too)', async () => {
    const err = await failure(
      openVenueAccount(
        'l',
        { venue: 'binance', mode: 'live', baseUrl: paper.url, credentials: REFS },
        credentialSource().get,
      ),
    );
    expect(err.code).toBe('COFRE_VENUE_HOST_REFUSED');
    expect(err.message).toContain('only allowed in paper mode');
  });

  it('sandbox mode refuses a baseUrl', async () => {
    const err = await failure(
      openVenueAccount(
        's',
        { venue: 'binance', mode: 'sandbox', baseUrl: paper.url, credentials: REFS },
        credentialSource().get,
      ),
    );
    expect(err.code).toBe('COFRE_VENUE_HOST_REFUSED');
  });

  it('live mode talks only to the production hosts ccxt lists (checked without a request)', async () => {
    const account = await openVenueAccount(
      'l',
      { venue: 'binance', mode: 'live', credentials: REFS },
      credentialSource().get,
    );
    try {
      const api = ccxtExchangeOf(account)!.urls.api as Record<string, string>;
      expect(api['private']).toBe('https://api.binance.com/api/v3');
    } finally {
      await account.close();
    }
  });

  it('sandbox mode on binance points every API URL at its test network (checked without a request)', async () => {
    const account = await openVenueAccount(
      's',
      { venue: 'binance', mode: 'sandbox', credentials: REFS },
      credentialSource().get,
    );
    try {
      const exchange = ccxtExchangeOf(account)!;
      const test = new Set(Object.values(exchange.urls.test));
      for (const url of Object.values(exchange.urls.api)) expect(test.has(url)).toBe(true);
      expect(exchange.urls.api['private']).toBe('https://testnet.binance.vision/api/v3');
    } finally {
      await account.close();
    }
  });

  // kraken has no urls.test and the base setSandboxMode throws. (bitget, not reviewed yet, is the other kind: no
  // urls.test, and a setSandboxMode that only sets an option (demo-trading header) while keeping production hosts.)
  it.each(['kraken'])(
    'sandbox mode on %s (no test URL) is COFRE_VENUE_SANDBOX_UNSUPPORTED, without any network activity',
    async (venue) => {
      const sockets: unknown[] = [];
      const onActivity = (message: unknown): void => {
        sockets.push(message);
      };
      const channels = ['net.client.socket', 'undici:request:create', 'undici:client:beforeConnect'];
      for (const name of channels) subscribe(name, onActivity);
      const seen: VenueRequestInfo[] = [];
      const source = credentialSource();
      try {
        const err = await failure(
          openVenueAccount('s', { venue, mode: 'sandbox', credentials: REFS }, source.get, {
            onRequest: (r) => seen.push(r),
          }),
        );
        expect(err.code).toBe('COFRE_VENUE_SANDBOX_UNSUPPORTED');
        expect(err.message).toContain(venue);
      } finally {
        for (const name of channels) unsubscribe(name, onActivity);
      }
      expect(sockets).toEqual([]);
      expect(seen).toEqual([]);
      expect(source.handedOut).toEqual([]);
    },
  );
});

describe('lifecycle', () => {
  // Regression: any ccxt venue was accepted, including those that log in and keep the session token on the shared
  // instance (ndax sessionToken, paradex authToken, grvt cookie, bullish JWT), across calls and key rotations.
  it('a venue not reviewed for how it holds credentials is COFRE_VENUE_UNREVIEWED, before any credential is read', async () => {
    for (const venue of ['ndax', 'paradex', 'grvt', 'bullish', 'bitget']) {
      const source = credentialSource();
      const err = await failure(
        openVenueAccount('x', { venue, mode: 'live', credentials: REFS }, source.get),
      );
      expect(err.code).toBe('COFRE_VENUE_UNREVIEWED');
      expect(err.message).toContain(`venue "${venue}"`);
      expect(err.message).toContain('binance');
      expect(source.handedOut).toEqual([]);
    }
  });

  it('an unknown venue is COFRE_VENUE_UNKNOWN', async () => {
    for (const venue of ['nosuchexchange', 'constructor', '__proto__']) {
      const err = await failure(
        openVenueAccount('x', { venue, mode: 'live', credentials: REFS }, credentialSource().get),
      );
      expect(err.code).toBe('COFRE_VENUE_UNKNOWN');
    }
  });

  it('a closed account refuses calls', async () => {
    const account = await openPaper();
    await account.close();
    await account.close();
    const err = await failure(account.fetchTicker('BTC/USDT'));
    expect(err.code).toBe('COFRE_VENUE_CLOSED');
    expect(isCofreError(err)).toBe(true);
  });
});

describe('the request deadline and the rate window (issue 8, item 17)', () => {
  // Regression: a write that waited two minutes in ccxt's rate limiter was still sent after its caller gave up.
  it('does not send a write whose request deadline passed before its first request could leave', async () => {
    const account = await openPaper();
    try {
      await account.market('BTC/USDT');
      // Stands for a write that waited in ccxt's rate limiter until after its deadline.
      const late = runInRequestContext({ deadline: Date.now() - 1, priority: 'write' }, () =>
        account.placeOrder(marketBuy('cofre-too-late')),
      );
      const err = await failure(late);
      expect(err.code).toBe('COFRE_REQUEST_DEADLINE_EXCEEDED');
      expect(err.retryable).toBe(true);
      expect(err.message).toMatch(/nothing was sent/);
      expect(paper.requests().some((r) => r.params['newClientOrderId'] === 'cofre-too-late')).toBe(false);
    } finally {
      await account.close();
    }
  });

  it("reports how full ccxt's rolling window is", async () => {
    const account = (await openPaper()) as VenueAccount & RateWindowSource;
    try {
      await account.market('BTC/USDT');
      const before = account.rateWindow();
      await account.fetchOpenOrders(undefined);
      const after = account.rateWindow();
      // binance: rateLimit 50 ms over a 60 s window; openOrders without a symbol costs 16.
      expect(after?.limit).toBe(1200);
      expect((after?.used ?? 0) - (before?.used ?? 0)).toBe(16);
      expect(after?.freesAt).toBeGreaterThan(Date.now());
    } finally {
      await account.close();
    }
  });
});

describe('a share of the venue rate (serve --workers N)', () => {
  it("gives each of N processes 1/N of the rolling window's weight, and refuses a share out of (0, 1]", async () => {
    const half = (await openPaper(paper.url, credentialSource(), { rateShare: 0.5 })) as VenueAccount &
      RateWindowSource;
    const whole = (await openPaper()) as VenueAccount & RateWindowSource;
    try {
      await Promise.all([half.market('BTC/USDT'), whole.market('BTC/USDT')]);
      // binance: rateLimit 50 ms over a 60 s window, 1200 weight; half of it for each of two workers.
      expect(whole.rateWindow()?.limit).toBe(1200);
      expect(half.rateWindow()?.limit).toBe(600);
    } finally {
      await Promise.all([half.close(), whole.close()]);
    }
    for (const rateShare of [0, 1.5, Number.NaN]) {
      await expect(openPaper(paper.url, credentialSource(), { rateShare })).rejects.toMatchObject({
        code: 'COFRE_INPUT_INVALID',
      });
    }
  });
});

describe('withdrawals and cancel-all (issue 9)', () => {
  const ADDRESS = 'TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE';
  const SHORT_ADDRESS = 'rDsbeomae4FXwgQTJp9Rs'; // under the 24 characters the generic cleaning hides
  const MEMO = '873344221';
  let multi: PaperExchange;

  const withdrawal = (over: Partial<WithdrawalRequest> = {}): WithdrawalRequest => ({
    asset: 'USDT',
    amount: '25.5',
    address: ADDRESS,
    network: 'TRC20',
    memo: MEMO,
    clientWithdrawId: 'cofre-w-1',
    ...over,
  });
  const newRecord = (): VenueCallRecord => ({ held: [], writeSent: false });
  const withdrawPosts = <R extends { method: string; path: string }>(requests: readonly R[]): R[] =>
    requests.filter((r) => r.method === 'POST' && r.path === '/sapi/v1/capital/withdraw/apply');
  /** SECURITY: the destination appears nowhere a caller could see. */
  const expectNoDestination = (seen: unknown, address = ADDRESS): void => {
    const text =
      seen instanceof Error
        ? `${seen.message}\n${inspect(seen, { depth: 10 })}\n${JSON.stringify(seen)}`
        : JSON.stringify(seen);
    expect(text).not.toContain(address);
    expect(text).not.toContain(MEMO);
  };

  beforeAll(async () => {
    multi = await startPaperExchange({
      accounts: [{ apiKey: API_KEY, secret: SECRET, balances: { USDT: '1000', ETH: '1' } }],
      symbols: [BTCUSDT, ETHUSDT],
      prices: { BTCUSDT: '60000', ETHUSDT: '3000' },
    });
  });
  afterAll(async () => {
    await multi.stop();
  });

  it('withdraws: one signed request with the client id, the free balance debited, no destination in the result', async () => {
    const account = await openPaper(multi.url);
    try {
      const record = newRecord();
      const result = await account.withdraw(withdrawal(), record);
      const [recorded] = multi.withdrawals();
      expect(result).toEqual({
        id: recorded?.id,
        asset: 'USDT',
        amount: '25.5',
        network: 'TRC20',
        status: 'pending',
        timestamp: undefined,
      });
      expect(recorded).toMatchObject({ coin: 'USDT', amount: '25.5', network: 'TRX', address: ADDRESS });
      expect(recorded).toMatchObject({ addressTag: MEMO, withdrawOrderId: 'cofre-w-1' });
      expect(withdrawPosts(multi.requests())).toHaveLength(1);
      expect(multi.balances(API_KEY)['USDT']?.free).toBe('974.5');
      expect(record.writeSent).toBe(true);
      expect(record.held.map((v) => v.text())).toEqual([API_KEY, SECRET]);
      expectNoDestination(result);
    } finally {
      await account.close();
    }
  });

  it('refuses, sending nothing, an amount ccxt would round, an asset the venue lacks and a malformed address', async () => {
    const account = await openPaper(multi.url);
    try {
      const before = multi.requests().length;
      const record = newRecord();
      const cases: [Partial<WithdrawalRequest>, RegExp][] = [
        [{ amount: '1.123456789' }, /more decimals than the venue takes/],
        [{ amount: '0' }, /amount must be a positive decimal/],
        [{ asset: 'XYZ' }, /lists no asset XYZ/],
        [{ asset: 'constructor' }, /lists no asset constructor/],
        [{ address: 'T has space' }, /address in the address book is malformed/],
        [{ memo: 'two words' }, /memo in the address book is malformed/],
      ];
      for (const [change, message] of cases) {
        const err = await failure(account.withdraw(withdrawal(change), record));
        expect(err.code, message.source).toBe('COFRE_INPUT_INVALID');
        expect(err.message).toMatch(message);
        expectNoDestination(err, change.address ?? ADDRESS);
      }
      // Market loading may have happened; no withdrawal was sent.
      expect(withdrawPosts(multi.requests().slice(before))).toHaveLength(0);
      expect(record.writeSent).toBe(false);
    } finally {
      await account.close();
    }
  });

  it('maps a refusal to COFRE_VENUE_REJECTED, naming neither key nor destination', async () => {
    const account = await openPaper(multi.url);
    try {
      const err = await failure(account.withdraw(withdrawal({ amount: '100000' })));
      expect(err.code).toBe('COFRE_VENUE_REJECTED');
      expect(err.details).toMatchObject({ venueCode: '-4026', operation: 'withdraw' });
      expectNoLeak(err, signaturesIn(multi.requests()));
      expectNoDestination(err);
    } finally {
      await account.close();
    }
  });

  it("drops the venue's text when it quotes the destination", async () => {
    const quoting = await startDroppingProxy(
      multi.url,
      () => false,
      (method, path) =>
        method === 'POST' && path === '/sapi/v1/capital/withdraw/apply'
          ? { status: 400, body: { code: -4007, msg: `Address ${SHORT_ADDRESS} tag ${MEMO} is not valid.` } }
          : undefined,
    );
    const account = await openPaper(quoting.url);
    try {
      const err = await failure(account.withdraw(withdrawal({ address: SHORT_ADDRESS })));
      expect(err.code).toBe('COFRE_VENUE_REJECTED');
      expect(err.details?.['venueCode']).toBe('-4007');
      expect(err.details?.['venueText']).toBeUndefined();
      expectNoDestination(err, SHORT_ADDRESS);
    } finally {
      await account.close();
      await quoting.stop();
    }
  });

  it('a dropped withdrawal is COFRE_VENUE_OUTCOME_UNKNOWN after exactly one POST, never retried', async () => {
    await throughDroppingProxy(
      (method, path) => method === 'POST' && path === '/sapi/v1/capital/withdraw/apply',
      async (account, proxy) => {
        const record = newRecord();
        const err = await failure(account.withdraw(withdrawal({ clientWithdrawId: 'cofre-w-lost' }), record));
        expect(err.code).toBe('COFRE_VENUE_OUTCOME_UNKNOWN');
        expect(err.message).toMatch(/withdrawal history/);
        expect(record.writeSent).toBe(true);
        const posts = withdrawPosts(proxy.seen);
        expect(posts).toHaveLength(1);
        expect(posts[0]?.body).toContain('withdrawOrderId=cofre-w-lost');
        expectNoLeak(err, signaturesIn(proxy.seen));
        expectNoDestination(err);
        // Even when ccxt is told to retry this API path, the second attempt is refused.
        ccxtExchangeOf(account)!.options['capital/withdraw/apply'] = { maxRetriesOnFailure: 3 };
        const again = await failure(account.withdraw(withdrawal({ clientWithdrawId: 'cofre-w-lost-2' })));
        expect(again.code).toBe('COFRE_VENUE_OUTCOME_UNKNOWN');
        expect(again.message).toMatch(/withdrawal history/);
        expect(withdrawPosts(proxy.seen)).toHaveLength(2);
        expect(paper.withdrawals()).toEqual([]);
      },
    );
  });

  it('finds a withdrawal by its client id: one the venue took though the answer was lost, and none for one it never got', async () => {
    const proxy = await startDroppingProxy(multi.url, (method, path) =>
      method === 'POST' && path === '/sapi/v1/capital/withdraw/apply' ? 'after-forwarding' : false,
    );
    const account = await openPaper(proxy.url);
    try {
      const err = await failure(account.withdraw(withdrawal({ clientWithdrawId: 'cofre-w-reconcile' })));
      expect(err.code).toBe('COFRE_VENUE_OUTCOME_UNKNOWN');
      const taken = multi.withdrawals().find((w) => w.withdrawOrderId === 'cofre-w-reconcile');
      expect(taken).toBeDefined();
      const record = newRecord();
      const found = await account.fetchWithdrawal(
        { asset: 'USDT', clientWithdrawId: 'cofre-w-reconcile' },
        record,
      );
      expect(found).toEqual({
        id: taken?.id,
        asset: 'USDT',
        amount: '25.5',
        network: 'TRC20',
        status: 'pending',
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as string,
      });
      expect(record.writeSent).toBe(false);
      expectNoDestination(found);
      expect(
        await account.fetchWithdrawal({ asset: 'USDT', clientWithdrawId: 'cofre-w-never-sent' }),
      ).toBeUndefined();
      const malformed = await failure(account.fetchWithdrawal({ asset: 'USDT', clientWithdrawId: 'a b' }));
      expect(malformed.code).toBe('COFRE_INPUT_INVALID');
    } finally {
      await account.close();
      await proxy.stop();
    }
  });

  it('does not take another withdrawal for its own when the venue ignores the client-id filter', async () => {
    const other = {
      id: 'f00d',
      amount: '1',
      coin: 'USDT',
      status: 6,
      address: ADDRESS,
      txId: '',
      applyTime: '2026-11-30 04:00:00',
      network: 'TRX',
      transferType: 0,
      withdrawOrderId: 'someone-else',
    };
    const ignoring = await startDroppingProxy(
      multi.url,
      () => false,
      (method, path) =>
        method === 'GET' && path === '/sapi/v1/capital/withdraw/history'
          ? { status: 200, body: [other] }
          : undefined,
    );
    const account = await openPaper(ignoring.url);
    try {
      expect(await account.fetchWithdrawal({ asset: 'USDT', clientWithdrawId: 'mine' })).toBeUndefined();
      expect(
        await account.fetchWithdrawal({ asset: 'USDT', clientWithdrawId: 'someone-else' }),
      ).toMatchObject({
        id: 'f00d',
        status: 'ok',
      });
    } finally {
      await account.close();
      await ignoring.stop();
    }
  });

  /** A resting limit buy (below the price) on `symbol`. */
  const restingBuy = (symbol: string, clientOrderId: string, price: string): OrderRequest => ({
    symbol,
    side: 'buy',
    type: 'limit',
    amount: symbol === 'BTC/USDT' ? '0.001' : '0.01',
    price,
    clientOrderId,
  });
  const cancelAllDeletes = <R extends { method: string; path: string }>(requests: readonly R[]): R[] =>
    requests.filter((r) => r.method === 'DELETE' && r.path === '/api/v3/openOrders');

  it("cancels all on one symbol with the orders' own client ids, and [] when none is open", async () => {
    const account = await openPaper(multi.url);
    try {
      await account.placeOrder(restingBuy('BTC/USDT', 'ca-1', '50000'));
      await account.placeOrder(restingBuy('BTC/USDT', 'ca-2', '51000'));
      const record = newRecord();
      const cancelled = await account.cancelAllOrders('BTC/USDT', record);
      expect(cancelled.map((o) => [o.clientOrderId, o.status]).sort()).toEqual([
        ['ca-1', 'canceled'],
        ['ca-2', 'canceled'],
      ]);
      expect(record.writeSent).toBe(true);
      expect(
        multi
          .orders()
          .filter((o) => o.clientOrderId.startsWith('ca-'))
          .map((o) => o.status),
      ).toEqual(['CANCELED', 'CANCELED']);
      expect(await account.cancelAllOrders('BTC/USDT')).toEqual([]);
    } finally {
      await account.close();
    }
  });

  it('without a symbol, cancels on every symbol with open orders, one cancel-all each', async () => {
    const account = await openPaper(multi.url);
    try {
      await account.placeOrder(restingBuy('BTC/USDT', 'cb-1', '50000'));
      await account.placeOrder(restingBuy('ETH/USDT', 'cb-2', '2500'));
      const before = multi.requests().length;
      const cancelled = await account.cancelAllOrders(undefined);
      expect(cancelled.map((o) => o.clientOrderId).sort()).toEqual(['cb-1', 'cb-2']);
      expect(multi.orders().filter((o) => o.status === 'NEW')).toEqual([]);
      const deletes = cancelAllDeletes(multi.requests().slice(before));
      expect(deletes.map((r) => r.params['symbol']).sort()).toEqual(['BTCUSDT', 'ETHUSDT']);
      // Nothing open: one listing, no cancel sent.
      const quiet = multi.requests().length;
      expect(await account.cancelAllOrders(undefined)).toEqual([]);
      expect(cancelAllDeletes(multi.requests().slice(quiet))).toHaveLength(0);
    } finally {
      await account.close();
    }
  });

  it("where the venue's cancel-all is not per symbol, cancels each open order of the symbol, and skips one already gone", async () => {
    const account = await openPaper(multi.url);
    try {
      ccxtExchangeOf(account)!.has['cancelAllOrders'] = false; // as on okx; kraken's ignores the symbol
      await account.placeOrder(restingBuy('BTC/USDT', 'ce-1', '50000'));
      await account.placeOrder(restingBuy('BTC/USDT', 'ce-2', '51000'));
      await account.placeOrder(restingBuy('ETH/USDT', 'ce-3', '2500'));
      const before = multi.requests().length;
      const cancelled = await account.cancelAllOrders('BTC/USDT');
      expect(cancelled.map((o) => o.clientOrderId).sort()).toEqual(['ce-1', 'ce-2']);
      const sent = multi.requests().slice(before);
      expect(sent.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual([
        '/api/v3/order',
        '/api/v3/order',
      ]);
      expect(multi.orders().find((o) => o.clientOrderId === 'ce-3')?.status).toBe('NEW');
      expect((await account.cancelAllOrders(undefined)).map((o) => o.clientOrderId)).toEqual(['ce-3']);
    } finally {
      await account.close();
    }
    // An order filled or cancelled between the listing and its cancel is no longer open: not a failure.
    const gone = await startDroppingProxy(
      multi.url,
      () => false,
      (method, path) =>
        method === 'DELETE' && path === '/api/v3/order'
          ? { status: 400, body: { code: -2011, msg: 'Unknown order sent.' } }
          : undefined,
    );
    const late = await openPaper(gone.url);
    try {
      ccxtExchangeOf(late)!.has['cancelAllOrders'] = false;
      await late.placeOrder(restingBuy('BTC/USDT', 'ce-4', '50000'));
      expect(await late.cancelAllOrders('BTC/USDT')).toEqual([]);
    } finally {
      await late.cancelAllOrders(undefined).catch(() => undefined);
      await late.close();
      await gone.stop();
      const cleanup = await openPaper(multi.url);
      await cleanup.cancelAllOrders(undefined);
      await cleanup.close();
    }
  });

  it('tries every symbol when one fails, and says which were cancelled', async () => {
    let dropped = 0;
    const proxy = await startDroppingProxy(
      multi.url,
      (method, path) => method === 'DELETE' && path === '/api/v3/openOrders' && dropped++ === 0,
    );
    const account = await openPaper(proxy.url);
    try {
      await account.placeOrder(restingBuy('BTC/USDT', 'cc-1', '50000'));
      await account.placeOrder(restingBuy('ETH/USDT', 'cc-2', '2500'));
      const err = await failure(account.cancelAllOrders(undefined));
      // The first symbol's answer was lost: its outcome is unknown, and the error says so first.
      expect(err.code).toBe('COFRE_VENUE_OUTCOME_UNKNOWN');
      expect(err.details).toMatchObject({ cancelled: ['ETH/USDT'], failed: ['BTC/USDT'] });
      expect(err.message).toMatch(/cancelled on ETH\/USDT; failed on BTC\/USDT/);
      expect(multi.orders().find((o) => o.clientOrderId === 'cc-2')?.status).toBe('CANCELED');
      expect(cancelAllDeletes(proxy.seen)).toHaveLength(2);
      expectNoLeak(err, signaturesIn(proxy.seen));
    } finally {
      await account.cancelAllOrders(undefined);
      await account.close();
      await proxy.stop();
    }
  });
});
