import { CofreError } from '../../errors.js';
import type { LimitCheck } from '../../policy/policy-types.js';
import { FinishedRows } from '../finished-rows.js';
import type {
  RequestFilter,
  RequestOutcome,
  RequestRecord,
  RequestStatus,
  RestoreResult,
} from '../state-store.js';
import type { PgDb, PgQueryable } from './pg-db.js';
import type { PostgresLimitLedger } from './postgres-limit-ledger.js';

interface RequestRow {
  request_id: string;
  agent_id: string;
  action: string;
  account: string | null;
  idempotency_key: string | null;
  input: string | null;
  status: RequestStatus;
  response: string | null;
  created_at: Date;
  updated_at: Date;
}

const REQUEST_COLUMNS =
  'request_id, agent_id, action, account, idempotency_key, input, status, response, created_at, updated_at';

/** Times a claim looks again for the holder of a key that was released between its INSERT and its SELECT. */
const CLAIM_ATTEMPTS = 5;

/**
 * The requests of the PostgreSQL state store and their owners (issue 16): the part of {@link PostgresStateStore}
 * that claims, finishes, restores and adopts them. Every request it claims, resumes or restores is owned by
 * `replicaId`; a dead replica's are adopted under `FOR UPDATE SKIP LOCKED` on its `replicas` row. Safe to call
 * concurrently, from any number of processes and hosts.
 */
export class PostgresRequestStore {
  readonly replicaId: string;
  readonly #db: PgDb;
  readonly #limits: PostgresLimitLedger;
  /** Rows given to {@link recordFinished}, written at the end of the turn; {@link request} finds them meanwhile. */
  readonly #finished: FinishedRows;

  constructor(
    db: PgDb,
    limits: PostgresLimitLedger,
    replicaId: string,
    onBackgroundError: (err: unknown) => void,
  ) {
    this.#db = db;
    this.#limits = limits;
    this.replicaId = replicaId;
    this.#finished = new FinishedRows((rows) => this.#insert(this.#db, rows), onBackgroundError);
  }

  claimRequest(
    request: RequestRecord,
  ): Promise<{ claimed: true } | { claimed: false; existing: RequestRecord }> {
    return this.#claimIn(this.#db, request);
  }

