// `cofre operator`, `cofre approval`, `cofre halt` and `cofre resume` on the host, without a token, against the
// state file of a config made by `cofre init`. Approvals are put in the state file directly (the broker that
// creates them is wired by the lead); executing an approved request through the broker is tested with that wiring.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { ApprovalRecord } from '../../src/state/control-store.js';
import { SqliteStateStore } from '../../src/state/sqlite/sqlite-state-store.js';
import { cli, tempDir } from './cli-harness.js';

const PAYLOAD = JSON.stringify({ order: { symbol: 'BTC/USDT', side: 'buy', amount: '0.25' } });
const HASH = createHash('sha256').update(PAYLOAD).digest('hex');
const ME = `local:${userInfo().username}`;

let dir: string;
let remove: () => void;
beforeEach(async () => {
  ({ dir, remove } = tempDir());
  expect((await cli(dir, ['init'])).code).toBe(0);
});
afterEach(() => {
  remove();
});

function withState<T>(fn: (state: SqliteStateStore) => T): T {
  const state = new SqliteStateStore(join(dir, 'cofre-state.db'));
  try {
    return fn(state);
  } finally {
    state.close();
  }
}

function createApproval(id: string, overrides: Partial<ApprovalRecord> = {}): void {
  withState((state) => {
    state.createApproval({
      requestId: id,
      agentId: 'bot-1',
      action: 'place_order',
      account: 'paper',
      payload: PAYLOAD,
      payloadHash: HASH,
      rule: 'policies.paper-trading.rules[1]',
      required: 2,
      approvers: [],
      status: 'pending',
      approvals: [],
      decidedBy: undefined,
      comment: undefined,
      createdAt: new Date(),
      expiresAt: new Date(Date.now() + 600_000),
      decidedAt: undefined,
      ...overrides,
    });
  });
}

