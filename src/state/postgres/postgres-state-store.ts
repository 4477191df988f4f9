import { randomBytes } from 'node:crypto';

import type { PostgresStateConfig } from '../../config/config-schema.js';
import { CofreError } from '../../errors.js';
import type { LimitCheck } from '../../policy/policy-types.js';
import type { RotationRecord } from '../../rotation/rotation-types.js';
import type { Decimal } from '../../venues/venue-account.js';
import type {
  ApprovalRecord,
  ApprovalStatus,
  ApproveResult,
  HaltState,
  OperatorRecord,
} from '../control-store.js';
import type { LimitExceeded, ReservationSettlement } from '../limit-ledger.js';
import type {
  AgentRecord,
  AuditHorizon,
  RequestOutcome,
  RequestRecord,
  RequestStatus,
  RestoreResult,
  StateStore,
} from '../state-store.js';
import { checkSchema } from './migrate.js';
import { openPostgresDb, type PostgresSecrets } from './open-postgres.js';
import type { PgDb, PgQueryable } from './pg-db.js';
import { isUniqueViolation } from './pg-errors.js';
import { PostgresControlStore } from './postgres-control-store.js';
import { PostgresLimitLedger } from './postgres-limit-ledger.js';
import { PostgresRotationStore } from './postgres-rotation-store.js';

interface AgentRow {
  id: string;
  policy: string;
  token_id: string;
  token_hash: Buffer;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
}

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
 * The {@link StateStore} on PostgreSQL (issue 16): many replicas share one database. Every method returns a promise
 * and is safe to call concurrently, from any number of processes and hosts:
 * - {@link claimRequest} is one `INSERT … ON CONFLICT (idempotency_key) DO NOTHING`: of two claims of one key, one
 *   inserts and the other (which waits for the first to commit) reads the winner's row;
 * - a finish and its settlement, a restore and its reservation, commit in one transaction;
 * - approvals lock their row (`FOR UPDATE`) for each decision, and execution is claimed by one guarded UPDATE;
 * - a dead replica's requests are adopted under `FOR UPDATE SKIP LOCKED` on its row, so by one survivor.
 *
 * Errors of the server (unreachable, restarting) are `COFRE_STATE_UNAVAILABLE`, retryable, naming no credential.
 */
export class PostgresStateStore implements StateStore {
  readonly replicaId: string;
  readonly #db: PgDb;
  readonly #limits: PostgresLimitLedger;
  readonly #control: PostgresControlStore;
  readonly #rotations: PostgresRotationStore;
  readonly #onBackgroundError: (err: unknown) => void;
  /** Rows given to {@link recordFinished} and not yet written. */
  #finished: RequestRecord[] = [];
  /** Rows being written now; {@link request} still finds them. */
  #writing: readonly RequestRecord[] = [];
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;

  /**
   * A store on `db` (already migrated: see {@link openPostgresStateStore}), which it owns and closes. A new replica:
   * its id is random, so a restarted process never takes over its former self's rows except by adoption.
   */
  constructor(
    db: PgDb,
    options: {
      /** Told when rows written in the background ({@link recordFinished}) could not be; default a warning. */
      readonly onBackgroundError?: (err: unknown) => void;
      readonly replicaId?: string;
    } = {},
  ) {
    this.#db = db;
    this.replicaId = options.replicaId ?? `r-${randomBytes(8).toString('hex')}`;
    this.#limits = new PostgresLimitLedger(db);
    this.#control = new PostgresControlStore(db);
    this.#rotations = new PostgresRotationStore(db);
    this.#onBackgroundError =
      options.onBackgroundError ??
      ((err) => {
        process.emitWarning(`cofre could not store finished requests: ${String(err)}`);
      });
  }

  /** The database, for the audit sink kept in it (one pool per process). */
  get db(): PgDb {
    return this.#db;
  }

