// The SQLite state store on real files: idempotency claims (also across two connections, as the CLI and a server
// share one file), finishing with and without giving the key back, releasing, listing what was left executing, and
// migrating a file made by an earlier cofre.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { LimitCheck } from '../../policy/policy-types.js';
import type { RequestRecord } from '../state-store.js';
import { SqliteStateStore } from './sqlite-state-store.js';

let dir: string;
let path: string;
let store: SqliteStateStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cofre-state-'));
  path = join(dir, 'state.db');
  store = new SqliteStateStore(path);
});

afterEach(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

function request(id: string, key: string | undefined, createdAt = new Date(1_000)): RequestRecord {
  return {
    requestId: id,
    agentId: 'alice',
    action: 'place_order',
    account: 'paper',
    idempotencyKey: key,
    input: '{"clientOrderId":"c1"}',
    status: 'executing',
    response: undefined,
    createdAt,
    updatedAt: createdAt,
  };
}

describe('SqliteStateStore requests', () => {
  it('lets exactly one claim win a key, and hands the loser the winner', () => {
    expect(store.claimRequest(request('r1', 'alice:paper:c1'))).toEqual({ claimed: true });
    const lost = store.claimRequest(request('r2', 'alice:paper:c1'));
    expect(lost).toMatchObject({
      claimed: false,
      existing: { requestId: 'r1', input: '{"clientOrderId":"c1"}' },
    });
    expect(store.request('r2')).toBeUndefined();
    // Requests without a key never collide.
    expect(store.claimRequest(request('r3', undefined))).toEqual({ claimed: true });
    expect(store.claimRequest(request('r4', undefined))).toEqual({ claimed: true });
  });

  it('sees a key claimed through another connection to the same file', () => {
    const other = new SqliteStateStore(path);
    try {
      expect(other.claimRequest(request('r1', 'alice:paper:c1'))).toEqual({ claimed: true });
      expect(store.claimRequest(request('r2', 'alice:paper:c1')).claimed).toBe(false);
    } finally {
      other.close();
    }
  });

  it('keeps the key of a finished request unless told to give it back', () => {
    store.claimRequest(request('r1', 'alice:paper:c1'));
    store.finishRequest('r1', {
      status: 'executed',
      response: '{"ok":1}',
      at: new Date(2_000),
      releaseKey: false,
    });
    expect(store.request('r1')).toMatchObject({
      status: 'executed',
      response: '{"ok":1}',
      idempotencyKey: 'alice:paper:c1',
    });
    expect(store.claimRequest(request('r2', 'alice:paper:c1')).claimed).toBe(false);

    store.claimRequest(request('r3', 'alice:paper:c2'));
    store.finishRequest('r3', {
      status: 'failed',
      response: '{"no":1}',
      at: new Date(2_000),
      releaseKey: true,
    });
    // The request stays readable; only its key is free again.
    expect(store.request('r3')).toMatchObject({ status: 'failed', idempotencyKey: undefined });
    expect(store.claimRequest(request('r4', 'alice:paper:c2'))).toEqual({ claimed: true });
  });

  it('releases only a request still executing', () => {
    store.claimRequest(request('r1', 'k1'));
    store.claimRequest(request('r2', 'k2'));
    store.finishRequest('r2', { status: 'executed', response: '{}', at: new Date(2_000), releaseKey: false });
    store.releaseRequest('r1');
    store.releaseRequest('r2');
    expect(store.request('r1')).toBeUndefined();
    expect(store.request('r2')?.status).toBe('executed');
  });

  it('lists requests left executing before a time, oldest first', () => {
    store.claimRequest(request('late', 'k1', new Date(5_000)));
    store.claimRequest(request('early', 'k2', new Date(1_000)));
    store.claimRequest(request('done', 'k3', new Date(500)));
    store.finishRequest('done', { status: 'executed', response: '{}', at: new Date(600), releaseKey: false });
    expect(store.executingRequests(new Date(10_000)).map((r) => r.requestId)).toEqual(['early', 'late']);
    expect(store.executingRequests(new Date(5_000)).map((r) => r.requestId)).toEqual(['early']);
  });
});

describe('SqliteStateStore migration', () => {
  it('opens a file made before requests kept their input, and keeps its rows', async () => {
    const oldPath = join(dir, 'old.db');
    const old = new Database(oldPath);
    old.exec(`CREATE TABLE requests (request_id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, action TEXT NOT NULL,
      account TEXT, idempotency_key TEXT UNIQUE, status TEXT NOT NULL, response TEXT, created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL);
      INSERT INTO requests VALUES ('r0', 'alice', 'place_order', 'paper', 'place_order:paper:c:c1', 'executed', '{}', 1, 1);`);
    old.close();

    const migrated = new SqliteStateStore(oldPath);
    try {
      expect(migrated.request('r0')).toMatchObject({ status: 'executed', input: undefined });
      expect(migrated.claimRequest(request('r1', 'alice:paper:c1'))).toEqual({ claimed: true });
      expect(migrated.request('r1')?.input).toBe('{"clientOrderId":"c1"}');
    } finally {
      migrated.close();
    }
    // Opening again finds it current and changes nothing.
    const again = new SqliteStateStore(oldPath);
    again.close();
    const check = new Database(oldPath);
    expect(check.pragma('user_version', { simple: true })).toBe(5);
    check.close();
    await rm(oldPath, { force: true });
  });
});

describe('SqliteStateStore finishing with a settlement', () => {
  const check = (amount: string): LimitCheck => ({
    limit: 'policies.p.limits[0] (daily)',
    key: 'agent:alice:daily',
    measure: 'notional',
    windowMs: 3_600_000,
    cap: '100',
    amount,
  });
  const used = (at: Date): string | undefined =>
    store.usage([{ key: 'agent:alice:daily', windowMs: 3_600_000 }], at).get('agent:alice:daily');

  it('records the outcome and ends the reservation together: committed spend counts, the reservation is gone', () => {
    const at = new Date(10_000);
    store.claimRequest(request('r1', 'alice:paper:c1'));
    expect(store.reserve('r1', [check('40')], at)).toEqual({ ok: true });
    store.finishRequest('r1', {
      status: 'executed',
      response: '{}',
      at,
      releaseKey: false,
      settlement: { kind: 'commit', at, actual: new Map([['agent:alice:daily', '30']]) },
    });
    expect(store.request('r1')?.status).toBe('executed');
    expect(store.reservedRequests()).toEqual([]);
    expect(used(at)).toBe('30');
  });

  it('changes nothing when the settlement cannot be made: the request stays executing, its reservation held', () => {
    const at = new Date(10_000);
    store.claimRequest(request('r1', 'alice:paper:c1'));
    store.reserve('r1', [check('40')], at);
    expect(() => {
      store.finishRequest('r1', {
        status: 'executed',
        response: '{}',
        at,
        releaseKey: false,
        settlement: { kind: 'commit', at, actual: new Map([['agent:alice:daily', 'not a number']]) },
      });
    }).toThrow();
    expect(store.request('r1')?.status).toBe('executing');
    expect(store.reservedRequests()).toEqual(['r1']);
  });
});

describe('SqliteStateStore rows recorded when finished', () => {
  const finished = (id: string): RequestRecord => ({
    ...request(id, undefined),
    action: 'get_balance',
    status: 'executed',
    response: `{"requestId":"${id}"}`,
  });

  it('writes the rows finished in one turn together, in one transaction, and shows each at once', async () => {
    // Frames in the WAL, seen from another connection: a commit appends every page it changed (here the same few
    // pages), so twenty commits of one row each would append at least twenty frames.
    const other = new Database(path);
    const walFrames = (): number =>
      (other.pragma('wal_checkpoint(NOOP)') as { log: number }[])[0]?.log ?? Number.NaN;
    store.claimRequest(request('warm', undefined)); // the WAL exists
    const before = walFrames();
    for (let i = 0; i < 20; i++) store.recordFinished(finished(`r${i}`));
    expect(store.request('r7')).toMatchObject({ status: 'executed' }); // seen before it is written
    expect(other.prepare('SELECT count(*) AS n FROM requests').get()).toEqual({ n: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(other.prepare('SELECT count(*) AS n FROM requests').get()).toEqual({ n: 21 });
    expect(walFrames() - before).toBeLessThan(20);
    other.close();
  });

  it('writes what is pending when closed, and refuses a row that holds an idempotency key', () => {
    store.recordFinished(finished('r1'));
    expect(() => {
      store.recordFinished({ ...finished('r2'), idempotencyKey: 'alice:paper:c1' });
    }).toThrow(/claimed/);
    store.close();
    const reopened = new SqliteStateStore(path);
    expect(reopened.request('r1')).toMatchObject({ status: 'executed' });
    reopened.close();
    store = new SqliteStateStore(path); // afterEach closes it
  });
});
