// The child of audit-kill9.test.ts: opens the broker a config describes (as `cofre serve` would) and places a burst
// of orders, `concurrency` at a time, until it is killed. Prints `ready` once the runtime is open.
// Usage: node --import tsx audit-kill9-child.ts <config> <clientOrderId prefix> <count> <concurrency>
import { pino } from 'pino';

import { openBrokerRuntime } from '../../src/broker/broker-runtime.js';
import { loadConfig } from '../../src/config/load-config.js';

const [configPath = '', prefix = 'k9', count = '200', concurrency = '8'] = process.argv.slice(2);
const config = await loadConfig(configPath);
const runtime = await openBrokerRuntime(config, { logger: pino({ level: 'silent' }) });
const agent = { id: 'crash-agent', policy: 'all' };
process.stdout.write('ready\n');
let next = 0;
const worker = async (): Promise<void> => {
  while (next < Number(count)) {
    const i = next++;
    await runtime.broker.execute(agent, 'place_order', {
      account: 'paper',
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'market',
      amount: '0.001',
      clientOrderId: `${prefix}-${i}`,
    });
  }
};
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
await runtime.close();
