// The child of audit-full-disk.test.ts: opens the broker a config describes (as `cofre serve` would, logging JSON
// lines to stderr at info level) and runs a fixed list of actions, printing one JSON line per answer or error code.
// Usage: node --import tsx audit-full-disk-child.ts <config> [shell command to run once the broker is open]
import { execSync } from 'node:child_process';

import { createLogger } from '../../src/audit/create-logger.js';
import { openBrokerRuntime } from '../../src/broker/broker-runtime.js';
import { loadConfig } from '../../src/config/load-config.js';
import { isCofreError } from '../../src/errors.js';
import { RESTING_BUY } from '../resting-buy.js';

const config = await loadConfig(process.argv[2] ?? '');
const runtime = await openBrokerRuntime(config, { logger: createLogger({ level: 'info' }) });
// The disk fills up (or turns read-only) while the broker runs, after it opened its audit log.
if (process.argv[3] !== undefined) execSync(process.argv[3], { stdio: 'inherit' });
const agent = { id: 'disk-agent', policy: 'all' };
const order = RESTING_BUY;
const actions: [string, unknown][] = [
  ['place_order', { ...order, clientOrderId: 'disk-1' }],
  ['place_order', { ...order, type: 'market', price: undefined, clientOrderId: 'disk-2' }],
  ['get_balance', { account: 'paper' }],
  // Not allowed by the policy: a denial, whose audit record cannot be written either.
  ['cancel_order', { account: 'paper', symbol: 'BTC/USDT', clientOrderId: 'disk-1' }],
];
for (const [action, input] of actions) {
  try {
    const response = await runtime.broker.execute(agent, action, input);
    process.stdout.write(
      `${JSON.stringify({ action, status: response.status, error: response.error?.code })}\n`,
    );
  } catch (err) {
    process.stdout.write(
      `${JSON.stringify({ action, thrown: isCofreError(err) ? err.code : String(err) })}\n`,
    );
  }
}
await runtime.close();
