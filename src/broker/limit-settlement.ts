import type { LimitCheck } from '../policy/policy-types.js';
import type { ReservationSettlement } from '../state/limit-ledger.js';
import { isDecimal, multiplyDecimal } from '../venues/decimal.js';
import type { Decimal, Order } from '../venues/venue-account.js';

/**
 * How a request's reservation ends, from what the venue answered. Issue 9: commit the actual value, release what
 * was not used, and keep a reservation whose outcome is unknown until it is reconciled.
 *
 * - An order placed: its notional counts at its placed value (the limit price), or, for a market order, at what it
 *   filled for when the venue says (more than reserved if the price moved: the budget holds what was spent);
 *   it counts as one order; and as one open order while the venue reports it open.
 * - A withdrawal accepted: its amount counts.
 * - Anything known not to have acted (refused by the venue, never sent): released.
 * - `unknown`: undefined — the reservation stays and keeps counting.
 */
export function settlementFor(
  checks: readonly LimitCheck[],
  outcome:
    | { readonly kind: 'order'; readonly account: string; readonly order: Order }
    | { readonly kind: 'done' }
    | { readonly kind: 'nothing-happened' }
    | { readonly kind: 'unknown' },
  at: Date,
): ReservationSettlement | undefined {
  if (outcome.kind === 'unknown') return undefined;
  if (outcome.kind === 'nothing-happened') return { kind: 'release' };
  if (outcome.kind === 'done') return { kind: 'commit', at };
  const { order } = outcome;
  const actual = new Map<string, Decimal>();
  const filledValue = filledNotional(order);
  for (const check of checks) {
    // What it filled for, even above the reservation: a market order is valued at the reference price before it is
    // sent, and the budget must hold what was really spent (slippage counts against the next orders).
    if (check.measure === 'notional' && order.type === 'market' && filledValue !== undefined) {
      actual.set(check.key, filledValue);
    }
    if (check.measure === 'openOrders' && order.status !== 'open') actual.set(check.key, '0');
  }
  return {
    kind: 'commit',
    at,
    actual,
    ...(order.status === 'open' ? { openOrder: { account: outcome.account, orderId: order.id } } : {}),
  };
}

/** What a market order filled for (average × filled), when the venue reported both. */
function filledNotional(order: Order): Decimal | undefined {
  if (order.average === undefined || !isDecimal(order.average) || !isDecimal(order.filled)) return undefined;
  return multiplyDecimal(order.average, order.filled);
}
