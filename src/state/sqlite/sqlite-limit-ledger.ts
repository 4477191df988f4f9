import type Database from 'better-sqlite3';

import { CofreError } from '../../errors.js';
import type { LimitCheck } from '../../policy/policy-types.js';
import type { Decimal } from '../../venues/venue-account.js';
import { fromSteps } from '../ledger-amount.js';
import type { LimitExceeded, LimitLedger, ReservationSettlement } from '../limit-ledger.js';
import {
  heldPerKey,
  heldWindowMs,
  parseActualAmounts,
  type ParsedLimitCheck,
  parseLimitCheck,
  PRUNE_BATCH,
  PRUNE_GRACE_MS,
  refusalOf,
} from '../limit-ledger-rules.js';

// How the ledger counts, and why it is a few index lookups per check whatever the traffic:
// - Amounts are integers of 10^-8 units (../ledger-amount.ts): reserved amounts rounded up, caps down; checks and
//   actuals are parsed, and pruning bounded, by the rules every ledger shares (../limit-ledger-rules.ts).
// - limit_reservations: one row per (request, key) while the request is unsettled; every row counts.
// - limit_usage: one row per committed (request, key) of a windowed limit. Each row stores `before_total`, the key's
//   running total before it, and limit_totals keeps the key's running total. Commit times of a key never go
//   backwards (a commit stamped earlier than the key's last one is stamped at the last one: it then counts a little
//   longer, never shorter), so the rows inside a window are a suffix of the key's rows, and their sum is
//   `total − before_total of the first row inside the window`: one seek on (key, at), one primary-key read.
//   Totals are BigInt text, so they never overflow however long the ledger runs.
// - limit_open_orders: orders committed against an `openOrders` limit, counted until closed or synced away.
//
// Pruning: a committed row matters only inside its key's longest window (limit_totals.window_ms, the longest window
// ever committed against that key), so each row gets `expires_at = at + that window`. Every commit deletes at most
// PRUNE_BATCH rows expired for more than PRUNE_GRACE_MS, oldest first. A commit adds at most one row per check, so
// with fewer than PRUNE_BATCH checks per request the expired backlog shrinks with every commit and the table stays
// at about the rows inside their windows. Pruning never changes a sum: the running totals live in limit_totals.

/** Tables of the limit ledger (schema version 2); created by the state store's migration. */
export const LIMIT_LEDGER_SCHEMA = `
CREATE TABLE IF NOT EXISTS limit_reservations (
  request_id TEXT NOT NULL,
  key TEXT NOT NULL,
  measure TEXT NOT NULL,
  window_ms INTEGER,
  amount INTEGER NOT NULL,
  reserved_at INTEGER NOT NULL,
  PRIMARY KEY (request_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS limit_reservations_key ON limit_reservations (key, amount);
CREATE TABLE IF NOT EXISTS limit_totals (
  key TEXT PRIMARY KEY,
  total TEXT NOT NULL,
  last_at INTEGER NOT NULL,
  window_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS limit_usage (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL,
  at INTEGER NOT NULL,
  amount INTEGER NOT NULL,
  before_total TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS limit_usage_key_at ON limit_usage (key, at);
CREATE INDEX IF NOT EXISTS limit_usage_expires ON limit_usage (expires_at);
CREATE TABLE IF NOT EXISTS limit_open_orders (
  account TEXT NOT NULL,
  order_id TEXT NOT NULL,
  key TEXT NOT NULL,
  amount INTEGER NOT NULL,
  opened_at INTEGER NOT NULL,
  PRIMARY KEY (account, order_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS limit_open_orders_key ON limit_open_orders (key, amount);
`;

/** What a sum that overflowed SQLite's 64-bit integers counts as: more than any cap. */
const SATURATED = 2n ** 63n;

interface ReservationRow {
  key: string;
  measure: string;
  window_ms: bigint | null;
  amount: bigint;
}

interface TotalsRow {
  total: string;
  last_at: bigint;
  window_ms: bigint;
}

/** The reads `reserve` makes per check: each one index search (a test reads their query plans). */
export const RESERVE_READS = {
  heldBy: 'SELECT 1 FROM limit_reservations WHERE request_id = ? LIMIT 1',
  reservedSum: 'SELECT SUM(amount) FROM limit_reservations WHERE key = ?',
  openSum: 'SELECT SUM(amount) FROM limit_open_orders WHERE key = ?',
  totals: 'SELECT total, last_at, window_ms FROM limit_totals WHERE key = ?',
  firstInWindow: 'SELECT before_total FROM limit_usage WHERE key = ? AND at > ? ORDER BY at, id LIMIT 1',
} as const;

