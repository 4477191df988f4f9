import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { isCofreError } from '../errors.js';
import { type PaperExchange, startPaperExchange } from '../paper-exchange/paper-exchange.js';
import { BTCUSDT, ETHUSDT } from '../paper-exchange/spot-markets.js';
import { SecretValue } from '../secrets/secret-value.js';
import { openVenueAccount } from './ccxt-venue-account.js';
import { ReferencePrices } from './reference-prices.js';
import { startDroppingProxy } from './testdata/dropping-proxy.js';
import type { VenueAccount } from './venue-account.js';

const KEY = 'refPriceKey1';
const SECRET = 'ref-price-secret';
let paper: PaperExchange;

beforeAll(async () => {
  paper = await startPaperExchange({
    accounts: [{ apiKey: KEY, secret: SECRET, balances: { USDT: '1000' } }],
    symbols: [BTCUSDT, ETHUSDT],
    prices: { BTCUSDT: '60000', ETHUSDT: '3000' },
  });
});
afterAll(async () => {
  await paper.stop();
});

function open(id: string, baseUrl = paper.url): Promise<VenueAccount> {
  return openVenueAccount(
    id,
    { venue: 'binance', mode: 'paper', baseUrl, credentials: { apiKey: 'local:k', secret: 'local:s' } },
    () => Promise.resolve({ apiKey: SecretValue.fromText(KEY), secret: SecretValue.fromText(SECRET) }),
  );
}

/** Ticker requests the paper exchange has received (ccxt's binance fetchTicker reads /api/v3/ticker/24hr). */
const tickerRequests = (): number =>
  paper.requests().filter((r) => r.path.startsWith('/api/v3/ticker')).length;

describe('ReferencePrices', () => {
  it('a burst of concurrent lookups of one symbol costs one ticker request at the exchange', async () => {
    const account = await open('burst');
    try {
      await account.market('BTC/USDT'); // markets loaded: only ticker requests are counted below
      const prices = new ReferencePrices({ maxAgeMs: 1_000, now: () => 5_000 });
      const before = tickerRequests();
      const burst = await Promise.all(Array.from({ length: 50 }, () => prices.get(account, 'BTC/USDT')));
      expect(tickerRequests() - before).toBe(1);
      expect(new Set(burst.map((p) => p.price))).toEqual(new Set(['60000']));
      expect(burst[0]).toMatchObject({ fetchedAt: 5_000, ageMs: 0 });
      // Later lookups within the age cost nothing either.
      await prices.get(account, 'BTC/USDT');
      expect(tickerRequests() - before).toBe(1);
    } finally {
      await account.close();
    }
  });

  it('keys by account and symbol', async () => {
    const a = await open('key-a');
    const b = await open('key-b');
    try {
      const prices = new ReferencePrices({ maxAgeMs: 60_000, now: () => 0 });
      const before = tickerRequests();
      const [btc, eth] = await Promise.all([prices.get(a, 'BTC/USDT'), prices.get(a, 'ETH/USDT')]);
      await prices.get(b, 'BTC/USDT');
      expect([btc.price, eth.price]).toEqual(['60000', '3000']);
      expect(tickerRequests() - before).toBe(3);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('asks again once the price is older than the max age (injected clock), and reports its age', async () => {
    const account = await open('expiry');
    const clock = { t: 1_000_000 };
    try {
      const prices = new ReferencePrices({ maxAgeMs: 1_000, now: () => clock.t });
      const before = tickerRequests();
      expect((await prices.get(account, 'ETH/USDT')).price).toBe('3000');
      paper.setPrice('ETHUSDT', '3100');
      clock.t += 1_000;
      // Exactly the max age: still used, and said to be that old.
      expect(await prices.get(account, 'ETH/USDT')).toMatchObject({ price: '3000', ageMs: 1_000 });
      expect(tickerRequests() - before).toBe(1);
      clock.t += 1;
      expect(await prices.get(account, 'ETH/USDT')).toMatchObject({ price: '3100', ageMs: 0 });
      expect(tickerRequests() - before).toBe(2);
    } finally {
      paper.setPrice('ETHUSDT', '3000');
      await account.close();
    }
  });

  it('does not cache a failure: those that shared the failed request get its error, the next lookup asks again', async () => {
    let dropNext = true;
    const proxy = await startDroppingProxy(paper.url, (_method, path) => {
      if (!path.startsWith('/api/v3/ticker') || !dropNext) return false;
      dropNext = false;
      return true;
    });
    const account = await open('failure', proxy.url);
    try {
      const prices = new ReferencePrices({ maxAgeMs: 60_000, now: () => 0 });
      const failed = await Promise.allSettled([
        prices.get(account, 'BTC/USDT'),
        prices.get(account, 'BTC/USDT'),
      ]);
      for (const outcome of failed) {
        expect(outcome.status).toBe('rejected');
        const reason: unknown = outcome.status === 'rejected' ? outcome.reason : undefined;
        expect(isCofreError(reason, 'COFRE_VENUE_UNAVAILABLE')).toBe(true);
      }
      expect(proxy.seen.filter((r) => r.path.startsWith('/api/v3/ticker'))).toHaveLength(1);
      expect((await prices.get(account, 'BTC/USDT')).price).toBe('60000');
      expect(proxy.seen.filter((r) => r.path.startsWith('/api/v3/ticker'))).toHaveLength(2);
    } finally {
      await account.close();
      await proxy.stop();
    }
  });

  it('refuses a negative or fractional max age', () => {
    expect(() => new ReferencePrices({ maxAgeMs: -1 })).toThrow(/maxAgeMs/);
    expect(() => new ReferencePrices({ maxAgeMs: 0.5 })).toThrow(/maxAgeMs/);
  });
});
