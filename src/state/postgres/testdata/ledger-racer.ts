/**
 * Child process for the PostgreSQL limit tests across processes: opens its own pool on the database, prints
 * `ready`, waits for a line on stdin (so every racer starts together), then runs `parallel` loops at once, `count`
 * attempts in all, and prints its tally as one JSON line.
 *
 * - `budget`: reserves 1 of `token` (cap `cap`) and 1 of `shared` (no cap in reach), never releasing; odd racers
 *   list the two keys in the other order. Prints `{ accepted }`.
 * - `mutex`: reserves 1 of `token` with cap 1, and when granted reads its usage, which must be exactly 1 while it
 *   holds it, then releases it. Prints `{ accepted, violations }`.
 *
 * argv[2]: JSON {@link RacerConfig}.
 */
import { createInterface } from 'node:readline';

import type { LimitCheck } from '../../../policy/policy-types.js';
import { openLedger } from './ledger-database.js';

interface RacerConfig {
  readonly connectionString: string;
  readonly name: string;
  readonly index: number;
  readonly mode: 'budget' | 'mutex';
  readonly cap: string;
  readonly count: number;
  readonly parallel: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as RacerConfig;
const { ledger, close } = openLedger(config.connectionString, config.parallel);
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
await new Promise<void>((resolve) =>
  lines.once('line', () => {
    resolve();
  }),
);
lines.close();

const WINDOW = 60_000;
const check = (key: string, cap: string): LimitCheck => ({
  limit: key,
  key,
  measure: 'notional',
  windowMs: WINDOW,
  cap,
  amount: '1',
});
const token = check('token', config.mode === 'mutex' ? '1' : config.cap);
const shared = check('shared', '1000000000');
const checks = config.index % 2 === 0 ? [token, shared] : [shared, token];
const at = new Date(1_700_000_000_000);
let next = 0;
let accepted = 0;
let violations = 0;

async function loop(): Promise<void> {
  while (next < config.count) {
    const requestId = `${config.name}-${String(next++)}`;
    if (!(await ledger.reserve(requestId, checks, at)).ok) continue;
    accepted++;
    if (config.mode === 'budget') continue;
    const usage = await ledger.usage([{ key: 'token', windowMs: WINDOW }], at);
    if (usage.get('token') !== '1') violations++;
    await ledger.settleReservation(requestId, { kind: 'release' });
  }
}

await Promise.all(Array.from({ length: config.parallel }, loop));
await close();
process.stdout.write(`${JSON.stringify({ accepted, violations })}\n`);
