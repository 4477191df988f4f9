// What only the SQLite state store does, on real files: migrating a file made by an earlier cofre, and writing the
// rows finished in one turn in one transaction. The interface's behaviour is the conformance suite's
// (../conformance/, run by sqlite-conformance.test.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { request } from '../conformance/state-store-harness.js';
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
    expect(check.pragma('user_version', { simple: true })).toBe(7);
    check.close();
    await rm(oldPath, { force: true });
  });
});

describe('SqliteStateStore rows recorded when finished', () => {
  const finished = (id: string): RequestRecord => ({
    ...request(id, undefined),
    action: 'get_balance',
    status: 'executed',
    response: `{"requestId":"${id}"}`,
  });

  it('writes the rows finished in one turn together, in one transaction', async () => {
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
});
