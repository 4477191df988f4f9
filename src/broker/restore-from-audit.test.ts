// Issue 11: what reconciliation from the audit log puts back into a state that lost it, and what it leaves alone.
// Real files throughout: the hash-chained writer, the SQLite store, the rule policy from YAML.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { AuditEvent } from '../audit/audit-log.js';
import { ChainedAuditLog } from '../audit/chained-audit-log.js';
import { parseConfig } from '../config/load-config.js';
import { RulePolicy } from '../policy/rule-policy.js';
import { SqliteStateStore } from '../state/sqlite/sqlite-state-store.js';
import { pendingApproval } from '../state/sqlite/testdata/pending-approval.js';
import { issueAgentToken } from './agent-tokens.js';
import { advanceAuditHorizon, type AuditRestoreReport, restoreFromAudit } from './restore-from-audit.js';

let dir: string;
let auditPath: string;
let state: SqliteStateStore;
let log: ChainedAuditLog;

const config = parseConfig(
  [
    'backends: { local: { type: embedded, path: cofre.store, keyFile: cofre.key } }',
    'accounts:',
    '  paper: { venue: binance, mode: paper, credentials: { apiKey: "local:k#a", secret: "local:k#s" } }',
    'addressBook:',
    '  cold-usdt: { asset: USDT, network: TRX, address: "TColdWalletAddressForRestoreTests0001" }',
    'policies:',
    '  trader:',
    '    rules:',
    '      - { allow: [place_order, cancel_order, withdraw], accounts: [paper] }',
    '    limits:',
    '      - { per: agent, window: 1d, notional: 1000, quote: USDT }',
  ].join('\n'),
);
const policy = new RulePolicy({
  policies: config.policies,
  accounts: config.accounts,
  addressBook: config.addressBook,
  now: () => new Date(),
});
const NOTIONAL_KEY = () => policy.limitsFor('bot-1', 'trader').find((l) => l.measure === 'notional')!;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cofre-restore-'));
  auditPath = join(dir, 'audit.jsonl');
  state = new SqliteStateStore(join(dir, 'state.db'));
  await issueAgentToken(state, { id: 'bot-1', policy: 'trader', ttlMs: 3_600_000, now: new Date() });
  log = new ChainedAuditLog({
    path: auditPath,
    checkpoint: { every: 1_000_000, interval: 3_600_000 },
    rotate: { maxSize: 1024 ** 3, keep: 10 },
  });
});

afterEach(async () => {
  await log.close();
  state.close();
  await rm(dir, { recursive: true, force: true });
});

/** An order's intent as broker-audit.ts writes it. */
function orderIntent(requestId: string, clientOrderId: string, over: Partial<AuditEvent> = {}): AuditEvent {
  return {
    kind: 'intent',
    requestId,
    agent: 'bot-1',
    action: 'place_order',
    account: 'paper',
    decision: 'allow',
    rule: 'policies.trader.rules[0]',
    policyHash: 'h',
    clientOrderId,
    detail: {
      symbol: 'BTC/USDT',
      base: 'BTC',
      quote: 'USDT',
      side: 'buy',
      type: 'limit',
      amount: '0.001',
      price: '50000',
      referencePrice: '60000',
      notional: '50',
    },
    ...over,
  } as AuditEvent;
}

function restore(now = new Date()): Promise<AuditRestoreReport> {
  return restoreFromAudit({
    state,
    policy,
    auditPath,
    logger: pino({ level: 'silent' }),
    now: () => now,
    retentionMs: 86_400_000,
  });
}

const used = (): string | undefined => {
  const view = NOTIONAL_KEY();
  return state.usage([view], new Date()).get(view.key);
};

