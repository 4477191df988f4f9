// What only the SQLite control store shows: two processes racing on one file, and migrating a version-1 file. The
// interface's behaviour is the conformance suite's (../conformance/, run by sqlite-conformance.test.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  spawnTsx,
  testdataScript,
  waitForExit,
  waitForLine,
} from '../../secrets/embedded/testdata/spawn-tsx.js';
import { SqliteStateStore } from './sqlite-state-store.js';
import { pendingApproval, TEST_PAYLOAD_HASH } from './testdata/pending-approval.js';

let dir: string;
let path: string;
let store: SqliteStateStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cofre-control-'));
  path = join(dir, 'state.db');
  store = new SqliteStateStore(path);
});

afterEach(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

const at = (ms: number): Date => new Date(ms);

describe('SqliteControlStore across processes', () => {
  it('of two operators approving at once, one reaches the quorum; of two claims, one wins', async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `r${i}`);
    for (const id of ids) store.createApproval(pendingApproval(id, { required: 2 }));
    const script = testdataScript('../../../state/sqlite/testdata/control-racer.ts');
    const racers = ['alice', 'bob'].map((operator) =>
      spawnTsx(script, [JSON.stringify({ path, operator, requestIds: ids, payloadHash: TEST_PAYLOAD_HASH })]),
    );
    const outputs = racers.map((child) => {
      let text = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
      });
      return () => text;
    });
    await Promise.all(racers.map((r) => waitForLine(r, 'ready')));
    for (const r of racers) r.stdin?.write('go\n');
    expect(await Promise.all(racers.map(waitForExit))).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
    const results = outputs.map(
      (text) => JSON.parse(text().split('\n')[1] ?? '') as { approved: string[]; claimed: string[] },
    );
    const approved = results.flatMap((r) => r.approved).sort();
    const claimed = results.flatMap((r) => r.claimed).sort();
    expect(approved).toEqual([...ids].sort());
    expect(claimed).toEqual([...ids].sort());
    for (const id of ids) {
      expect(store.approval(id)).toMatchObject({ status: 'executed' });
      expect(store.approval(id)?.approvals).toHaveLength(2);
    }
  });
});

describe('SqliteControlStore migration', () => {
  it('adds its tables to a version-1 file and keeps its rows', () => {
    const oldPath = join(dir, 'v1.db');
    const old = new SqliteStateStore(oldPath);
    old.close();
    const raw = new Database(oldPath);
    raw.exec('DROP TABLE operators; DROP TABLE approval_votes; DROP TABLE approvals; DROP TABLE halt;');
    raw.exec("INSERT INTO agents VALUES ('bot', 'p', 'tid', x'00', 1, 2, NULL); PRAGMA user_version = 1;");
    raw.close();
    const migrated = new SqliteStateStore(oldPath);
    try {
      expect(migrated.listAgents().map((a) => a.id)).toEqual(['bot']);
      migrated.setHalt({ reason: 'r', by: 'b', at: at(1) });
      expect(migrated.halted()?.reason).toBe('r');
    } finally {
      migrated.close();
    }
  });
});
