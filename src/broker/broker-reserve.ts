import type { LimitCheck } from '../policy/policy-types.js';
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
  let result = state.reserve(request.requestId, checks, ctx.now());
  const account = resolved.question.account;
  const refusedKey = result.ok ? undefined : result.key;
  const full = checks.find((c) => c.key === refusedKey);
  if (!result.ok && full?.measure === 'openOrders' && account !== undefined) {
    const venue = await openAccount(ctx.deps, account);
    // Orders committed after this moment stay counted even if the venue's list, asked now, misses them.
    const asOf = ctx.now();
    const open = await venue.fetchOpenOrders(undefined);
    state.syncOpenOrders(
      account,
      open.map((o) => o.id),
      asOf,
    );
    result = state.reserve(request.requestId, checks, ctx.now());
  }
  if (result.ok) return undefined;
  return {
    requestId: request.requestId,
    status: 'denied',
    rule: result.limit,
    reason: `limit ${result.limit} would be exceeded: ${result.used} used of ${result.cap}, this request needs ${result.requested}; see get_limits`,
  };
}
