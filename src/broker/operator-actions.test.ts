// Operator actions over the real SQLite store. The broker side (BrokerControl) is the lead's and not wired in this
// branch yet, so these tests use a small in-test BrokerControl that records what it was asked to do; the end-to-end
// tests through the real Broker come with the wiring.

import { describe, expect, it } from 'vitest';

import type { AuditEvent, AuditSink } from '../audit/audit-log.js';
import { issueAgentSession } from '../identity/agent-sessions.js';
import type { HaltState } from '../state/control-store.js';
import { SqliteStateStore } from '../state/sqlite/sqlite-state-store.js';
import { pendingApproval, TEST_PAYLOAD_HASH } from '../state/sqlite/testdata/pending-approval.js';
import { issueAgentToken } from './agent-tokens.js';
import type { ActionResponse } from './broker.js';
import type { BrokerControl, CancelAllReport } from './broker-control.js';
import { OperatorActions } from './operator-actions.js';

/** Records every call; executes an approved request by claiming it in the store, as the broker will. */
class RecordingControl implements BrokerControl {
  readonly calls: string[] = [];
  constructor(private readonly store: SqliteStateStore) {}
  executeApproved(requestId: string, operator: string): Promise<ActionResponse> {
    this.calls.push(`execute ${requestId} by ${operator}`);
    const won = this.store.claimApprovedForExecution(requestId, new Date(2_000));
    return Promise.resolve({ requestId, status: won ? 'executed' : 'failed' });
  }
  cancelAllOpenOrders(by: string): Promise<readonly CancelAllReport[]> {
    this.calls.push(`cancel-all by ${by}`);
    return Promise.resolve([{ account: 'paper', cancelled: 2 }]);
  }
  halt(state: HaltState): Promise<void> {
    this.calls.push(`halt ${state.reason}`);
    return Promise.resolve();
  }
  resume(): void {
    this.calls.push('resume');
  }
}