describe('restoreFromAudit', () => {
  it('restores an order the state lost as executing, with its key, input and reservation', async () => {
    await log.append(orderIntent('r1', 'c-1'));
    const report = await restore();
    expect(report).toMatchObject({
      from: 'start',
      restored: [{ requestId: 'r1', outcome: 'restored' }],
      skipped: [],
    });
    expect(state.request('r1')).toMatchObject({
      agentId: 'bot-1',
      status: 'executing',
      idempotencyKey: 'bot-1:paper:c-1',
      input:
        '{"account":"paper","amount":"0.001","clientOrderId":"c-1","price":"50000","side":"buy","symbol":"BTC/USDT","type":"limit"}',
    });
    expect(state.reservedRequests()).toEqual(['r1']);
    expect(used()).toBe('50');
    // A second pass (another process, or the next start) changes nothing.
    expect((await restore()).restored).toEqual([]);
    expect(used()).toBe('50');
  });

  it("restores a delegated agent's order against its chain root's budget (issue 17)", async () => {
    await log.append(orderIntent('r-child', 'c-child', { agent: 'bot-1/scout', onBehalfOf: ['bot-1'] }));
    expect((await restore()).restored).toEqual([{ requestId: 'r-child', outcome: 'restored' }]);
    expect(state.request('r-child')).toMatchObject({
      agentId: 'bot-1/scout',
      idempotencyKey: 'bot-1/scout:paper:c-child',
    });
    expect(used()).toBe('50');
  });

  it('reads only after the horizon: an intent before it, whose row is absent, is left alone', async () => {
    await log.append(orderIntent('before', 'c-1'));
    await advanceAuditHorizon(state, auditPath, new Date());
    await log.append(orderIntent('after', 'c-2'));
    const report = await restore();
    expect(report.from).toBe('position');
    expect(report.read).toBe(1);
    expect(report.restored).toEqual([{ requestId: 'after', outcome: 'restored' }]);
    expect(state.request('before')).toBeUndefined();
  });

  it('leaves alone what was not sent or is safe to send again, and rows it still has', async () => {
    await log.append(orderIntent('denied', 'c-1', { decision: 'deny' }));
    await log.append(orderIntent('waiting', 'c-2', { decision: 'approval' }));
    await log.append({
      kind: 'intent',
      requestId: 'cancel',
      agent: 'bot-1',
      action: 'cancel_order',
      decision: 'allow',
    });
    await log.append({
      kind: 'outcome',
      requestId: 'x',
      agent: 'bot-1',
      action: 'place_order',
      status: 'executed',
    });
    const now = new Date();
    state.claimRequest({
      requestId: 'done',
      agentId: 'bot-1',
      action: 'place_order',
      account: 'paper',
      idempotencyKey: 'bot-1:paper:c-3',
      input: '{}',
      status: 'executing',
      response: undefined,
      createdAt: now,
      updatedAt: now,
    });
    state.finishRequest('done', { status: 'executed', response: '{}', at: now, releaseKey: false });
    await log.append(orderIntent('done', 'c-3'));
    expect(await restore()).toMatchObject({ restored: [], skipped: [] });
    for (const id of ['denied', 'waiting', 'cancel']) expect(state.request(id)).toBeUndefined();
    expect(state.request('done')?.status).toBe('executed');
    expect(used()).toBe('0');
  });

  it('marks an approved run executed, so a rolled-back approval cannot run it a second time', async () => {
    const now = new Date();
    state.claimRequest({
      requestId: 'ap1',
      agentId: 'bot-1',
      action: 'place_order',
      account: 'paper',
      idempotencyKey: 'bot-1:paper:c-9',
      input: '{}',
      status: 'pending_approval',
      response: '{}',
      createdAt: now,
      updatedAt: now,
    });
    state.createApproval(
      pendingApproval('ap1', { createdAt: now, expiresAt: new Date(now.getTime() + 60_000) }),
    );
    await log.append(orderIntent('ap1', 'c-9', { decision: 'approval', approvedBy: 'alice' }));
    expect((await restore()).restored).toEqual([{ requestId: 'ap1', outcome: 'resumed' }]);
    expect(state.request('ap1')?.status).toBe('executing');
    expect(state.approval('ap1')?.status).toBe('executed');
    expect(state.claimApprovedForExecution('ap1', now)).toBe(false);
    expect(used()).toBe('50');
  });

  it('restores a withdrawal by its clientWithdrawId, and names those it cannot rebuild', async () => {
    const withdrawal = (requestId: string, clientWithdrawId?: string): AuditEvent => ({
      kind: 'intent',
      requestId,
      agent: 'bot-1',
      action: 'withdraw',
      account: 'paper',
      decision: 'allow',
      ...(clientWithdrawId === undefined ? {} : { clientWithdrawId }),
      detail: { asset: 'USDT', amount: '25', destination: 'cold-usdt', network: 'TRX' },
    });
    await log.append(withdrawal('w1', 'w-1'));
    await log.append(withdrawal('w2'));
    const report = await restore();
    expect(report.restored).toEqual([{ requestId: 'w1', outcome: 'restored' }]);
    expect(report.skipped).toEqual([
      { requestId: 'w2', reason: expect.stringContaining('clientWithdrawId') },
    ]);
    expect(state.request('w1')).toMatchObject({
      status: 'executing',
      idempotencyKey: 'bot-1:paper:withdraw:w-1',
      input:
        '{"account":"paper","amount":"25","asset":"USDT","clientWithdrawId":"w-1","destination":"cold-usdt"}',
    });
  });

  it('skips an intent older than the retention, and one whose key another request holds', async () => {
    await log.append(orderIntent('old', 'c-1'));
    const later = new Date(Date.now() + 2 * 86_400_000);
    expect((await restore(later)).skipped).toEqual([
      { requestId: 'old', reason: expect.stringContaining('retention') },
    ]);
    state.setAuditHorizon({ seq: -1, hash: '', ino: '', offset: 0, at: new Date() });
    const now = new Date();
    state.claimRequest({
      requestId: 'holder',
      agentId: 'bot-1',
      action: 'place_order',
      account: 'paper',
      idempotencyKey: 'bot-1:paper:c-1',
      input: '{}',
      status: 'executing',
      response: undefined,
      createdAt: now,
      updatedAt: now,
    });
    expect((await restore()).skipped).toEqual([
      { requestId: 'old', reason: expect.stringContaining('holder') },
    ]);
    expect(state.request('old')).toBeUndefined();
  });
});
