import type { PolicyDecision } from '../policy/policy-types.js';
import type { RequestRecord } from '../state/state-store.js';
import type { ActionName } from './actions.js';
import type { AuthenticatedAgent } from './agent-tokens.js';
import { keptInputOf } from './broker-encryption.js';
import type { ActionResponse, BrokerContext, Claimed } from './broker-types.js';
import { canonicalInput, checkReplay, type IdempotencyField, idempotencyKeyFor } from './idempotency.js';
import { randomId } from './random-id.js';
import { plainQuestion } from './resolve-action.js';

/**
 * Records the request as `executing`, claiming its idempotency key if it has one; or, when this agent already used
 * that key, the answer to give instead (see {@link replay}). A request with no key allowed outright (a read, a
 * cancel: safe to send again) is recorded only when it finishes (`Claimed.unstored`): until then `get_request`
 * does not know it, and a stop in the middle leaves nothing to settle.
 */
export async function claim(
  ctx: BrokerContext,
  agent: AuthenticatedAgent,
  action: ActionName,
  input: unknown,
  decision: PolicyDecision,
): Promise<{ readonly request: Claimed; readonly replay?: undefined } | { readonly replay: ActionResponse }> {
  const canonical = canonicalInput(input);
  // A denied request claims no key: the same clientOrderId may be used once policy allows it.
  const idempotencyKey =
    decision.decision === 'deny' ? undefined : idempotencyKeyFor(agent.id, action, input);
  const account = plainQuestion(agent, action, input).account;
  const request: Claimed = { requestId: newRequestId(), agent, action, account, idempotencyKey };
  const now = ctx.now();
  // SECURITY (issue 19): an encryption action's plaintext or ciphertext is never stored with its request.
  const kept = keptInputOf(action, input);
  const record: RequestRecord = {
    requestId: request.requestId,
    agentId: agent.id,
    action,
    account,
    idempotencyKey,
    input: kept === input ? canonical : canonicalInput(kept),
    status: 'executing',
    response: undefined,
    createdAt: now,
    updatedAt: now,
  };
  if (idempotencyKey === undefined && decision.decision === 'allow') {
    return { request: { ...request, unstored: record } };
  }
  const first = await ctx.deps.state.claimRequest(record);
  if (first.claimed) return { request };
  const existing = await settledPending(ctx, first.existing);
  // A request whose approval was denied or expired gives its key back when first looked at, which may be right now:
  // then the key is free, and this request takes it instead of being answered as a replay of the denied one.
  if (first.existing.status === 'pending_approval' && existing.status === 'denied') {
    const again = await ctx.deps.state.claimRequest(record);
    if (again.claimed) return { request };
    return { replay: replay(await settledPending(ctx, again.existing), canonical, input) };
  }
  return { replay: replay(existing, canonical, input) };
}

/**
 * A request still `pending_approval` whose approval was denied or expired is finished as denied, its key given
 * back, the first time anyone looks at it; otherwise the record as it is.
 */
export async function settledPending(ctx: BrokerContext, record: RequestRecord): Promise<RequestRecord> {
  if (record.status !== 'pending_approval') return record;
  const now = ctx.now();
  const approval = await ctx.deps.state.approval(record.requestId);
  const ended =
    approval === undefined
      ? 'its approval is missing'
      : approval.status === 'denied'
        ? `an operator denied it${approval.comment === undefined ? '' : `: ${approval.comment}`}`
        : approval.status === 'expired' ||
            (approval.status === 'pending' && approval.expiresAt.getTime() <= now.getTime())
          ? `no operator approved it before ${approval.expiresAt.toISOString()}`
          : undefined;
  if (ended === undefined) return record;
  const answer: ActionResponse = {
    requestId: record.requestId,
    status: 'denied',
    ...(approval === undefined ? {} : { rule: approval.rule }),
    reason: ended,
  };
  const response = JSON.stringify(answer);
  await ctx.deps.state.finishRequest(record.requestId, {
    status: 'denied',
    response,
    at: now,
    releaseKey: true,
  });
  return { ...record, status: 'denied', response, idempotencyKey: undefined };
}

/**
 * The answer to a write whose key this agent already used: the stored answer marked `replayed` when the request is
 * the same, `COFRE_REQUEST_IN_PROGRESS` while the first one runs, `COFRE_IDEMPOTENCY_CONFLICT` when it differs.
 */
function replay(existing: RequestRecord, canonical: string, input: unknown): ActionResponse {
  checkReplay(existing.input, canonical, idempotencyIdOf(input));
  const answer = stored(existing);
  return answer.error?.code === 'COFRE_REQUEST_IN_PROGRESS' ? answer : { ...answer, replayed: true };
}

/** The agent's own id a write is keyed by, by the field it came in. */
function idempotencyIdOf(input: unknown): { field: IdempotencyField; value: string } {
  const ids = input as Partial<Record<IdempotencyField, string>>;
  for (const field of ['clientWithdrawId', 'clientTxId', 'clientSignId'] as const) {
    const value = ids[field];
    if (value !== undefined) return { field, value };
  }
  return { field: 'clientOrderId', value: ids.clientOrderId ?? '' };
}

/** A stored request's answer; one still running says so instead of inviting a second order. */
export function stored(record: RequestRecord): ActionResponse {
  if (record.response === undefined || record.status === 'executing') {
    return {
      requestId: record.requestId,
      status: 'failed',
      error: {
        code: 'COFRE_REQUEST_IN_PROGRESS',
        message: `request ${record.requestId} is still in progress; ask get_request with its requestId for the result`,
        retryable: true,
      },
      reason: `in progress as request ${record.requestId}`,
    };
  }
  return JSON.parse(record.response) as ActionResponse;
}

function newRequestId(): string {
  return `req_${randomId(12)}`;
}