  async addAgent(agent: AgentRecord): Promise<void> {
    try {
      await this.#db.query(
        'INSERT INTO agents (id, policy, token_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)',
        [agent.id, agent.policy, agent.tokenId, agent.tokenHash, agent.createdAt, agent.expiresAt],
      );
    } catch (err) {
      if (isUniqueViolation(err, 'agents_pkey')) {
        throw new CofreError(
          'COFRE_AGENT_EXISTS',
          `agent "${agent.id}" already exists; revoke it or pick another id`,
        );
      }
      throw err;
    }
  }

  async agentByTokenId(tokenId: string): Promise<AgentRecord | undefined> {
    const { rows } = await this.#db.query<AgentRow>('SELECT * FROM agents WHERE token_id = $1', [tokenId]);
    return rows[0] === undefined ? undefined : toAgent(rows[0]);
  }

  async listAgents(): Promise<readonly AgentRecord[]> {
    const { rows } = await this.#db.query<AgentRow>('SELECT * FROM agents ORDER BY id');
    return rows.map(toAgent);
  }

  async revokeAgent(id: string, at: Date): Promise<boolean> {
    const result = await this.#db.query(
      'UPDATE agents SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL',
      [at, id],
    );
    return result.rowCount === 1;
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

  async auditHorizon(): Promise<AuditHorizon | undefined> {
    const { rows } = await this.#db.query<{
      seq: string;
      hash: string;
      ino: string;
      offset: string;
      updated_at: Date;
    }>('SELECT seq, hash, ino, "offset", updated_at FROM audit_horizon WHERE id = 1');
    const row = rows[0];
    if (row === undefined) return undefined;
    return {
      seq: Number(row.seq),
      hash: row.hash,
      ino: row.ino,
      offset: Number(row.offset),
      at: row.updated_at,
    };
  }

  async setAuditHorizon(horizon: AuditHorizon): Promise<void> {
    await this.#db.query(
      `INSERT INTO audit_horizon (id, seq, hash, ino, "offset", updated_at) VALUES (1, $1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, ino = excluded.ino,
         "offset" = excluded."offset", updated_at = excluded.updated_at`,
      [horizon.seq, horizon.hash, horizon.ino, horizon.offset, horizon.at],
    );
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
    const pending = this.#pendingRow(requestId);
    if (pending !== undefined) return pending;
    const { rows } = await this.#db.query<RequestRow>(
      `SELECT ${REQUEST_COLUMNS} FROM requests WHERE request_id = $1`,
      [requestId],
    );
    // Looked for again: the row may have been taken for writing while the query ran.
    return rows[0] === undefined ? this.#pendingRow(requestId) : toRequest(rows[0]);
  }

  #pendingRow(requestId: string): RequestRecord | undefined {
    return (
      this.#finished.find((r) => r.requestId === requestId) ??
      this.#writing.find((r) => r.requestId === requestId)
    );
  }

  recordFinished(request: RequestRecord): void {
    if (request.idempotencyKey !== undefined) {
      throw new CofreError(
        'COFRE_INTERNAL',
        'a request with an idempotency key is claimed, not recorded later',
      );
    }
    this.#finished.push(request);
    if (this.#finished.length === 1) {
      setImmediate(() => {
        void this.#flushFinished();
      });
    }
  }

  /** Writes the rows recorded so far in one INSERT, after any write still running (rows keep their order). */
  #flushFinished(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      const rows = this.#finished;
      if (rows.length === 0) return;
      this.#finished = [];
      this.#writing = rows;
      try {
        await this.#insert(this.#db, rows);
      } catch (err) {
        this.#onBackgroundError(err);
      } finally {
        this.#writing = [];
      }
    });
    return this.#flushing;
  }

  async executingRequests(before: Date): Promise<readonly RequestRecord[]> {
    const { rows } = await this.#db.query<RequestRow>(
      `SELECT ${REQUEST_COLUMNS} FROM requests WHERE status = 'executing' AND owner = $1 AND created_at < $2
       ORDER BY created_at`,
      [this.replicaId, before],
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
         ORDER BY updated_at LIMIT $2)`,
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

  // Limits: see PostgresLimitLedger.

  reserve(
    requestId: string,
    checks: readonly LimitCheck[],
    at: Date,
  ): Promise<{ readonly ok: true } | LimitExceeded> {
    return this.#limits.reserve(requestId, checks, at);
  }

  settleReservation(requestId: string, settlement: ReservationSettlement): Promise<void> {
    return this.#limits.settleReservation(requestId, settlement);
  }

  usage(
    keys: readonly { readonly key: string; readonly windowMs: number | undefined }[],
    at: Date,
  ): Promise<ReadonlyMap<string, Decimal>> {
    return this.#limits.usage(keys, at);
  }

  reservedRequests(): Promise<readonly string[]> {
    return this.#limits.reservedRequests();
  }

  closeOpenOrder(account: string, orderId: string): Promise<void> {
    return this.#limits.closeOpenOrder(account, orderId);
  }

  syncOpenOrders(account: string, openOrderIds: readonly string[], asOf?: Date): Promise<void> {
    return this.#limits.syncOpenOrders(account, openOrderIds, asOf);
  }

  // Operators, approvals and the halt: see PostgresControlStore.

  addOperator(operator: OperatorRecord): Promise<void> {
    return this.#control.addOperator(operator);
  }

  operatorByTokenId(tokenId: string): Promise<OperatorRecord | undefined> {
    return this.#control.operatorByTokenId(tokenId);
  }

  listOperators(): Promise<readonly OperatorRecord[]> {
    return this.#control.listOperators();
  }

  revokeOperator(id: string, at: Date): Promise<boolean> {
    return this.#control.revokeOperator(id, at);
  }

  createApproval(approval: ApprovalRecord): Promise<void> {
    return this.#control.createApproval(approval);
  }

  approval(requestId: string): Promise<ApprovalRecord | undefined> {
    return this.#control.approval(requestId);
  }

  listApprovals(now: Date, status?: ApprovalStatus): Promise<readonly ApprovalRecord[]> {
    return this.#control.listApprovals(now, status);
  }

  approve(
    requestId: string,
    operator: string,
    payloadHash: string,
    comment: string | undefined,
    now: Date,
  ): Promise<ApproveResult> {
    return this.#control.approve(requestId, operator, payloadHash, comment, now);
  }

  deny(requestId: string, operator: string, comment: string | undefined, now: Date): Promise<boolean> {
    return this.#control.deny(requestId, operator, comment, now);
  }

  claimApprovedForExecution(requestId: string, now: Date): Promise<boolean> {
    return this.#control.claimApprovedForExecution(requestId, now);
  }

  halted(): Promise<HaltState | undefined> {
    return this.#control.halted();
  }

  setHalt(state: HaltState): Promise<void> {
    return this.#control.setHalt(state);
  }

  clearHalt(): Promise<boolean> {
    return this.#control.clearHalt();
  }

  // Key rotations (issue 12): see PostgresRotationStore.

  createRotation(record: RotationRecord): Promise<void> {
    return this.#rotations.createRotation(record);
  }

  updateRotation(record: RotationRecord): Promise<void> {
    return this.#rotations.updateRotation(record);
  }

  rotation(id: string): Promise<RotationRecord | undefined> {
    return this.#rotations.rotation(id);
  }

  rotations(options?: { readonly active?: boolean }): Promise<readonly RotationRecord[]> {
    return this.#rotations.rotations(options);
  }

  /** Writes the rows still waiting ({@link recordFinished}) and closes the pool. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#flushFinished();
    await this.#db.close();
  }
}

/**
 * Opens the PostgreSQL state store of `state` (issue 16). `check: 'serve'` (the default: a replica, every command that uses the
 * state) refuses a schema this cofre does not know (`COFRE_STATE_SCHEMA_MISMATCH`: run `cofre state migrate`, or
 * upgrade); `'none'` skips the check (`cofre state migrate` itself, tests). The new replica records a first
 * heartbeat, so requests it claims are adoptable if it dies before its next one.
 */
export async function openPostgresStateStore(
  state: PostgresStateConfig,
  options: PostgresSecrets & {
    /** Default `serve`. */
    readonly check?: 'serve' | 'none';
    readonly onBackgroundError?: (err: unknown) => void;
    readonly now?: () => Date;
  },
): Promise<PostgresStateStore> {
  const db = await openPostgresDb(state, options);
  try {
    const serving = options.check !== 'none';
    if (serving) await checkSchema(db);
    const store = new PostgresStateStore(
      db,
      options.onBackgroundError === undefined ? {} : { onBackgroundError: options.onBackgroundError },
    );
    if (serving) await store.heartbeat(options.now?.() ?? new Date());
    return store;
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}

function toAgent(row: AgentRow): AgentRecord {
  return {
    id: row.id,
    policy: row.policy,
    tokenId: row.token_id,
    tokenHash: row.token_hash,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at ?? undefined,
  };
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
