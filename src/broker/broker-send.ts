import { CofreError } from '../errors.js';
import type { LimitCheck, PolicyDecision } from '../policy/policy-types.js';
import type { ReservationSettlement } from '../state/limit-ledger.js';
import { runWithRequestId } from '../venues/request-context.js';
import type { Order, VenueCallRecord, VenueCredentials } from '../venues/venue-account.js';
import type { ActionInput, ActionName } from './actions.js';
import { zeroCredentials } from './audited-secrets.js';
import { runEncryptionAction } from './broker-encryption.js';
import { finish, publicError } from './broker-finish.js';
import { sendHttpRequest } from './broker-http.js';
import { type ActionResponse, type BrokerContext, type Claimed } from './broker-types.js';
import { runWalletAction } from './broker-wallet.js';
import { keepsKey } from './idempotency.js';
import { settlementFor } from './limit-settlement.js';
import { limitsView } from './limits-view.js';
import { previewDecision } from './preview-decision.js';
import type { ResolvedAction } from './resolve-action.js';
import { isEncryptionAction, isWalletAction, runAction } from './run-action.js';

/** Actions that spend limit budgets: they reserve before they are sent and settle after. */
export const SPENDING_ACTIONS: ReadonlySet<ActionName> = new Set([
  'place_order',
  'withdraw',
  'send_transaction',
  'sign_typed_data',
]);

/**
 * Runs an allowed request at its venue and finishes it, whatever happens; the held credentials are zeroed, and so
 * are `credentials` (read and recorded with the intent, see `recordIntent`), which its venue calls use copies of.
 */
export async function send(
  ctx: BrokerContext,
  request: Claimed,
  input: unknown,
  resolved: ResolvedAction,
  decision: PolicyDecision,
  credentials?: VenueCredentials,
): Promise<ActionResponse> {
  const { requestId } = request;
  const record: VenueCallRecord = { held: [], writeSent: false };
  const { rule } = decision;
  try {
    let response: ActionResponse;
    try {
      // The request's id goes with its venue calls, so the credentials read for them are audited under it.
      const value = await runWithRequestId(
        requestId,
        request.agent.id,
        () => resultOf(ctx, request, input, resolved, record),
        credentials === undefined || request.account === undefined
          ? undefined
          : { account: request.account, values: credentials },
      );
      response = { requestId, status: 'executed', result: value, rule };
    } catch (err) {
      response = { requestId, status: 'failed', rule, error: publicError(ctx, err, requestId) };
    }
    // The reservation ends in the same transaction as the outcome is recorded (one commit per order).
    const settlement = SPENDING_ACTIONS.has(request.action)
      ? limitSettlement(ctx, request, decision.limits, response, record)
      : undefined;
    if (!SPENDING_ACTIONS.has(request.action)) await closeSeenOrders(ctx, request, response);
    return await finish(ctx, request, response, record, settlement);
  } finally {
    for (const value of record.held) value.zero();
    if (credentials !== undefined) zeroCredentials(credentials);
  }
}

/** The result of an allowed action: cofre's own answers, or the venue's. */
async function resultOf(
  ctx: BrokerContext,
  request: Claimed,
  input: unknown,
  resolved: ResolvedAction,
  record: VenueCallRecord,
): Promise<unknown> {
  const { action, agent } = request;
  if (action === 'get_limits') {
    return { limits: await limitsView(ctx.deps.policy, ctx.deps.state, agent, ctx.now()) };
  }
  if (action === 'preview_order') return preview(ctx, request, resolved);
  if (action === 'get_request') throw new CofreError('COFRE_INTERNAL', 'get_request is not sent');
  if (action === 'http_request') return sendHttpRequest(ctx, input as ActionInput<'http_request'>, record);
  // Issue 19: wallets and encryption keys, not venues.
  if (isWalletAction(action)) return runWalletAction(ctx, request, input, resolved, record);
  if (isEncryptionAction(action)) return runEncryptionAction(ctx, request, input);
  return runAction(ctx.deps, action, input, agent, {
    record,
    payload: resolved.payload,
    write: (send) => ctx.halt.write(send),
  });
}

/** `preview_order`: the order as it would be sent and the decision `place_order` would get; nothing reserved. */
async function preview(ctx: BrokerContext, request: Claimed, resolved: ResolvedAction): Promise<unknown> {
  const question = { ...resolved.question, action: 'place_order' as const };
  return {
    order: resolved.question.order,
    sent: false,
    decision: await previewDecision(ctx, request.agent, question),
  };
}

/**
 * Ends the request's reservation from its outcome (see limit-settlement.ts). Never throws: a failure here is logged,
 * and the reservation stays (counted, never forgotten) until reconciled.
 */
export async function settleLimits(
  ctx: BrokerContext,
  request: Claimed,
  checks: readonly LimitCheck[],
  response: ActionResponse,
  record: VenueCallRecord,
): Promise<void> {
  const settlement = limitSettlement(ctx, request, checks, response, record);
  try {
    if (settlement !== undefined) await ctx.deps.state.settleReservation(request.requestId, settlement);
  } catch (err) {
    ctx.deps.logger.error(
      { err, requestId: request.requestId },
      'could not settle the limits of a request; its reservation stays until reconciled',
    );
  }
}

/**
 * How the request's reservation ends, from its outcome (see limit-settlement.ts); undefined when there is nothing
 * to settle, or when it cannot be worked out (logged: the reservation then stays, counted, until reconciled).
 */
function limitSettlement(
  ctx: BrokerContext,
  request: Claimed,
  checks: readonly LimitCheck[],
  response: ActionResponse,
  record: VenueCallRecord,
): ReservationSettlement | undefined {
  const account = request.account ?? '';
  try {
    const order = (response.result as { order?: Order } | undefined)?.order;
    const outcome =
      response.status === 'executed'
        ? request.action === 'place_order' && order !== undefined
          ? ({ kind: 'order', account, order } as const)
          : ({ kind: 'done' } as const)
        : keepsKey(response.error?.code, record.writeSent)
          ? ({ kind: 'unknown' } as const)
          : ({ kind: 'nothing-happened' } as const);
    return settlementFor(checks, outcome, ctx.now());
  } catch (err) {
    ctx.deps.logger.error(
      { err, requestId: request.requestId },
      'could not settle the limits of a request; its reservation stays until reconciled',
    );
    return undefined;
  }
}

/**
 * Keeps the count of open orders true: an order a cancel, a cancel-all or a look-up shows closed is no longer
 * counted against `openOrders`. Never throws (a stale count is corrected at the cap by asking the venue).
 */
async function closeSeenOrders(
  ctx: BrokerContext,
  request: Claimed,
  response: ActionResponse,
): Promise<void> {
  const result = response.result as { order?: Order; orders?: readonly Order[] } | undefined;
  const seen = result?.orders ?? (result?.order === undefined ? [] : [result.order]);
  try {
    for (const order of seen) {
      if (order.status !== 'open') await ctx.deps.state.closeOpenOrder(request.account ?? '', order.id);
    }
  } catch (err) {
    ctx.deps.logger.warn({ err, requestId: request.requestId }, 'could not update the count of open orders');
  }
}
