import { CofreError, isCofreError } from '../errors.js';
import type { RequestRecord } from '../state/state-store.js';
import { runWithRequestId } from '../venues/request-context.js';
import type { Order, VenueCallRecord, Withdrawal } from '../venues/venue-account.js';
import type { ActionInput, ActionName } from './actions.js';
import { finish } from './broker-finish.js';
import { settleLimits } from './broker-send.js';
import type { ActionResponse, BrokerContext, Claimed, ReconcileReport } from './broker-types.js';
import { settlementFor } from './limit-settlement.js';
import { venueWithdrawId } from './resolve-action.js';
import { openAccount } from './run-action.js';

/**
 * Settles requests left `executing` by a process that stopped in the middle of them (created before `before`;
 * pass a time at least the venue's signed-request window, e.g. 60 s, before now, so no signed request of theirs
 * can still arrive). An order is looked up at the venue by its clientOrderId: found, the request is `executed`
 * with it and its reservation committed; unknown to the venue, it `failed` with `COFRE_REQUEST_INTERRUPTED`, its
 * key and its reservation given back. Any other request (a read, a cancel, which is safe to send again) `failed`
 * with `COFRE_REQUEST_INTERRUPTED`. Then every order whose outcome was unknown, and that still holds a reservation,
 * is looked up the same way, so its budget is committed or given back. A venue that cannot answer leaves the
 * request as it is (its reservation counting), reported as unresolved. Each settled request gets an audit outcome.
 */
export async function reconcileInterrupted(
  ctx: BrokerContext,
  before: Date,
  rows?: readonly RequestRecord[],
): Promise<ReconcileReport> {
  const resolved: { requestId: string; status: 'executed' | 'failed' }[] = [];
  const unresolved: { requestId: string; reason: string }[] = [];
  const unsettled = (requestId: string, err: unknown): void => {
    const reason = isCofreError(err) ? `${err.code}: ${err.message}` : 'unexpected error (see the log)';
    ctx.deps.logger.warn({ err, requestId }, 'could not settle an interrupted request');
    unresolved.push({ requestId, reason });
  };
  // `rows`: requests adopted from a dead replica (issue 16), settled like this replica's own.
  for (const row of rows ?? (await ctx.deps.state.executingRequests(before))) {
    const request: Claimed = {
      requestId: row.requestId,
      agent: { id: row.agentId, policy: '' },
      action: row.action as ActionName,
      account: row.account,
      idempotencyKey: row.idempotencyKey,
    };
    const record: VenueCallRecord = { held: [], writeSent: false };
    try {
      const response = await runWithRequestId(row.requestId, row.agentId, () =>
        settleInterrupted(ctx, row, record),
      );
      await settleLimits(ctx, request, [], response, { held: [], writeSent: false });
      const finished = await finish(ctx, request, response, record);
      resolved.push({
        requestId: row.requestId,
        status: finished.status === 'executed' ? 'executed' : 'failed',
      });
    } catch (err) {
      unsettled(row.requestId, err);
    } finally {
      for (const value of record.held) value.zero();
    }
  }
  for (const requestId of await ctx.deps.state.reservedRequests()) {
    const row = await ctx.deps.state.request(requestId);
    if (row === undefined || row.status === 'executing' || row.createdAt >= before) continue;
    try {
      await runWithRequestId(requestId, row.agentId, () => settleUnknownReservation(ctx, row));
    } catch (err) {
      unsettled(requestId, err);
    }
  }
  return { resolved, unresolved };
}

/** Commits or releases the reservation of a finished request whose outcome was unknown, by asking the venue. */
export async function settleUnknownReservation(ctx: BrokerContext, row: RequestRecord): Promise<void> {
  const { state } = ctx.deps;
  if (row.status !== 'failed') {
    // Finished but left reserved (a failure while settling): it executed or waited, so it counts as reserved.
    await state.settleReservation(row.requestId, { kind: 'commit', at: ctx.now() });
    return;
  }
  if (row.action === 'send_transaction') throw transactionUnresolved(row);
  const record: VenueCallRecord = { held: [], writeSent: false };
  try {
    const account = row.account ?? '';
    let outcome: Parameters<typeof settlementFor>[1];
    if (row.action === 'withdraw') {
      const found = await findInterruptedWithdrawal(ctx, row, record);
      outcome = found === undefined ? { kind: 'nothing-happened' } : { kind: 'done' };
    } else {
      const found = await findInterruptedOrder(ctx, row, record);
      outcome = found === undefined ? { kind: 'nothing-happened' } : { kind: 'order', account, order: found };
    }
    const settlement = settlementFor([], outcome, ctx.now());
    if (settlement !== undefined) await state.settleReservation(row.requestId, settlement);
  } finally {
    for (const value of record.held) value.zero();
  }
}

