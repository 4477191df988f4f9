import type { PolicyDecision } from '../policy/policy-types.js';
import type { BrokerContext, Claimed } from './broker-types.js';
import type { ResolvedAction } from './resolve-action.js';

export function auditIntent(
  ctx: BrokerContext,
  request: Claimed,
  resolved: ResolvedAction,
  decision: PolicyDecision,
  input: unknown,
  approvedBy?: string,
): Promise<void> {
  return ctx.deps.audit.append({
    kind: 'intent',
    requestId: request.requestId,
    agent: request.agent.id,
    action: request.action,
    account: request.account,
    decision: decision.decision,
    rule: decision.rule,
    policyHash: decision.policyHash,
    ...(decision.shadow.length === 0 ? {} : { shadow: decision.shadow }),
    ...(approvedBy === undefined ? {} : { approvedBy }),
    // The venue knows an order by its clientOrderId: naming it in the intent matches every order that reached the
    // venue to its intent, even when the process died before the outcome (test/invariants/audit-kill9.test.ts).
    ...clientOrderIdOf(input),
    // Issue 11: a withdrawal's own id too, so reconciliation can rebuild its key and ask the venue for it.
    ...clientWithdrawIdOf(input),
    // SECURITY: a withdrawal is recorded by its label; the address stays in the operator's address book.
    detail: resolved.question.order ?? resolved.question.withdrawal ?? input,
  });
}

function clientOrderIdOf(input: unknown): { clientOrderId?: string } {
  const id =
    typeof input === 'object' && input !== null
      ? (input as { clientOrderId?: unknown }).clientOrderId
      : undefined;
  return typeof id === 'string' ? { clientOrderId: id } : {};
}

function clientWithdrawIdOf(input: unknown): { clientWithdrawId?: string } {
  const id =
    typeof input === 'object' && input !== null
      ? (input as { clientWithdrawId?: unknown }).clientWithdrawId
      : undefined;
  return typeof id === 'string' ? { clientWithdrawId: id } : {};
}
