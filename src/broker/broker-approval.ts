import type { PolicyDecision } from '../policy/policy-types.js';
import { bindAction, chainBinding } from './approval-binding.js';
import { newApprovalRecord } from './approval-record.js';
import { auditIntent } from './broker-audit.js';
import { denied, finish } from './broker-finish.js';
import {
  type ActionResponse,
  type BrokerContext,
  type Claimed,
  emptyRecord,
  type ExecuteOptions,
} from './broker-types.js';
import type { ResolvedAction } from './resolve-action.js';
import { isEncryptionAction } from './run-action.js';

const DEFAULT_APPROVAL_TTL_MS = 15 * 60_000;

/**
 * An `approve` rule matched: the request is bound to the hash of exactly what will be sent and waits for
 * operators (`cofre approval approve`, `/v1/operator/approvals`). Nothing is reserved yet: limits are checked when
 * it is approved, so a pending request blocks no budget. An intent that cannot be audited creates no approval.
 */
export async function awaitApproval(
  ctx: BrokerContext,
  request: Claimed,
  resolved: ResolvedAction,
  decision: PolicyDecision,
  input: unknown,
): Promise<ActionResponse> {
  if (isEncryptionAction(request.action)) {
    // SECURITY (issue 19): an approval keeps the bound input until it runs, and operators see it: an encryption
    // action's plaintext or ciphertext would rest in the state store. Such a rule denies instead.
    const reason = `${request.action} cannot wait for an operator's approval (rule ${decision.rule}): its data would be stored with the approval; ask the operator for a rule that allows it`;
    const denial: PolicyDecision = { ...decision, decision: 'deny', reason };
    // On record like every denial (by key and purpose); written, not waited for: nothing is sent.
    await auditIntent(ctx, { request, resolved, decision: denial, input }, { wait: 'written' }).catch(
      (err: unknown) => {
        ctx.deps.logger.error(
          { err, requestId: request.requestId },
          'audit append failed for a denied request',
        );
      },
    );
    return finish(ctx, request, denied(request.requestId, denial), emptyRecord());
  }
  const { payload, payloadHash } = bind(request, resolved, decision, input);
  try {
    await auditIntent(ctx, { request, resolved, decision, input });
  } catch (err) {
    await ctx.deps.state.releaseRequest(request.requestId);
    throw err;
  }
  const approval = newApprovalRecord({
    requestId: request.requestId,
    agentId: request.agent.id,
    action: request.action,
    account: request.account,
    payload,
    decision,
    now: ctx.now(),
    expiryMs: ctx.deps.approvalTtlMs ?? DEFAULT_APPROVAL_TTL_MS,
  });
  const expiresAt = approval.expiresAt;
  await ctx.deps.state.createApproval(approval);
  const answer = await finish(
    ctx,
    request,
    {
      requestId: request.requestId,
      status: 'pending_approval',
      rule: decision.rule,
      reason: `${request.action} waits for an operator's approval (${decision.rule}) until ${expiresAt.toISOString()}: ask get_request with this requestId for the result, and do not send it again`,
      approval: { expiresAt: expiresAt.toISOString(), payloadHash },
    },
    emptyRecord(),
  );
  ctx.deps.onPendingApproval?.(approval);
  return answer;
}

/**
 * A `confirm` rule matched: asks the person at the agent's client to confirm the exact action. Resolves undefined
 * when they did, else the reason of the denial. Fails closed: a client that cannot ask, or any error while asking,
 * is a denial.
 */
export async function confirmAtClient(
  ctx: BrokerContext,
  request: Claimed,
  resolved: ResolvedAction,
  decision: PolicyDecision,
  input: unknown,
  options: ExecuteOptions,
): Promise<string | undefined> {
  if (options.confirm === undefined) {
    return 'this action needs confirmation by the person at your client, and your client cannot ask (MCP elicitation)';
  }
  const { payloadHash } = bind(request, resolved, decision, input);
  const summary = `${request.agent.id} asks to ${request.action} ${describe(resolved, input)} (rule ${decision.rule})`;
  const confirmed = await options
    .confirm({ requestId: request.requestId, summary, payloadHash })
    .catch((err: unknown) => {
      ctx.deps.logger.warn({ err, requestId: request.requestId }, 'confirmation at the client failed');
      return false;
    });
  return confirmed ? undefined : 'the person at your client did not confirm it';
}

/** The request bound to exactly what it will send (approval-binding.ts). */
function bind(request: Claimed, resolved: ResolvedAction, decision: PolicyDecision, input: unknown) {
  return bindAction({
    agentId: request.agent.id,
    policy: request.agent.policy,
    action: request.action,
    account: request.account,
    input,
    send: resolved.payload ?? null,
    rule: decision.rule,
    policyHash: decision.policyHash,
    ...chainBinding(request.agent),
  });
}

/** A one-line description of an action for a person confirming it; no secret (a withdrawal shows its label). */
function describe(resolved: ResolvedAction, input: unknown): string {
  const { order, withdrawal, account, encryption } = resolved.question;
  // Issue 19: by key and purpose; the data itself is not for the confirmation prompt.
  if (encryption !== undefined) return `with key ${encryption.key} for purpose ${encryption.purpose}`;
  if (order !== undefined) {
    const price = order.price === undefined ? 'at market' : `at ${order.price}`;
    return `${order.side} ${order.amount} ${order.symbol} ${price} (about ${order.notional} ${order.quote}) on ${account ?? '?'}`;
  }
  if (withdrawal !== undefined) {
    return `${withdrawal.amount} ${withdrawal.asset} from ${account ?? '?'} to ${withdrawal.destination}`;
  }
  return JSON.stringify(input);
}
