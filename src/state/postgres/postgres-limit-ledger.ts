import type { LimitCheck } from '../../policy/policy-types.js';
import type { Decimal } from '../../venues/venue-account.js';
import type { LimitExceeded, LimitLedger, ReservationSettlement } from '../limit-ledger.js';
import type { PgDb, PgQueryable } from './pg-db.js';

// Issue 16 contract: the limit ledger on PostgreSQL. Tables in migrations/0002-limit-ledger.ts; the core store
// (postgres-state-store.ts) calls the two `…In` methods inside its own transactions, and its prune refers to
// `limit_reservations (request_id)`.

/** {@link LimitLedger} on PostgreSQL: exact across processes and hosts. */
export class PostgresLimitLedger implements LimitLedger {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  reserve(
    _requestId: string,
    _checks: readonly LimitCheck[],
    _at: Date,
  ): Promise<{ readonly ok: true } | LimitExceeded> {
    return notYet(this.#db);
  }

  settleReservation(_requestId: string, _settlement: ReservationSettlement): Promise<void> {
    return notYet(this.#db);
  }

  /** {@link settleReservation} inside the caller's transaction `tx` (the core store's finish, issue 11). */
  settleIn(_tx: PgQueryable, _requestId: string, _settlement: ReservationSettlement): Promise<void> {
    return notYet(this.#db);
  }

  /**
   * Reserves `checks` for `requestId` at `at` whatever the caps say (it was spent), inside the caller's transaction
   * `tx`: the core store's `restoreRequest` (issue 11).
   */
  restoreReservationIn(
    _tx: PgQueryable,
    _requestId: string,
    _checks: readonly LimitCheck[],
    _at: Date,
  ): Promise<void> {
    return notYet(this.#db);
  }

  usage(
    _keys: readonly { readonly key: string; readonly windowMs: number | undefined }[],
    _at: Date,
  ): Promise<ReadonlyMap<string, Decimal>> {
    return notYet(this.#db);
  }

  reservedRequests(): Promise<readonly string[]> {
    return notYet(this.#db);
  }

  closeOpenOrder(_account: string, _orderId: string): Promise<void> {
    return notYet(this.#db);
  }

  syncOpenOrders(_account: string, _openOrderIds: readonly string[], _asOf?: Date): Promise<void> {
    return notYet(this.#db);
  }
}

function notYet(_db: PgDb): Promise<never> {
  return Promise.reject(new Error('PostgresLimitLedger: not written yet (issue 16)'));
}
