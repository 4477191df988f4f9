import type { LimitCheck } from '../policy/policy-types.js';
import type { Order } from '../venues/venue-account.js';
import type { ActionResponse, BrokerContext, Claimed } from './broker-types.js';
import type { ResolvedAction } from './resolve-action.js';
import { openAccount } from './run-action.js';

/**
 * Reserves every limit the request draws on, atomically; a denial naming the first limit it would exceed
 * otherwise. An `openOrders` limit that looks full is checked once against the venue's own open orders first,
 * since fills and cancels made elsewhere are not seen otherwise (one venue request, only at the cap).
 */
export async function reserve(
  ctx: BrokerContext,
  request: Claimed,
  resolved: ResolvedAction,
  checks: readonly LimitCheck[],
): Promise<ActionResponse | undefined> {
  const { state } = ctx.deps;
  let result = await state.reserve(request.requestId, checks, ctx.now());
  const account = resolved.question.account;
  const refusedKey = result.ok ? undefined : result.key;
  const full = checks.find((c) => c.key === refusedKey);
  if (!result.ok && full?.measure === 'openOrders' && account !== undefined) {
    // Orders committed after this moment stay counted even if the venue's list, asked now, misses them.
    const asOf = ctx.now();
    const open = await venueOpenOrders(ctx, account, request.requestId);
    if (open !== undefined) {
      await state.syncOpenOrders(
        account,
        open.map((o) => o.id),
        asOf,
      );
      result = await state.reserve(request.requestId, checks, ctx.now());
    }
  }
  if (result.ok) return undefined;
  return {
    requestId: request.requestId,
    status: 'denied',
    rule: result.limit,
    reason: `limit ${result.limit} would be exceeded: ${result.used} used of ${result.cap}, this request needs ${result.requested}; see get_limits`,
  };
}

/**
 * The venue's open orders, to recount a full `openOrders` limit; undefined when the venue cannot list them, so the
 * limit stays full as counted and the request is denied (and finished) instead of failing after its claim.
 */
async function venueOpenOrders(
  ctx: BrokerContext,
  account: string,
  requestId: string,
): Promise<readonly Order[] | undefined> {
  try {
    const venue = await openAccount(ctx.deps, account);
    return await venue.fetchOpenOrders(undefined);
  } catch (err) {
    ctx.deps.logger.warn({ err, requestId }, 'could not list open orders to recount an openOrders limit');
    return undefined;
  }
}