class MemoryAudit implements AuditSink {
  readonly events: AuditEvent[] = [];
  failing = false;
  append(event: AuditEvent): Promise<void> {
    if (this.failing) return Promise.reject(new Error('disk full'));
    this.events.push(event);
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function setup(now = new Date(1_500)) {
  const store = new SqliteStateStore(':memory:');
  const broker = new RecordingControl(store);
  const audit = new MemoryAudit();
  const actions = new OperatorActions({ store, broker, audit, now: () => now });
  return { store, broker, audit, actions };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('OperatorActions approvals', () => {
  it('shows the bound payload parsed, and lists by status', async () => {
    const { store, actions } = setup();
    store.createApproval(pendingApproval('r1'));
    expect(await actions.show('r1')).toMatchObject({
      requestId: 'r1',
      agent: 'bot-1',
      status: 'pending',
      payload: { order: { amount: '0.1', symbol: 'BTC/USDT' } },
      payloadHash: TEST_PAYLOAD_HASH,
      expiresAt: new Date(60_000).toISOString(),
    });
    expect((await actions.list('pending')).map((a) => a.requestId)).toEqual(['r1']);
    expect(await actions.list('denied')).toEqual([]);
    await expect(actions.show('nope')).rejects.toThrow(
      expect.objectContaining({ code: 'COFRE_APPROVAL_NOT_FOUND' }),
    );
  });

  it('executes once the quorum is reached, and audits each vote before', async () => {
    const { store, broker, audit, actions } = setup();
    store.createApproval(pendingApproval('r1', { required: 2 }));
    const first = await actions.approve('r1', 'alice', TEST_PAYLOAD_HASH, 'looks fine');
    expect(first).toMatchObject({ outcome: 'recorded', remaining: 1 });
    expect(broker.calls).toEqual([]);
    const second = await actions.approve('r1', 'bob', TEST_PAYLOAD_HASH, undefined);
    expect(second).toMatchObject({
      outcome: 'executed',
      response: { requestId: 'r1', status: 'executed' },
      approval: { status: 'executed' },
    });
    expect(broker.calls).toEqual(['execute r1 by bob']);
    expect(
      audit.events.map((e) => [e.kind, e.action, e.agent, (e.detail as { operator: string }).operator]),
    ).toEqual([
      ['operator', 'approve', 'bot-1', 'alice'],
      ['operator', 'approve', 'bot-1', 'bob'],
    ]);
  });

  it('refuses with a code for each reason, executing nothing', async () => {
    const { store, broker, actions } = setup();
    store.createApproval(pendingApproval('named', { approvers: ['alice'], required: 1 }));
    expect(await codeOf(actions.approve('named', 'bob', TEST_PAYLOAD_HASH, undefined))).toBe(
      'COFRE_APPROVAL_NOT_APPROVER',
    );
    expect(await codeOf(actions.approve('named', 'alice', 'd'.repeat(64), undefined))).toBe(
      'COFRE_APPROVAL_HASH_MISMATCH',
    );
    store.createApproval(pendingApproval('two', { required: 2 }));
    await actions.approve('two', 'alice', TEST_PAYLOAD_HASH, undefined);
    expect(await codeOf(actions.approve('two', 'alice', TEST_PAYLOAD_HASH, undefined))).toBe(
      'COFRE_APPROVAL_ALREADY_VOTED',
    );
    expect(await codeOf(actions.approve('none', 'alice', TEST_PAYLOAD_HASH, undefined))).toBe(
      'COFRE_APPROVAL_NOT_FOUND',
    );
    store.createApproval(pendingApproval('old', { expiresAt: new Date(1_200) }));
    expect(await codeOf(actions.approve('old', 'alice', TEST_PAYLOAD_HASH, undefined))).toBe(
      'COFRE_APPROVAL_NOT_PENDING',
    );
    expect((await actions.show('old')).status).toBe('expired');
    expect(broker.calls).toEqual([]);
  });

  it('audits a refused approval with its reason', async () => {
    const { store, audit, actions } = setup();
    store.createApproval(pendingApproval('r1'));
    await codeOf(actions.approve('r1', 'alice', 'd'.repeat(64), undefined));
    expect(audit.events).toEqual([
      {
        kind: 'operator',
        requestId: 'r1',
        agent: 'bot-1',
        action: 'approve',
        account: 'paper',
        detail: { operator: 'alice', outcome: 'refused: hash-mismatch', payloadHash: 'd'.repeat(64) },
      },
    ]);
  });

  it('denies a pending approval once; a denied one cannot be approved', async () => {
    const { store, broker, audit, actions } = setup();
    store.createApproval(pendingApproval('r1'));
    expect(await actions.deny('r1', 'carol', 'not today')).toMatchObject({
      status: 'denied',
      decidedBy: 'carol',
      comment: 'not today',
    });
    expect(await codeOf(actions.deny('r1', 'carol', undefined))).toBe('COFRE_APPROVAL_NOT_PENDING');
    expect(await codeOf(actions.approve('r1', 'alice', TEST_PAYLOAD_HASH, undefined))).toBe(
      'COFRE_APPROVAL_NOT_PENDING',
    );
    expect(await codeOf(actions.deny('none', 'carol', undefined))).toBe('COFRE_APPROVAL_NOT_FOUND');
    expect(broker.calls).toEqual([]);
    expect(audit.events.map((e) => [e.action, (e.detail as { outcome?: string }).outcome])).toEqual([
      ['deny', undefined],
      ['approve', 'refused: denied'],
    ]);
  });

  it('executes nothing when the vote cannot be audited, and executes on the next approve once it can', async () => {
    const { store, broker, audit, actions } = setup();
    store.createApproval(pendingApproval('r1'));
    audit.failing = true;
    await expect(actions.approve('r1', 'alice', TEST_PAYLOAD_HASH, undefined)).rejects.toThrow('disk full');
    expect(broker.calls).toEqual([]);
    audit.failing = false;
    // The vote stands (quorum reached); approving again with the same hash executes it, once.
    expect(await actions.approve('r1', 'alice', TEST_PAYLOAD_HASH, undefined)).toMatchObject({
      outcome: 'executed',
    });
    expect(await codeOf(actions.approve('r1', 'alice', 'e'.repeat(64), undefined))).toBe(
      'COFRE_APPROVAL_NOT_PENDING',
    );
    expect(broker.calls).toEqual(['execute r1 by alice']);
  });
});

describe('OperatorActions halt', () => {
  it('persists the halt, stops the broker, revokes agents and cancels orders when asked, in that order', async () => {
    const { store, broker, audit, actions } = setup();
    await issueAgentToken(store, { id: 'bot-1', policy: 'p', ttlMs: 60_000, now: new Date(0) });
    await issueAgentToken(store, { id: 'bot-2', policy: 'p', ttlMs: 60_000, now: new Date(0) });
    store.revokeAgent('bot-2', new Date(1));
    const exchanged = await issueAgentSession(store, {
      agentId: 'k8s-bot',
      policy: 'p',
      kind: 'exchange',
      now: new Date(0),
      expiresAt: new Date(60_000),
    });
    const report = await actions.halt('alice', {
      reason: 'incident',
      cancelOpenOrders: true,
      revokeAgents: true,
    });
    expect(store.agentSessions([exchanged.session.tokenId])[0]?.revokedAt).toEqual(new Date(1_500));
    expect(report).toEqual({
      halt: { reason: 'incident', by: 'alice', at: new Date(1_500).toISOString() },
      revokedAgents: ['bot-1', 'k8s-bot'],
      cancelled: [{ account: 'paper', cancelled: 2 }],
    });
    expect(store.halted()).toEqual({ reason: 'incident', by: 'alice', at: new Date(1_500) });
    expect(broker.calls).toEqual(['halt incident', 'cancel-all by alice']);
    expect(store.listAgents().every((a) => a.revokedAt !== undefined)).toBe(true);
    expect(audit.events.map((e) => e.action)).toEqual(['halt']);
  });

  it('halts without revoking or cancelling by default, and still halts when the audit fails', async () => {
    const { store, broker, audit, actions } = setup();
    await issueAgentToken(store, { id: 'bot-1', policy: 'p', ttlMs: 60_000, now: new Date(0) });
    audit.failing = true;
    expect(await actions.halt('alice', { reason: 'r' })).toEqual({
      halt: { reason: 'r', by: 'alice', at: new Date(1_500).toISOString() },
      revokedAgents: [],
    });
    expect(store.halted()?.reason).toBe('r');
    expect(broker.calls).toEqual(['halt r']);
    expect(store.listAgents()[0]?.revokedAt).toBeUndefined();
  });

  it('resumes: clears the persisted halt and the broker; says when it was not halted', async () => {
    const { store, broker, actions } = setup();
    await actions.halt('alice', { reason: 'r' });
    expect(await actions.resume('bob')).toEqual({ resumed: true });
    expect(store.halted()).toBeUndefined();
    expect(await actions.resume('bob')).toEqual({ resumed: false });
    expect(broker.calls).toEqual(['halt r', 'resume', 'resume']);
  });
});