/** The answer an interrupted request ends with; throws when the venue cannot tell. */
export async function settleInterrupted(
  ctx: BrokerContext,
  row: RequestRecord,
  record: VenueCallRecord,
): Promise<ActionResponse> {
  const interrupted = (message: string): ActionResponse => ({
    requestId: row.requestId,
    status: 'failed',
    error: { code: 'COFRE_REQUEST_INTERRUPTED', message, retryable: true },
  });
  if (row.action === 'withdraw') {
    // SECURITY: a withdrawal is never called safe to send again on a guess: the venue is asked by its client id.
    const withdrawal = await findInterruptedWithdrawal(ctx, row, record);
    if (withdrawal === undefined) {
      return interrupted(
        'cofre stopped before this withdrawal reached the venue; nothing was withdrawn and the clientWithdrawId may be used again',
      );
    }
    return {
      requestId: row.requestId,
      status: 'executed',
      result: { withdrawal: { ...withdrawal, destination: destinationOf(row) } },
      reason: 'cofre stopped while sending this withdrawal; the venue has it',
    };
  }
  if (row.action === 'send_transaction') throw transactionUnresolved(row);
  if (row.action !== 'place_order') {
    return interrupted(
      `cofre stopped while ${row.action} was running; nothing more is known. It is safe to send again (a cancel of an order already cancelled fails with a clear reason).`,
    );
  }
  const found = await findInterruptedOrder(ctx, row, record);
  if (found === undefined) {
    const { clientOrderId } = JSON.parse(row.input ?? '{}') as { clientOrderId?: string };
    return interrupted(
      `cofre stopped before order ${clientOrderId ?? '?'} reached the venue; nothing was placed and the clientOrderId may be used again`,
    );
  }
  return {
    requestId: row.requestId,
    status: 'executed',
    result: { order: found },
    reason: 'cofre stopped while placing this order; the venue has it',
  };
}

/** The venue's order for a stored `place_order` request, by its clientOrderId; undefined when the venue has none. */
export async function findInterruptedOrder(
  ctx: BrokerContext,
  row: RequestRecord,
  record: VenueCallRecord,
): Promise<Order | undefined> {
  const order = JSON.parse(row.input ?? '{}') as Partial<ActionInput<'place_order'>>;
  if (order.account === undefined || order.symbol === undefined || order.clientOrderId === undefined) {
    throw new CofreError('COFRE_INTERNAL', `request ${row.requestId} has no stored order to look up`);
  }
  const venue = await openAccount(ctx.deps, order.account);
  try {
    return await venue.fetchOrder(order.symbol, { clientOrderId: order.clientOrderId }, record);
  } catch (err) {
    if (!isCofreError(err, 'COFRE_VENUE_REJECTED') || err.details?.['error'] !== 'OrderNotFound') throw err;
    return undefined;
  }
}

/** The venue's withdrawal for a stored `withdraw` request, by its clientWithdrawId; undefined when it has none. */
async function findInterruptedWithdrawal(
  ctx: BrokerContext,
  row: RequestRecord,
  record: VenueCallRecord,
): Promise<Withdrawal | undefined> {
  const input = JSON.parse(row.input ?? '{}') as Partial<ActionInput<'withdraw'>>;
  if (input.account === undefined || input.asset === undefined || input.clientWithdrawId === undefined) {
    throw new CofreError('COFRE_INTERNAL', `request ${row.requestId} has no stored withdrawal to look up`);
  }
  const venue = await openAccount(ctx.deps, input.account);
  const clientWithdrawId = venueWithdrawId(row.agentId, input.clientWithdrawId);
  return venue.fetchWithdrawal({ asset: input.asset, clientWithdrawId }, record);
}

/** The address-book label a stored `withdraw` request named (never the address). */
function destinationOf(row: RequestRecord): string | undefined {
  return (JSON.parse(row.input ?? '{}') as { destination?: string }).destination;
}

/**
 * Issue 19: a transaction whose broadcast may have happened is never called failed (nor its nonce or budget free) on
 * a guess: the request stays as it is, its reservation counting, reported unresolved. Its signed hash is in the
 * audit log (the `intent` whose `detail.signed` names it), to look up on chain. (A `sign_typed_data` interrupted is
 * settled as failed: its signature leaves cofre only in the answer, which was never given.)
 */
function transactionUnresolved(row: RequestRecord): CofreError {
  return new CofreError(
    'COFRE_VENUE_OUTCOME_UNKNOWN',
    `send_transaction ${row.requestId} may have been broadcast: its hash is in the audit log (the intent with detail.signed); look it up on chain. Its limit reservation stays until then`,
  );
}
