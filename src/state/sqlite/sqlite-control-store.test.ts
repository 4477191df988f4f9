// The control store (operators, approvals, the halt) on real SQLite files: every refusal of `approve`, the quorum,
// denial, expiry, exactly-once claims, and two processes racing on one file.
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

describe('SqliteControlStore operators', () => {
  it('keeps operators in their own table, refuses a duplicate id and revokes once', () => {
    const operator = {
      id: 'alice',
      tokenId: 'tid',
      tokenHash: Buffer.alloc(32, 1),
      createdAt: at(1),
      expiresAt: at(2),
      revokedAt: undefined,
    };
    store.addOperator(operator);
    expect(store.operatorByTokenId('tid')).toEqual(operator);
    expect(store.listAgents()).toEqual([]);
    expect(() => {
      store.addOperator({ ...operator, tokenId: 'tid2' });
    }).toThrow(expect.objectContaining({ code: 'COFRE_OPERATOR_EXISTS' }));
    expect(store.revokeOperator('alice', at(5))).toBe(true);
    expect(store.revokeOperator('alice', at(6))).toBe(false);
    expect(store.revokeOperator('nobody', at(6))).toBe(false);
    expect(store.listOperators().map((o) => [o.id, o.revokedAt])).toEqual([['alice', at(5)]]);
  });
});

