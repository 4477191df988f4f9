import type { LimitCheck } from '../policy/policy-types.js';
import type { Decimal } from '../venues/venue-account.js';
import type { Awaitable } from './awaitable.js';

/** Why a reservation was refused: the first limit it would exceed, with its usage at that moment. */
export interface LimitExceeded {
  readonly ok: false;
  readonly limit: string;
  readonly key: string;
  readonly cap: Decimal;
  /** Committed within the window plus reserved, before this request. */
  readonly used: Decimal;
  readonly requested: Decimal;
}

/** How a reservation ends. */
export type ReservationSettlement =
  /** The request used this much of each key (the placed or filled value); keys left out count as reserved. */
  | {
      readonly kind: 'commit';
      readonly at: Date;
      readonly actual?: ReadonlyMap<string, Decimal> | undefined;
      /** For an `openOrders` check: the order now open at the venue, counted until it is closed. */
      readonly openOrder?: { readonly account: string; readonly orderId: string } | undefined;
    }
  /** Nothing was used (denied later, refused by the venue, known not sent). */
  | { readonly kind: 'release' };

/**
 * Limit budgets that hold under concurrency and across processes (issue 9). Every method is atomic (one SQLite
 * `BEGIN IMMEDIATE` transaction): of two racing reservations that together exceed a cap, one is refused.
 *
 * A reservation counts from the moment it is made until it is released, or, once committed, for its window after
 * the commit time. A reservation whose outcome is unknown (lost answer, crash) is neither: it stays reserved, and
 * keeps counting, until reconciliation settles it — budget is never forgotten and never spent twice. Restart-safe:
 * everything is in the state file.
 */
export interface LimitLedger {
  /** Reserves every check for `requestId`, or none. An empty list always succeeds. */
  reserve(
    requestId: string,
    checks: readonly LimitCheck[],
    at: Date,
  ): Awaitable<{ readonly ok: true } | LimitExceeded>;
  /** Ends a reservation; a second settlement of the same request does nothing. */
  settleReservation(requestId: string, settlement: ReservationSettlement): Awaitable<void>;
  /** Usage (committed in window + reserved) of each key at `at`; keys never used are 0. */
  usage(
    keys: readonly { readonly key: string; readonly windowMs: number | undefined }[],
    at: Date,
  ): Awaitable<ReadonlyMap<string, Decimal>>;
  /** Requests holding a reservation not yet settled (for reconciliation after a restart). */
  reservedRequests(): Awaitable<readonly string[]>;
  /** An open order cofre counted is no longer open (cancelled through cofre, seen closed). */
  closeOpenOrder(account: string, orderId: string): Awaitable<void>;
  /**
   * Makes the counted open orders of `account` the ones the venue reports open (`openOrderIds`), dropping the rest;
   * called when an `openOrders` limit is reached, since fills and cancels made elsewhere are not seen otherwise.
   * `asOf`: when the venue was asked; orders committed after it are kept even if not listed (placed after the
   * venue answered). Without it, every counted order not listed is dropped.
   */
  syncOpenOrders(account: string, openOrderIds: readonly string[], asOf?: Date): Awaitable<void>;
}
