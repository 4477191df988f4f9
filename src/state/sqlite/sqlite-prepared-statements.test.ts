// Issue 11: the state store prepares every statement once, when it opens. Preparing costs more than running one
// (~100 µs each before this was fixed), so any method that prepares, compiles SQL or builds a transaction per call
// shows up here as a count above zero.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { LimitCheck } from '../../policy/policy-types.js';
import { SqliteStateStore } from './sqlite-state-store.js';
import { pendingApproval, TEST_PAYLOAD_HASH } from './testdata/pending-approval.js';

type Counted = 'prepare' | 'exec' | 'pragma' | 'transaction';
const COUNTED: readonly Counted[] = ['prepare', 'exec', 'pragma', 'transaction'];

let dir: string;
let counts: Record<Counted, number>;
const originals = new Map<Counted, (...args: never[]) => unknown>();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cofre-prepare-'));
  counts = { prepare: 0, exec: 0, pragma: 0, transaction: 0 };
  const proto = Database.prototype as unknown as Record<Counted, (...args: never[]) => unknown>;
  for (const name of COUNTED) {
    const original = proto[name];
    originals.set(name, original);
    proto[name] = function (this: unknown, ...args: never[]) {
      counts[name] += 1;
      return original.apply(this, args);
    };
  }
});

afterEach(async () => {
  const proto = Database.prototype as unknown as Record<Counted, (...args: never[]) => unknown>;
  for (const [name, original] of originals) proto[name] = original;
  await rm(dir, { recursive: true, force: true });
});

const at = (ms: number): Date => new Date(1_700_000_000_000 + ms);
const notional = (amount: string): LimitCheck => ({
  limit: 'daily',
  key: 'agent:a|notional|USDT|86400000',
  measure: 'notional',
  windowMs: 86_400_000,
  cap: '1000000',
  amount,
});
const openOrders: LimitCheck = {
  limit: 'open',
  key: 'agent:a|openOrders',
  measure: 'openOrders',
  windowMs: undefined,
  cap: '1000000',
  amount: '1',
};

/** One request through every store call the broker makes on its path, and those of approvals and the CLI. */
function exercise(store: SqliteStateStore, i: number): void {
  const id = `r${i}`;
  const now = at(i);
  store.halted();
  store.agentByTokenId('tok_a');
  const claimed = store.claimRequest({
    requestId: id,
    agentId: 'a',
    action: 'place_order',
    account: 'paper',
    idempotencyKey: `a:paper:c${i}`,
    input: `{"clientOrderId":"c${i}"}`,
    status: 'executing',
    response: undefined,
    createdAt: now,
    updatedAt: now,
  });
  expect(claimed).toEqual({ claimed: true });
  expect(store.claimRequest({ ...store.request(id)!, requestId: `${id}-again` }).claimed).toBe(false);
  expect(store.reserve(id, [notional('10'), openOrders], now)).toEqual({ ok: true });
  store.usage([{ key: notional('1').key, windowMs: 86_400_000 }], now);
  store.settleReservation(id, {
    kind: 'commit',
    at: now,
    actual: new Map([[notional('1').key, '9']]),
    openOrder: { account: 'paper', orderId: `o${i}` },
  });
  store.finishRequest(id, { status: 'executed', response: '{}', at: now, releaseKey: i % 2 === 0 });
  store.reserve(`${id}-released`, [notional('1')], now);
  store.settleReservation(`${id}-released`, { kind: 'release' });
  store.closeOpenOrder('paper', `o${i}`);
  store.syncOpenOrders('paper', [], now);
  store.reservedRequests();
  store.executingRequests(now);
  store.createApproval(pendingApproval(`ap${i}`, { createdAt: now, expiresAt: at(i + 60_000) }));
  store.approval(`ap${i}`);
  store.listApprovals(now);
  store.approve(`ap${i}`, 'op', TEST_PAYLOAD_HASH, undefined, now);
  store.claimApprovedForExecution(`ap${i}`, now);
  store.deny(`ap${i}`, 'op', 'late', now);
  store.resumeRequest(id, now);
  store.releaseRequest(`${id}-none`);
  store.restoreRequest(
    { ...store.request(id)!, requestId: `${id}-restored`, idempotencyKey: undefined },
    [],
    now,
  );
  store.setAuditHorizon({ seq: i, hash: 'h', ino: '1', offset: i, at: now });
  store.auditHorizon();
  store.pruneRequests(at(-1), 10);
}

describe('SqliteStateStore prepared statements', () => {
  it('prepares, compiles and builds transactions only while opening, never per call', () => {
    const store = new SqliteStateStore(join(dir, 'state.db'));
    try {
      // Opening prepares every statement once: the count proves the wrapper sees them.
      expect(counts.prepare).toBeGreaterThan(20);
      for (const name of COUNTED) counts[name] = 0;
      for (let i = 0; i < 200; i++) exercise(store, i);
      expect(counts).toEqual({ prepare: 0, exec: 0, pragma: 0, transaction: 0 });
    } finally {
      store.close();
    }
  });
});