  async #claimIn(
    db: PgQueryable,
    request: RequestRecord,
  ): Promise<{ claimed: true } | { claimed: false; existing: RequestRecord }> {
    if (request.idempotencyKey === undefined) {
      await this.#insert(db, [request]);
      return { claimed: true };
    }
    for (let attempt = 1; ; attempt++) {
      // A concurrent claim of the same key makes this INSERT wait for it to commit, then do nothing: the SELECT
      // below (a new snapshot under READ COMMITTED) reads the winner's row.
      const inserted = await this.#insert(db, [request], 'ON CONFLICT (idempotency_key) DO NOTHING');
      if (inserted === 1) return { claimed: true };
      const { rows } = await db.query<RequestRow>(
        `SELECT ${REQUEST_COLUMNS} FROM requests WHERE idempotency_key = $1`,
        [request.idempotencyKey],
      );
      if (rows[0] !== undefined) return { claimed: false, existing: toRequest(rows[0]) };
      // The holder released its key in between: the key is free again, so claim it afresh (bounded).
      if (attempt === CLAIM_ATTEMPTS) {
        throw new CofreError('COFRE_STATE_UNAVAILABLE', 'the idempotency key kept changing hands; try again');
      }
    }
  }

  /** Inserts `rows` in one statement, owned by this replica; returns how many were inserted. */
  async #insert(db: PgQueryable, rows: readonly RequestRecord[], conflict = ''): Promise<number> {
    const values: unknown[] = [];
    const tuples = rows.map((r) => {
      const at = values.length;
      values.push(
        r.requestId,
        r.agentId,
        r.action,
        r.account ?? null,
        r.idempotencyKey ?? null,
        r.input ?? null,
        r.status,
        r.response ?? null,
        this.replicaId,
        r.createdAt,
        r.updatedAt,
      );
      return `(${Array.from({ length: 11 }, (_, i) => `$${at + i + 1}`).join(', ')})`;
    });
    const result = await db.query(
      `INSERT INTO requests (request_id, agent_id, action, account, idempotency_key, input, status, response, owner,
         created_at, updated_at) VALUES ${tuples.join(', ')} ${conflict}`,
      values,
    );
    return result.rowCount ?? 0;
  }

  restoreRequest(record: RequestRecord, checks: readonly LimitCheck[], at: Date): Promise<RestoreResult> {
    return this.#db.transaction(async (tx): Promise<RestoreResult> => {
      const { rows } = await tx.query<{ status: RequestStatus }>(
        'SELECT status FROM requests WHERE request_id = $1 FOR UPDATE',
        [record.requestId],
      );
      const row = rows[0];
      if (row !== undefined) {
        // A row still there keeps the reservation it has: one `executing` may be running on a replica right now,
        // between its settlement and its finish, and must not be counted twice.
        if (row.status !== 'pending_approval') return { outcome: 'exists' };
        // SECURITY: its approved run was sent; neither the approval nor the request may run it again.
        await tx.query(
          "UPDATE approvals SET status = 'executed' WHERE request_id = $1 AND status IN ('pending', 'approved')",
          [record.requestId],
        );
        await this.#resumeIn(tx, record.requestId, record.updatedAt);
        await this.#limits.restoreReservationIn(tx, record.requestId, checks, at);
        return { outcome: 'resumed' };
      }
      // No row to lock: two restorers may both get here. The INSERT arbitrates (any unique conflict does nothing).
      const inserted = await this.#insert(tx, [record], 'ON CONFLICT DO NOTHING');
      if (inserted === 0) {
        const holder = await tx.query<{ request_id: string }>(
          'SELECT request_id FROM requests WHERE request_id = $1 OR idempotency_key = $2 ORDER BY request_id = $1 DESC',
          [record.requestId, record.idempotencyKey ?? null],
        );
        const by = holder.rows[0]?.request_id;
        return by === undefined || by === record.requestId
          ? { outcome: 'exists' }
          : { outcome: 'key-held', by };
      }
      await this.#limits.restoreReservationIn(tx, record.requestId, checks, at);
      return { outcome: 'restored' };
    });
  }

  async finishRequest(requestId: string, outcome: RequestOutcome): Promise<void> {
    const { settlement } = outcome;
    if (settlement === undefined) {
      await this.#finishIn(this.#db, requestId, outcome);
      return;
    }
    // One transaction: settlement and outcome commit together or not at all (one commit per order, issue 11).
    await this.#db.transaction(async (tx) => {
      await this.#limits.settleIn(tx, requestId, settlement);
      await this.#finishIn(tx, requestId, outcome);
    });
  }

  async #finishIn(db: PgQueryable, requestId: string, outcome: RequestOutcome): Promise<void> {
    const releasing = outcome.releaseKey ? ', idempotency_key = NULL' : '';
    await db.query(
      `UPDATE requests SET status = $1, response = $2, updated_at = $3${releasing} WHERE request_id = $4`,
      [outcome.status, outcome.response, outcome.at, requestId],
    );
  }

  async resumeRequest(requestId: string, at: Date): Promise<boolean> {
    return (await this.#resumeIn(this.#db, requestId, at)) === 1;
  }

  /** `pending_approval` → `executing`, owned from now on by this replica (which runs it). */
  async #resumeIn(db: PgQueryable, requestId: string, at: Date): Promise<number> {
    const result = await db.query(
      "UPDATE requests SET status = 'executing', updated_at = $1, owner = $2 WHERE request_id = $3 AND status = 'pending_approval'",
      [at, this.replicaId, requestId],
    );
    return result.rowCount ?? 0;
  }

  async releaseRequest(requestId: string): Promise<void> {
    await this.#db.query("DELETE FROM requests WHERE request_id = $1 AND status = 'executing'", [requestId]);
  }

  async request(requestId: string): Promise<RequestRecord | undefined> {
    const pending = this.#finished.find(requestId);
    if (pending !== undefined) return pending;
    const { rows } = await this.#db.query<RequestRow>(
      `SELECT ${REQUEST_COLUMNS} FROM requests WHERE request_id = $1`,
      [requestId],
    );
    // Looked for again: the row may have been taken for writing while the query ran.
    return rows[0] === undefined ? this.#finished.find(requestId) : toRequest(rows[0]);
  }

  recordFinished(request: RequestRecord): void {
    this.#finished.add(request);
  }

  async listRequests(filter: RequestFilter): Promise<readonly RequestRecord[]> {
    // Rows recorded this turn (or being written) are written first, so the list shows them like `request` does.
    await this.#finished.flush();
    const { rows } = await this.#db.query<RequestRow>(
      `SELECT ${REQUEST_COLUMNS} FROM requests
       WHERE ($1::text IS NULL OR agent_id = $1) AND ($2::text IS NULL OR account = $2)
         AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR action = $4)
         AND ($5::timestamptz IS NULL OR created_at >= $5) AND ($6::timestamptz IS NULL OR created_at < $6)
       ORDER BY created_at DESC, request_id DESC LIMIT $7`,
      [
        filter.agentId ?? null,
        filter.account ?? null,
        filter.status ?? null,
        filter.action ?? null,
        filter.since ?? null,
        filter.before ?? null,
        filter.limit,
      ],
    );
    return rows.map(toRequest);
  }

  async executingRequests(
    before: Date,
    options: { readonly allReplicas?: boolean } = {},
  ): Promise<readonly RequestRecord[]> {
    const { rows } = await this.#db.query<RequestRow>(
      `SELECT ${REQUEST_COLUMNS} FROM requests WHERE status = 'executing' AND ($1::text IS NULL OR owner = $1)
       AND created_at < $2 ORDER BY created_at`,
      [options.allReplicas === true ? null : this.replicaId, before],
    );
    return rows.map(toRequest);
  }

  async pruneRequests(before: Date, limit: number): Promise<number> {
    // SECURITY: never a request that may still act or settle: executing, awaiting approval, or holding a reservation.
    const result = await this.#db.query(
      `DELETE FROM requests WHERE request_id IN (
         SELECT request_id FROM requests
         WHERE updated_at < $1 AND status NOT IN ('executing', 'pending_approval')
           AND NOT EXISTS (SELECT 1 FROM limit_reservations r WHERE r.request_id = requests.request_id)
         ORDER BY updated_at LIMIT $2
         -- Two replicas pruning at once share the work instead of queueing on each other's rows.
         FOR UPDATE SKIP LOCKED)`,
      [before, limit],
    );
    return result.rowCount ?? 0;
  }

  async heartbeat(at: Date): Promise<void> {
    await this.#db.query(
      `INSERT INTO replicas (id, started_at, heartbeat_at) VALUES ($1, $2, $2)
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
      [this.replicaId, at],
    );
  }

  async adoptOrphans(staleBefore: Date, at: Date): Promise<readonly RequestRecord[]> {
    // One statement, one transaction. SKIP LOCKED: a dead replica another survivor is adopting right now is theirs;
    // each request moves once. The dead replica's row goes with its requests, so it is adopted at most once.
    const { rows } = await this.#db.query<RequestRow>(
      `WITH dead AS (
         SELECT id FROM replicas WHERE heartbeat_at < $1 AND id <> $2 FOR UPDATE SKIP LOCKED
       ), moved AS (
         UPDATE requests SET owner = $2, updated_at = $3
         WHERE status = 'executing' AND owner IN (SELECT id FROM dead)
         RETURNING ${REQUEST_COLUMNS}
       ), forgotten AS (
         DELETE FROM replicas WHERE id IN (SELECT id FROM dead)
       )
       SELECT * FROM moved ORDER BY created_at`,
      [staleBefore, this.replicaId, at],
    );
    return rows.map(toRequest);
  }

  /** Writes the rows {@link recordFinished} still holds. */
  flush(): Promise<void> {
    return this.#finished.flush();
  }
}

function toRequest(row: RequestRow): RequestRecord {
  return {
    requestId: row.request_id,
    agentId: row.agent_id,
    action: row.action,
    account: row.account ?? undefined,
    idempotencyKey: row.idempotency_key ?? undefined,
    input: row.input ?? undefined,
    status: row.status,
    response: row.response ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
