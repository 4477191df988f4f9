// The paper exchange in a process of its own, as a real exchange would be: the benchmark's clients, cofre and nginx
// then all reach it over loopback TCP, and its work does not share an event loop with theirs.
//
// Protocol: the parent writes one line of JSON to stdin, `{ apiKey, secret, port? }` (kept off argv, which other users
// can read); this process answers one line on stdout, `{ url, port }`, and stops when stdin closes or on SIGINT/SIGTERM.
// A given port lets the parent restart the exchange where cofre's config and nginx expect it.
import { once } from 'node:events';
import { createInterface } from 'node:readline';

import { startPaperExchange } from '../src/paper-exchange/paper-exchange.js';

const lines = createInterface({ input: process.stdin });
const [first] = (await once(lines, 'line')) as [string];
const { apiKey, secret, port } = JSON.parse(first) as { apiKey: string; secret: string; port?: number };

const exchange = await startPaperExchange({
  port: port ?? 0,
  // Balances large enough that no benchmark order can fail for lack of funds.
  accounts: [{ apiKey, secret, balances: { USDT: '1000000000000', BTC: '1000000' } }],
  symbols: [
    {
      symbol: 'BTCUSDT',
      baseAsset: 'BTC',
      quoteAsset: 'USDT',
      tickSize: '0.01',
      stepSize: '0.00001',
      minQty: '0.00001',
      maxQty: '9000',
      minNotional: '5',
    },
  ],
  prices: { BTCUSDT: '60000' },
  onError: (error) => {
    console.error('paper exchange internal error:', error);
  },
});
process.stdout.write(`${JSON.stringify({ url: exchange.url, port: exchange.port })}\n`);

const stop = (): void => {
  void exchange.stop().finally(() => process.exit(0));
};
lines.on('close', stop);
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
