// Limit ledger benchmarks: what an order pays to reserve and settle its limits (issue 9), against the SQLite claim
// and finish every write already pays, on the same file system in the same run. The "busy" cases first commit
// 10,000 orders inside the window of every key, to show that a reservation does not scan what is in the window.
import { join } from 'node:path';

import type { LimitCheck } from '../src/policy/policy-types.js';
import { SqliteStateStore } from '../src/state/sqlite/sqlite-state-store.js';
import { claimAndFinish } from './claim-finish.js';
import { measure, report, type Sample } from './measure.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';

const DAY = 86_400_000;

/** An order's three checks: rolling notional per agent, order count per account, open orders per account. */
function checksFor(prefix: string): LimitCheck[] {
  return [
    {
      limit: 'notional',
      key: `${prefix}agent:bench|notional|USDT|${DAY}`,
      measure: 'notional',
      windowMs: DAY,
      cap: '1000000000',
      amount: '123.45678901',
    },
    {
      limit: 'orders',
      key: `${prefix}account:paper|orders|60000`,
      measure: 'orders',
      windowMs: DAY,
      cap: '1000000000',
      amount: '1',
    },
    {
      limit: 'open',
      key: `${prefix}account:paper|openOrders`,
      measure: 'openOrders',
      windowMs: undefined,
      cap: '1000000000',
      amount: '1',
    },
  ];
}

/**
 * reserve + commit of one market order that filled at once (so it does not stay open: open orders per key are
 * bounded by their cap, and summed row by row), at a clock that moves 1 ms per order.
 */
function orderOp(store: SqliteStateStore, checks: LimitCheck[], tag: string): () => Promise<void> {
  let n = 0;
  const start = Date.now();
  return () => {
    const requestId = `${tag}-${n}`;
    const at = new Date(start + n++);
    if (!store.reserve(requestId, checks, at).ok) throw new Error('the benchmark cap was reached');
    store.settleReservation(requestId, { kind: 'commit', at });
    return Promise.resolve();
  };
}

/** Prints the limit ledger table. */
export async function limitLedgerBench(): Promise<void> {
  const dir = await makeTempDir('cofre-bench-limits-');
  const store = new SqliteStateStore(join(dir, 'state.db'));
  try {
    let n = 0;
    const claimFinish = (): Promise<void> => claimAndFinish(store, `req_${n++}`);
    const fresh = checksFor('fresh:');
    const busy = checksFor('busy:');
    const fill = orderOp(store, busy, 'fill');
    for (let i = 0; i < 10_000; i++) await fill();
    let r = 0;
    const reserveRelease = (): Promise<void> => {
      const requestId = `rr-${r++}`;
      store.reserve(requestId, busy, new Date());
      store.settleReservation(requestId, { kind: 'release' });
      return Promise.resolve();
    };
    const samples: Sample[] = [
      await measure('SQLite claim + finish a request (today, per write)', 2000, claimFinish),
      await measure('reserve + commit, 3 checks, empty ledger', 2000, orderOp(store, fresh, 'fresh')),
      await measure(
        'reserve + commit, 3 checks, 10,000 orders in window',
        2000,
        orderOp(store, busy, 'busy'),
      ),
      await measure('reserve + release, 3 checks, 10,000 orders in window', 2000, reserveRelease),
    ];
    report('Limit ledger: per order, on one SQLite file (WAL)', samples);
  } finally {
    store.close();
    await removeTempDir(dir);
  }
}
