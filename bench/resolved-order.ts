// The resolve-the-order step of issue 9 (market rules + reference price + normalizeOrder), per order, in steady
// state: what it adds to an order, and proof that it adds no venue request (bench/README.md, "Resolving an order").
//   1. Timing, sequential: normalizeOrder alone; the whole step with the reference-price cache warm; the whole step
//      with a ticker request per order (what the broker did for market orders before the cache).
//   2. Counting: 1000 orders resolved and placed, at 1 and at 8 in flight, with and without the cache; the paper
//      exchange counts the ticker requests it received.
// The paper exchange runs in this process (its request log is what is counted); ccxt's rate limiter is bypassed,
// as in the order section, so that the limiter's waits do not hide the step's own cost.
import { randomBytes } from 'node:crypto';

import { startPaperExchange } from '../src/paper-exchange/paper-exchange.js';
import { BTCUSDT } from '../src/paper-exchange/spot-markets.js';
import { SecretValue } from '../src/secrets/secret-value.js';
import { openVenueAccount } from '../src/venues/ccxt-venue-account.js';
import { normalizeOrder, type OrderIntent } from '../src/venues/order-normalizer.js';
import { ReferencePrices } from '../src/venues/reference-prices.js';
import type { VenueAccount } from '../src/venues/venue-account.js';
import { bypassCcxtLimiter } from './broker-latency.js';
import { measure, report } from './measure.js';

const INTENT: OrderIntent = {
  symbol: 'BTC/USDT',
  side: 'buy',
  type: 'market',
  amount: '0.001',
  price: undefined,
};
const MAX_AGE_MS = 1_000; // the config default, orders.referencePriceMaxAge
const ORDERS = 1_000;

/** Resolves one order: how the broker's resolve step gets the reference price is the variable. */
type Resolve = () => Promise<unknown>;

/** Prints the resolve-step tables. */
export async function resolvedOrderBench(): Promise<void> {
  const apiKey = randomBytes(32).toString('hex');
  const secret = randomBytes(32).toString('hex');
  const exchange = await startPaperExchange({
    accounts: [{ apiKey, secret, balances: { USDT: '1000000000000', BTC: '1000000' } }],
    symbols: [BTCUSDT],
    prices: { BTCUSDT: '60000' },
  });
  const restoreLimiter = await bypassCcxtLimiter();
  const account = await openVenueAccount(
    'bench',
    { venue: 'binance', mode: 'paper', baseUrl: exchange.url, credentials: { apiKey: 'x:k', secret: 'x:s' } },
    () => Promise.resolve({ apiKey: SecretValue.fromText(apiKey), secret: SecretValue.fromText(secret) }),
  );
  try {
    const cached = new ReferencePrices({ maxAgeMs: MAX_AGE_MS });
    const withCache: Resolve = async () => {
      const rules = await account.market(INTENT.symbol);
      const reference = await cached.get(account, rules.symbol);
      return normalizeOrder(rules, INTENT, reference.price ?? '0');
    };
    const perOrderTicker: Resolve = async () => {
      const rules = await account.market(INTENT.symbol);
      const ticker = await account.fetchTicker(rules.symbol);
      return normalizeOrder(rules, INTENT, ticker.last ?? '0');
    };
    const rules = await account.market(INTENT.symbol);
    await withCache();
    report('Resolving an order (sequential, limiter bypassed)', [
      await measure('normalizeOrder alone (rules in hand)', 20_000, () =>
        Promise.resolve(normalizeOrder(rules, INTENT, '60000')),
      ),
      await measure('resolve step, reference price cached (steady state)', 20_000, withCache),
      await measure('resolve step, one ticker request per order', 1_000, perOrderTicker),
    ]);

    const tickers = (): number =>
      exchange.requests().filter((r) => r.path.startsWith('/api/v3/ticker')).length;
    console.log(`\n## Ticker requests at the exchange per ${ORDERS} orders resolved and placed\n`);
    console.log(
      '| reference price | in flight | orders | ticker requests | seconds | bound: ⌈s / max age⌉ + 1 |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
    let sequence = 0;
    const nextId = (): string => `ro-${(sequence++).toString(36)}`;
    // Unmeasured: connections opened, code compiled, so the first case measured is not the slow one.
    await placeOrders(account, withCache, 8, nextId);
    for (const [label, resolve] of [
      [`cached, max age ${MAX_AGE_MS} ms`, withCache],
      ['one ticker request per order', perOrderTicker],
    ] as const) {
      for (const inFlight of [1, 8]) {
        cached.clear();
        const before = tickers();
        const started = performance.now();
        await placeOrders(account, resolve, inFlight, nextId);
        const seconds = (performance.now() - started) / 1000;
        const bound = Math.ceil((seconds * 1000) / MAX_AGE_MS) + 1;
        console.log(
          `| ${label} | ${inFlight} | ${ORDERS} | ${tickers() - before} | ${seconds.toFixed(2)} | ${label.startsWith('cached') ? bound : '–'} |`,
        );
      }
    }
  } finally {
    restoreLimiter();
    await account.close();
    await exchange.stop();
  }
}

/** Resolves and places {@link ORDERS} market buys, `inFlight` at a time; any failure aborts the run. */
async function placeOrders(
  account: VenueAccount,
  resolve: Resolve,
  inFlight: number,
  nextId: () => string,
): Promise<void> {
  let left = ORDERS;
  const worker = async (): Promise<void> => {
    while (left > 0) {
      left--;
      await resolve();
      const order = await account.placeOrder({ ...INTENT, clientOrderId: nextId() });
      if (order.status !== 'closed') throw new Error(`bench order not filled: ${order.status}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}