describe('SqliteControlStore approvals', () => {
  it('reads an approval back as created', () => {
    const record = pendingApproval('r1', { approvers: ['alice', 'bob'], required: 2 });
    store.createApproval(record);
    expect(store.approval('r1')).toEqual(record);
    expect(store.approval('nope')).toBeUndefined();
  });

  it("refuses to store an approval whose hash is not its payload's", () => {
    expect(() => {
      store.createApproval(pendingApproval('r1', { payload: '{"order":{"symbol":"ETH/USDT"}}' }));
    }).toThrow(expect.objectContaining({ code: 'COFRE_INTERNAL' }));
    expect(store.approval('r1')).toBeUndefined();
  });

  it('approves with one vote when one is required, and then only once', () => {
    store.createApproval(pendingApproval('r1'));
    expect(store.approve('r1', 'alice', TEST_PAYLOAD_HASH, 'ok', at(2_000))).toEqual({ outcome: 'approved' });
    expect(store.approval('r1')).toMatchObject({
      status: 'approved',
      decidedBy: 'alice',
      comment: 'ok',
      decidedAt: at(2_000),
      approvals: [{ operator: 'alice', at: at(2_000), comment: 'ok' }],
    });
    expect(store.approve('r1', 'bob', TEST_PAYLOAD_HASH, undefined, at(2_001))).toEqual({
      outcome: 'refused',
      reason: 'approved',
    });
  });

  it('needs the quorum of distinct named approvers', () => {
    store.createApproval(pendingApproval('r1', { required: 2, approvers: ['alice', 'bob', 'carol'] }));
    expect(store.approve('r1', 'mallory', TEST_PAYLOAD_HASH, undefined, at(2_000))).toEqual({
      outcome: 'refused',
      reason: 'not-an-approver',
    });
    expect(store.approve('r1', 'alice', TEST_PAYLOAD_HASH, undefined, at(2_000))).toEqual({
      outcome: 'recorded',
      remaining: 1,
    });
    expect(store.approve('r1', 'alice', TEST_PAYLOAD_HASH, undefined, at(2_001))).toEqual({
      outcome: 'refused',
      reason: 'already-approved-by-you',
    });
    expect(store.approval('r1')?.status).toBe('pending');
    expect(store.approve('r1', 'carol', TEST_PAYLOAD_HASH, 'second', at(2_002))).toEqual({
      outcome: 'approved',
    });
    expect(store.approval('r1')?.approvals.map((a) => a.operator)).toEqual(['alice', 'carol']);
  });

  it('refuses a payload hash other than the stored one, and counts no vote for it', () => {
    store.createApproval(pendingApproval('r1'));
    expect(store.approve('r1', 'alice', 'b'.repeat(64), undefined, at(2_000))).toEqual({
      outcome: 'refused',
      reason: 'hash-mismatch',
    });
    expect(store.approval('r1')).toMatchObject({ status: 'pending', approvals: [] });
  });

  it('refuses an unknown, expired, denied or executed approval', () => {
    expect(store.approve('none', 'alice', TEST_PAYLOAD_HASH, undefined, at(2_000))).toEqual({
      outcome: 'refused',
      reason: 'not-found',
    });
    store.createApproval(pendingApproval('late'));
    expect(store.approve('late', 'alice', TEST_PAYLOAD_HASH, undefined, at(60_000))).toEqual({
      outcome: 'refused',
      reason: 'expired',
    });
    expect(store.approval('late')?.status).toBe('expired');
    expect(store.deny('late', 'alice', undefined, at(60_001))).toBe(false);

    store.createApproval(pendingApproval('no'));
    expect(store.deny('no', 'bob', 'too big', at(2_000))).toBe(true);
    expect(store.approval('no')).toMatchObject({ status: 'denied', decidedBy: 'bob', comment: 'too big' });
    expect(store.deny('no', 'bob', undefined, at(2_001))).toBe(false);
    expect(store.approve('no', 'alice', TEST_PAYLOAD_HASH, undefined, at(2_001))).toEqual({
      outcome: 'refused',
      reason: 'denied',
    });
    expect(store.claimApprovedForExecution('no', at(2_002))).toBe(false);

    store.createApproval(pendingApproval('done'));
    store.approve('done', 'alice', TEST_PAYLOAD_HASH, undefined, at(2_000));
    expect(store.claimApprovedForExecution('done', at(2_001))).toBe(true);
    expect(store.claimApprovedForExecution('done', at(2_001))).toBe(false);
    expect(store.approval('done')?.status).toBe('executed');
    expect(store.approve('done', 'bob', TEST_PAYLOAD_HASH, undefined, at(2_002))).toEqual({
      outcome: 'refused',
      reason: 'executed',
    });
  });

  it('claims only an approved request, and not after its expiry', () => {
    store.createApproval(pendingApproval('waiting'));
    expect(store.claimApprovedForExecution('waiting', at(2_000))).toBe(false);
    store.createApproval(pendingApproval('stale'));
    store.approve('stale', 'alice', TEST_PAYLOAD_HASH, undefined, at(2_000));
    expect(store.claimApprovedForExecution('stale', at(60_000))).toBe(false);
    expect(store.approval('stale')?.status).toBe('approved');
  });

  it('lists pending first, newest first, reporting expired ones as expired, and filters', () => {
    store.createApproval(pendingApproval('old', { createdAt: at(1_000) }));
    store.createApproval(pendingApproval('new', { createdAt: at(3_000) }));
    store.createApproval(pendingApproval('gone', { createdAt: at(4_000), expiresAt: at(5_000) }));
    store.createApproval(pendingApproval('denied', { createdAt: at(5_000) }));
    store.deny('denied', 'bob', undefined, at(5_500));
    const now = at(6_000);
    expect(store.listApprovals(now).map((a) => [a.requestId, a.status])).toEqual([
      ['new', 'pending'],
      ['old', 'pending'],
      ['denied', 'denied'],
      ['gone', 'expired'],
    ]);
    expect(store.listApprovals(now, 'pending').map((a) => a.requestId)).toEqual(['new', 'old']);
    expect(store.listApprovals(now, 'expired').map((a) => a.requestId)).toEqual(['gone']);
    expect(store.listApprovals(at(4_500), 'pending').map((a) => a.requestId)).toEqual(['gone', 'new', 'old']);
  });
});

describe('SqliteControlStore halt', () => {
  it('persists the halt across a reopen, and clears it once', () => {
    expect(store.halted()).toBeUndefined();
    store.setHalt({ reason: 'incident 42', by: 'alice', at: at(7_000) });
    store.close();
    store = new SqliteStateStore(path);
    expect(store.halted()).toEqual({ reason: 'incident 42', by: 'alice', at: at(7_000) });
    expect(store.clearHalt()).toBe(true);
    expect(store.clearHalt()).toBe(false);
    expect(store.halted()).toBeUndefined();
  });
});

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