describe('cofre operator', () => {
  it('adds an operator (token printed once, cofre_op_), lists it, and revokes it', async () => {
    const added = await cli(dir, ['operator', 'add', 'alice', '--ttl', '2h']);
    expect(added.code).toBe(0);
    const token = added.stdout.trim();
    expect(token).toMatch(/^cofre_op_[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/);
    expect(added.stderr).not.toContain(token);
    const list = await cli(dir, ['operator', 'list']);
    expect(list.stdout).toMatch(/^alice\s+active\s/m);
    expect(list.stdout).not.toContain(token.split('.')[1]);
    expect((await cli(dir, ['agent', 'list'])).stdout).not.toMatch(/alice/);
    expect((await cli(dir, ['operator', 'add', 'alice'])).stderr).toMatch(/COFRE_OPERATOR_EXISTS/);
    expect((await cli(dir, ['operator', 'revoke', 'alice'])).code).toBe(0);
    expect((await cli(dir, ['operator', 'list'])).stdout).toMatch(/^alice\s+revoked\s/m);
    const again = await cli(dir, ['operator', 'revoke', 'alice']);
    expect([again.code, again.stderr]).toEqual([1, expect.stringMatching(/COFRE_OPERATOR_NOT_FOUND/)]);
  });
});

describe('cofre approval', () => {
  it('lists and shows an approval with its payload and hash', async () => {
    createApproval('req_a');
    const list = await cli(dir, ['approval', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^req_a\s+pending\s+bot-1\s+place_order\s+paper\s+0\/2\s/m);
    expect((await cli(dir, ['approval', 'list', '--status', 'denied'])).stdout).not.toMatch(/req_a/);
    expect((await cli(dir, ['approval', 'list', '--status', 'bogus'])).code).toBe(2);
    const shown = await cli(dir, ['approval', 'show', 'req_a']);
    expect(shown.stdout).toContain(`payloadHash: ${HASH}`);
    expect(shown.stdout).toMatch(/"amount": "0\.25"/);
    const missing = await cli(dir, ['approval', 'show', 'nope']);
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringMatching(/COFRE_APPROVAL_NOT_FOUND/)]);
  });

  it('approves the shown hash as the local user, once, and audits it', async () => {
    createApproval('req_b');
    const approved = await cli(dir, ['approval', 'approve', 'req_b', '--comment', 'checked']);
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(`payloadHash: ${HASH}`);
    expect(approved.stderr).toMatch(/1 more approval\(s\) needed/);
    const twice = await cli(dir, ['approval', 'approve', 'req_b']);
    expect([twice.code, twice.stderr]).toEqual([1, expect.stringMatching(/COFRE_APPROVAL_ALREADY_VOTED/)]);
    expect(withState((s) => s.approval('req_b')?.approvals)).toEqual([
      { operator: ME, at: expect.any(Date), comment: 'checked' },
    ]);
    const audit = readFileSync(join(dir, 'cofre-audit.jsonl'), 'utf8');
    expect(audit).toMatch(/"kind":"operator".*"action":"approve"/);
  });

  it('refuses a payload hash other than the current one', async () => {
    createApproval('req_c');
    const r = await cli(dir, ['approval', 'approve', 'req_c', '--payload-hash', '8'.repeat(64)]);
    expect([r.code, r.stderr]).toEqual([1, expect.stringMatching(/COFRE_APPROVAL_HASH_MISMATCH/)]);
    expect(withState((s) => s.approval('req_c')?.approvals)).toEqual([]);
  });

  it('denies; a denied request can be neither denied nor approved again', async () => {
    createApproval('req_d');
    const denied = await cli(dir, ['approval', 'deny', 'req_d', '--comment', 'no']);
    expect(denied.code).toBe(0);
    expect(withState((s) => s.approval('req_d'))).toMatchObject({
      status: 'denied',
      decidedBy: ME,
      comment: 'no',
    });
    expect((await cli(dir, ['approval', 'deny', 'req_d'])).stderr).toMatch(/COFRE_APPROVAL_NOT_PENDING/);
    expect((await cli(dir, ['approval', 'approve', 'req_d'])).stderr).toMatch(/COFRE_APPROVAL_NOT_PENDING/);
  });
});

describe('cofre halt and resume', () => {
  it('halts (persisted), revoking agents when asked, and resumes', async () => {
    expect((await cli(dir, ['agent', 'add', 'bot-1', '--policy', 'paper-trading'])).code).toBe(0);
    const halted = await cli(dir, ['halt', '--reason', 'incident 7', '--revoke-agents']);
    expect(halted.code).toBe(0);
    expect(halted.stderr).toMatch(/Halted by local:.*: incident 7/);
    expect(halted.stderr).toMatch(/Revoked agents: bot-1/);
    expect(withState((s) => s.halted())).toMatchObject({ reason: 'incident 7', by: ME });
    expect((await cli(dir, ['agent', 'list'])).stdout).toMatch(/^bot-1\s+paper-trading\s+revoked\s/m);
    const resumed = await cli(dir, ['resume']);
    expect([resumed.code, resumed.stderr]).toEqual([0, expect.stringMatching(/Resumed by local:/)]);
    expect(withState((s) => s.halted())).toBeUndefined();
    expect((await cli(dir, ['resume'])).stderr).toMatch(/was not halted/);
  });

  it('halts with a default reason', async () => {
    expect((await cli(dir, ['halt'])).code).toBe(0);
    expect(withState((s) => s.halted()?.reason)).toBe('halted from the command line');
  });

  it.each([
    [['operator']],
    [['operator', 'add']],
    [['operator', 'list']],
    [['operator', 'revoke']],
    [['approval']],
    [['approval', 'list']],
    [['approval', 'show']],
    [['approval', 'approve']],
    [['approval', 'deny']],
    [['halt']],
    [['resume']],
  ])('has --help on %j', async (command) => {
    const result = await cli(dir, [...command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: cofre/m);
  });
});
