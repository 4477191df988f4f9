// The requests table's retention (issue 10): pruneRequests deletes only finished requests older than the cut-off,
// oldest first, at most `limit` per call, and never one that may still act or settle.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { RequestRecord, RequestStatus } from '../state-store.js';
import { SqliteStateStore } from './sqlite-state-store.js';

let dir: string;
let store: SqliteStateStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cofre-retention-'));
  store = new SqliteStateStore(join(dir, 'state.db'));
});

afterEach(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

const t = (ms: number): Date => new Date(1_700_000_000_000 + ms);

/** Claims a request at `at` and leaves it in `status` (finished at `at` too). */
function add(id: string, status: RequestStatus, at: Date): void {
  const record: RequestRecord = {
    requestId: id,
    agentId: 'alice',
    action: 'place_order',
    account: 'paper',
    idempotencyKey: `alice:paper:${id}`,
    input: '{}',
    status: status === 'pending_approval' ? 'pending_approval' : 'executing',
    response: undefined,
    createdAt: at,
    updatedAt: at,
  };
  expect(store.claimRequest(record)).toEqual({ claimed: true });
  if (status !== 'executing' && status !== 'pending_approval') {
    store.finishRequest(id, { status, response: '{}', at, releaseKey: false });
  }
}

describe('SqliteStateStore.pruneRequests', () => {
  it('deletes finished requests older than the cut-off and keeps everything else', () => {
    add('old-executed', 'executed', t(0));
    add('old-denied', 'denied', t(1));
    add('old-failed', 'failed', t(2));
    add('old-executing', 'executing', t(3));
    add('old-pending', 'pending_approval', t(4));
    add('old-reserved', 'executed', t(5));
    expect(
      store.reserve(
        'old-reserved',
        [{ limit: 'l', key: 'k', measure: 'notional', windowMs: 60_000, cap: '10', amount: '1' }],
        t(5),
      ),
    ).toEqual({ ok: true });
    add('new-executed', 'executed', t(100));

    expect(store.pruneRequests(t(100), 100)).toBe(3);
    for (const gone of ['old-executed', 'old-denied', 'old-failed'])
      expect(store.request(gone)).toBeUndefined();
    for (const kept of ['old-executing', 'old-pending', 'old-reserved', 'new-executed']) {
      expect(store.request(kept)?.requestId).toBe(kept);
    }
    // A pruned request's idempotency key is free again: a replay older than the retention runs as a new request.
    expect(
      store.claimRequest({
        ...store.request('new-executed')!,
        requestId: 'again',
        idempotencyKey: 'alice:paper:old-executed',
      }),
    ).toEqual({ claimed: true });
  });

  it('deletes at most `limit` per call, oldest first', () => {
    for (let i = 0; i < 5; i++) add(`r${i}`, 'executed', t(10 - i));
    expect(store.pruneRequests(t(100), 2)).toBe(2);
    expect(store.request('r4')).toBeUndefined(); // t(6), the oldest
    expect(store.request('r3')).toBeUndefined(); // t(7)
    expect(store.request('r2')?.requestId).toBe('r2');
    expect(store.pruneRequests(t(100), 2)).toBe(2);
    expect(store.pruneRequests(t(100), 2)).toBe(1);
    expect(store.pruneRequests(t(100), 2)).toBe(0);
  });
});
