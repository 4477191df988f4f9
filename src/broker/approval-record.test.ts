// Building a pending approval from a policy decision: hash, quorum, approvers and expiry.
import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import type { PolicyDecision } from '../policy/policy-types.js';
import { SqliteStateStore } from '../state/sqlite/sqlite-state-store.js';
import { newApprovalRecord } from './approval-record.js';

const decision: PolicyDecision = {
  decision: 'approval',
  rule: 'policies.trader.rules[2]',
  reason: 'orders above 500 USDT wait for an operator',
  policyHash: '0'.repeat(64),
  approvers: { count: 2, of: ['alice', 'bob', 'carol'] },
  limits: [],
  shadow: [],
};

describe('newApprovalRecord', () => {
  it('binds the payload by its SHA-256 and takes quorum and approvers from the decision', () => {
    const payload = '{"order":{"amount":"1","symbol":"BTC/USDT"}}';
    const record = newApprovalRecord({
      requestId: 'r1',
      agentId: 'bot',
      action: 'place_order',
      account: 'paper',
      payload,
      decision,
      now: new Date(1_000),
      expiryMs: 900_000,
    });
    expect(record).toMatchObject({
      payloadHash: createHash('sha256').update(payload).digest('hex'),
      rule: 'policies.trader.rules[2]',
      required: 2,
      approvers: ['alice', 'bob', 'carol'],
      status: 'pending',
      expiresAt: new Date(901_000),
    });
    // The store accepts it as it is.
    const store = new SqliteStateStore(':memory:');
    store.createApproval(record);
    expect(store.approval('r1')).toEqual(record);
  });

  it('needs one approval from any operator when the rule names none', () => {
    const { approvers: _none, ...bare } = decision;
    const record = newApprovalRecord({
      requestId: 'r2',
      agentId: 'bot',
      action: 'withdraw',
      account: undefined,
      payload: '{}',
      decision: bare,
      now: new Date(0),
      expiryMs: 60_000,
    });
    expect([record.required, record.approvers]).toEqual([1, []]);
  });
});
