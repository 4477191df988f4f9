// ccxt alone in a process of its own, to measure what ccxt itself costs per request in CPU: cofre's own
// `openVenueAccount` with in-memory credentials (as row a of the overhead section), its rate limiter bypassed as
// there. Protocol: one line of JSON on stdin, `{ url, apiKey, secret, concurrency, pairs, reads }`; one line back,
// `{ orders: { perSecond, cpuMsPerRequest }, reads: { … } }`. Keys stay off argv.
import { once } from 'node:events';
import { createInterface } from 'node:readline';

import { SecretValue } from '../src/secrets/secret-value.js';
import { openVenueAccount } from '../src/venues/ccxt-venue-account.js';
import { bypassCcxtLimiter } from './broker-latency.js';

const lines = createInterface({ input: process.stdin });
const [first] = (await once(lines, 'line')) as [string];
const job = JSON.parse(first) as {
  url: string;
  apiKey: string;
  secret: string;
  concurrency: number;
  pairs: number;
  reads: number;
};
await bypassCcxtLimiter();
const account = await openVenueAccount(
  'paper',
  { venue: 'binance', mode: 'paper', baseUrl: job.url, credentials: { apiKey: '-', secret: '-' } },
  () =>
    Promise.resolve({ apiKey: SecretValue.fromText(job.apiKey), secret: SecretValue.fromText(job.secret) }),
);
let sequence = 0;
const pair = async (): Promise<void> => {
  const clientOrderId = `alone-${(sequence++).toString(36)}`;
  await account.placeOrder({
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'limit',
    amount: '0.001',
    price: '59000',
    clientOrderId,
  });
  await account.cancelOrder('BTC/USDT', { clientOrderId });
};
const read = async (): Promise<void> => {
  await account.fetchBalance();
};

/** `count` calls of `op`, `concurrency` at a time, after a warm-up; requests per second and CPU per request. */
async function measure(op: () => Promise<void>, count: number, requestsPerCall: number) {
  const run = async (n: number): Promise<void> => {
    let left = n;
    await Promise.all(
      Array.from({ length: job.concurrency }, async () => {
        while (left-- > 0) await op();
      }),
    );
  };
  await run(200);
  const cpu = process.cpuUsage();
  const started = performance.now();
  await run(count);
  const used = process.cpuUsage(cpu);
  const requests = count * requestsPerCall;
  return {
    perSecond: requests / ((performance.now() - started) / 1000),
    cpuMsPerRequest: (used.user + used.system) / 1000 / requests,
  };
}

const orders = await measure(pair, job.pairs, 2);
const reads = await measure(read, job.reads, 1);
process.stdout.write(`${JSON.stringify({ orders, reads })}\n`);
await account.close();
process.exit(0);