/** Every statement of the ledger, prepared once; the ones reading amounts return BigInt (`safeIntegers`). */
function prepareLedgerStatements(db: Database.Database) {
  return {
    heldBy: db.prepare(RESERVE_READS.heldBy).pluck(),
    reservedSum: db.prepare(RESERVE_READS.reservedSum).pluck().safeIntegers(true),
    openSum: db.prepare(RESERVE_READS.openSum).pluck().safeIntegers(true),
    totals: db.prepare(RESERVE_READS.totals).safeIntegers(true),
    firstInWindow: db.prepare(RESERVE_READS.firstInWindow).pluck(),
    insertReservation: db.prepare(
      'INSERT INTO limit_reservations (request_id, key, measure, window_ms, amount, reserved_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    reservationsOf: db
      .prepare('SELECT key, measure, window_ms, amount FROM limit_reservations WHERE request_id = ?')
      .safeIntegers(true),
    deleteReservations: db.prepare('DELETE FROM limit_reservations WHERE request_id = ?'),
    upsertTotals: db.prepare(
      'INSERT INTO limit_totals (key, total, last_at, window_ms) VALUES (?, ?, ?, ?) ' +
        'ON CONFLICT (key) DO UPDATE SET total = excluded.total, last_at = excluded.last_at, window_ms = excluded.window_ms',
    ),
    insertUsage: db.prepare(
      'INSERT INTO limit_usage (key, at, amount, before_total, expires_at) VALUES (?, ?, ?, ?, ?)',
    ),
    prune: db.prepare(
      'DELETE FROM limit_usage WHERE id IN (SELECT id FROM limit_usage WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)',
    ),
    insertOpenOrder: db.prepare(
      'INSERT INTO limit_open_orders (account, order_id, key, amount, opened_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    openOrdersOf: db.prepare('SELECT order_id, opened_at FROM limit_open_orders WHERE account = ?'),
    closeOpenOrder: db.prepare('DELETE FROM limit_open_orders WHERE account = ? AND order_id = ?'),
    reservedRequests: db
      .prepare(
        'SELECT request_id FROM limit_reservations GROUP BY request_id ORDER BY MIN(reserved_at), request_id',
      )
      .pluck(),
  };
}

type LedgerStatements = ReturnType<typeof prepareLedgerStatements>;

/**
 * The {@link LimitLedger} on the state store's SQLite connection (tables from {@link LIMIT_LEDGER_SCHEMA}). Every
 * method runs in one transaction; `reserve` and settlements take the write lock first (`BEGIN IMMEDIATE`), so of
 * two processes racing on one file one waits for the other (up to the connection's busy timeout) and sees its
 * reservation. Synchronous, like the store: safe to call from any number of concurrent requests in one process.
 */
export class SqliteLimitLedger implements LimitLedger {
  readonly #sql: LedgerStatements;
  readonly #reserve: Database.Transaction<
    (requestId: string, checks: readonly ParsedLimitCheck[], at: number) => { ok: true } | LimitExceeded
  >;
  readonly #settle: Database.Transaction<
    (requestId: string, settlement: ReservationSettlement, actual: ReadonlyMap<string, bigint>) => void
  >;
  readonly #usage: Database.Transaction<
    (keys: readonly { key: string; windowMs: number | undefined }[], at: number) => Map<string, Decimal>
  >;
  readonly #sync: Database.Transaction<(account: string, open: ReadonlySet<string>, asOf: number) => void>;

  /** Uses `db`, whose schema must include {@link LIMIT_LEDGER_SCHEMA}; the caller owns and closes it. */
  constructor(db: Database.Database) {
    this.#sql = prepareLedgerStatements(db);
    this.#reserve = db.transaction((requestId, checks, at) => this.#reserveIn(requestId, checks, at));
    this.#settle = db.transaction((requestId, settlement, actual) => {
      this.#settleIn(requestId, settlement, actual);
    });
    this.#usage = db.transaction(
      (keys, at) => new Map(keys.map((k) => [k.key, fromSteps(this.#used(k.key, k.windowMs, at))])),
    );
    this.#sync = db.transaction((account, open, asOf) => {
      const rows = this.#sql.openOrdersOf.all(account) as { order_id: string; opened_at: number }[];
      for (const row of rows) {
        if (!open.has(row.order_id) && row.opened_at <= asOf)
          this.#sql.closeOpenOrder.run(account, row.order_id);
      }
    });
  }

  reserve(requestId: string, checks: readonly LimitCheck[], at: Date): { readonly ok: true } | LimitExceeded {
    // Every check is validated before the transaction: a bad one reserves nothing.
    const parsed = checks.map(parseLimitCheck);
    if (parsed.length === 0) return { ok: true };
    // SECURITY: IMMEDIATE takes the write lock before the usage is read, so two processes (or connections) cannot
    // both see room under a cap; tested with two OS processes holding a cap of 1 as a mutex.
    return this.#reserve.immediate(requestId, parsed, at.getTime());
  }

  settleReservation(requestId: string, settlement: ReservationSettlement): void {
    const actual =
      settlement.kind === 'commit' ? parseActualAmounts(settlement.actual) : new Map<string, bigint>();
    this.#settle.immediate(requestId, settlement, actual);
  }

  usage(
    keys: readonly { readonly key: string; readonly windowMs: number | undefined }[],
    at: Date,
  ): ReadonlyMap<string, Decimal> {
    return this.#usage(keys, at.getTime());
  }

  reservedRequests(): readonly string[] {
    return this.#sql.reservedRequests.all() as string[];
  }

  closeOpenOrder(account: string, orderId: string): void {
    this.#sql.closeOpenOrder.run(account, orderId);
  }

  /**
   * With `asOf` (when the venue's list was asked for), an order committed after it is kept even when the list
   * lacks it: it may have been placed after the venue answered. Without `asOf`, every order not listed is dropped.
   */
  syncOpenOrders(account: string, openOrderIds: readonly string[], asOf?: Date): void {
    this.#sync.immediate(account, new Set(openOrderIds), asOf?.getTime() ?? Number.MAX_SAFE_INTEGER);
  }

  #reserveIn(
    requestId: string,
    checks: readonly ParsedLimitCheck[],
    at: number,
  ): { ok: true } | LimitExceeded {
    if (this.#sql.heldBy.get(requestId) !== undefined) {
      throw new CofreError(
        'COFRE_INTERNAL',
        `request ${requestId} already holds a limit reservation; settle it before reserving again`,
      );
    }
    // SECURITY: all or nothing: every check is compared before any is written; a refusal writes nothing.
    for (const parsed of checks) {
      const { check, level } = parsed;
      const refusal = refusalOf(parsed, this.#used(check.key, level ? undefined : check.windowMs, at));
      if (refusal !== undefined) return refusal;
    }
    this.#hold(requestId, checks, at);
    return { ok: true };
  }

  /**
   * Records the reservation of a request the audit log proves was sent but the state lost (issue 11), whatever the
   * caps say: the budget was spent. Does nothing when the request holds one already. Runs in the caller's
   * transaction (the state store's `restoreRequest`).
   */
  restoreReservationIn(requestId: string, checks: readonly LimitCheck[], at: Date): void {
    if (checks.length === 0 || this.#sql.heldBy.get(requestId) !== undefined) return;
    this.#hold(requestId, checks.map(parseLimitCheck), at.getTime());
  }

  /** Inserts the reservation rows; two checks on one key (two limits sharing a counter) hold the larger amount. */
  #hold(requestId: string, checks: readonly ParsedLimitCheck[], at: number): void {
    for (const held of heldPerKey(checks)) {
      const { check, amount } = held;
      this.#sql.insertReservation.run(requestId, check.key, check.measure, heldWindowMs(held), amount, at);
    }
  }

  /** Reserved, plus committed within (at − windowMs, …] for a flow, or open orders for a level (no window). */
  #used(key: string, windowMs: number | undefined, at: number): bigint {
    const reserved = sum(this.#sql.reservedSum, key);
    if (windowMs === undefined) return reserved + sum(this.#sql.openSum, key);
    // Rows stamped after `at` count too: a commit by a process whose clock runs slightly ahead is still usage.
    const totals = this.#sql.totals.get(key) as TotalsRow | undefined;
    const first = this.#sql.firstInWindow.get(key, at - windowMs) as string | undefined;
    if (totals === undefined || first === undefined) return reserved;
    return reserved + BigInt(totals.total) - BigInt(first);
  }

  #settleIn(requestId: string, settlement: ReservationSettlement, actual: ReadonlyMap<string, bigint>): void {
    const rows = this.#sql.reservationsOf.all(requestId) as ReservationRow[];
    if (rows.length === 0) return; // never reserved, or settled already
    this.#sql.deleteReservations.run(requestId);
    if (settlement.kind === 'release') return;
    const at = settlement.at.getTime();
    for (const row of rows) {
      const amount = actual.get(row.key) ?? row.amount;
      if (amount === 0n) continue;
      if (row.window_ms === null) {
        // A level: the order counts while it is open; committed without an open order, it is not open (filled).
        const open = settlement.openOrder;
        if (open !== undefined)
          this.#sql.insertOpenOrder.run(open.account, open.orderId, row.key, amount, at);
      } else {
        this.#appendUsage(row.key, at, amount, Number(row.window_ms));
      }
    }
    this.#sql.prune.run(at - PRUNE_GRACE_MS, PRUNE_BATCH);
  }

  #appendUsage(key: string, at: number, amount: bigint, windowMs: number): void {
    const totals = this.#sql.totals.get(key) as TotalsRow | undefined;
    const before = totals === undefined ? 0n : BigInt(totals.total);
    // Commit times of a key never go backwards, so the rows inside any window stay a suffix (see the top).
    const stamped = totals === undefined ? at : Math.max(at, Number(totals.last_at));
    const longest = totals === undefined ? windowMs : Math.max(windowMs, Number(totals.window_ms));
    this.#sql.insertUsage.run(key, stamped, amount, before.toString(), stamped + longest);
    this.#sql.upsertTotals.run(key, (before + amount).toString(), stamped, longest);
  }
}

/** SUM of a key's amounts; a sum past 64 bits (only possible through committed actuals) counts as more than any cap. */
function sum(statement: Database.Statement, key: string): bigint {
  try {
    return (statement.get(key) as bigint | null) ?? 0n;
  } catch (err) {
    if (err instanceof Error && /integer overflow/.test(err.message)) return SATURATED;
    throw err;
  }
}
