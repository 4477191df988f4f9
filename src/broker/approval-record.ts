import { createHash } from 'node:crypto';

import type { PolicyDecision } from '../policy/policy-types.js';
import type { ApprovalRecord } from '../state/control-store.js';

/** SHA-256 (hex) of a payload's canonical JSON text: what an operator approves. */
export function payloadHashOf(payload: string): string {
  return createHash('sha256').update(payload, 'utf8').digest('hex');
}

/**
 * A new pending approval for a request the policy sent to operators (`decision.decision === 'approval'`): bound to
 * `payload` (the canonical JSON of exactly what will be sent, and the decision) by its hash, needing
 * `decision.approvers.count` distinct operators (1 when the rule names none) among `decision.approvers.of` (any
 * operator when absent), expiring `expiryMs` (`approvals.expiry`) after `now`. Pure.
 */
export function newApprovalRecord(input: {
  readonly requestId: string;
  readonly agentId: string;
  readonly action: string;
  readonly account: string | undefined;
  readonly payload: string;
  readonly decision: PolicyDecision;
  readonly now: Date;
  readonly expiryMs: number;
}): ApprovalRecord {
  return {
    requestId: input.requestId,
    agentId: input.agentId,
    action: input.action,
    account: input.account,
    payload: input.payload,
    payloadHash: payloadHashOf(input.payload),
    rule: input.decision.rule,
    required: Math.max(1, input.decision.approvers?.count ?? 1),
    approvers: [...(input.decision.approvers?.of ?? [])],
    status: 'pending',
    approvals: [],
    decidedBy: undefined,
    comment: undefined,
    createdAt: input.now,
    expiresAt: new Date(input.now.getTime() + input.expiryMs),
    decidedAt: undefined,
  };
}
