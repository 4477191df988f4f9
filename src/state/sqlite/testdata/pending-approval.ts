import { createHash } from 'node:crypto';

import type { ApprovalRecord } from '../../control-store.js';

/** The payload every test approval binds, and its SHA-256: what an operator approves. */
export const TEST_PAYLOAD = '{"order":{"amount":"0.1","symbol":"BTC/USDT"}}';
export const TEST_PAYLOAD_HASH = createHash('sha256').update(TEST_PAYLOAD).digest('hex');

/**
 * A pending approval for tests of the control store and of operator actions: bound to {@link TEST_PAYLOAD}, one
 * approval from any operator, created at t = 1 s and expiring at t = 60 s; `overrides` change any field.
 */
export function pendingApproval(id: string, overrides: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return {
    requestId: id,
    agentId: 'bot-1',
    action: 'place_order',
    account: 'paper',
    payload: TEST_PAYLOAD,
    payloadHash: TEST_PAYLOAD_HASH,
    rule: 'policies.trader.rules[1]',
    required: 1,
    approvers: [],
    status: 'pending',
    approvals: [],
    decidedBy: undefined,
    comment: undefined,
    createdAt: new Date(1_000),
    expiresAt: new Date(60_000),
    decidedAt: undefined,
    ...overrides,
  };
}
