/**
 * Child process for the two-process limit test: opens the state file, prints `ready`, waits for a line on stdin
 * (so both racers start together), then `count` times: reserves one unit of a token with cap 1 (with 30 other checks,
 * so each reservation reads long enough for a race to show), and if granted reads the token's usage, which must be
 * exactly 1 while it holds it, and releases it. Prints `{ acquired, violations }` as one JSON line.
 *
 * argv[2]: JSON `{ path, name, count }`.
 */
import { createInterface } from 'node:readline';

import type { LimitCheck } from '../../../policy/policy-types.js';
import { SqliteStateStore } from '../sqlite-state-store.js';

interface RacerConfig {
  readonly path: string;
  readonly name: string;
  readonly count: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as RacerConfig;
const store = new SqliteStateStore(config.path);
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
await new Promise<void>((resolve) =>
  lines.once('line', () => {
    resolve();
  }),
);
lines.close();

const check = (key: string, cap: string): LimitCheck => ({
  limit: key,
  key,
  measure: 'notional',
  windowMs: 60_000,
  cap,
  amount: '1',
});
const token = check('token', '1');
const checks = [
  token,
  ...Array.from({ length: 30 }, (_, i) => check(`filler-${config.name}-${i}`, '1000000000')),
];
const at = new Date(1_700_000_000_000);
let acquired = 0;
let violations = 0;
for (let i = 0; i < config.count; i++) {
  const requestId = `${config.name}-${i}`;
  if (!store.reserve(requestId, checks, at).ok) continue;
  acquired++;
  if (store.usage([{ key: 'token', windowMs: 60_000 }], at).get('token') !== '1') violations++;
  store.settleReservation(requestId, { kind: 'release' });
}
store.close();
process.stdout.write(`${JSON.stringify({ acquired, violations })}\n`);
