import { randomBytes } from 'node:crypto';

import type { PostgresStateConfig } from '../../config/config-schema.js';
import { CofreError } from '../../errors.js';
import type { AgentSessionRecord } from '../../identity/session-types.js';
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
import type { NonceClaim } from '../nonce-store.js';
import type {
  AgentRecord,
  AuditHorizon,
  RequestFilter,
  RequestOutcome,
  RequestRecord,
  RestoreResult,
  StateStore,
} from '../state-store.js';
import { checkSchema } from './migrate.js';
import { openPostgresDb, type PostgresSecrets } from './open-postgres.js';
import type { PgDb } from './pg-db.js';
import { isUniqueViolation } from './pg-errors.js';
import { PostgresControlStore } from './postgres-control-store.js';
import { PostgresLimitLedger } from './postgres-limit-ledger.js';
import { PostgresNonceStore } from './postgres-nonce-store.js';
import { PostgresRequestStore } from './postgres-request-store.js';
import { PostgresRotationStore } from './postgres-rotation-store.js';
import { PostgresSessionStore } from './postgres-session-store.js';

interface AgentRow {
  id: string;
  policy: string;
  token_id: string;
  token_hash: Buffer;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
}

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
  readonly #sessions: PostgresSessionStore;
  readonly #nonces: PostgresNonceStore;
  readonly #requests: PostgresRequestStore;
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
    this.#sessions = new PostgresSessionStore(db);
    this.#nonces = new PostgresNonceStore(db);
    this.#requests = new PostgresRequestStore(
      db,
      this.#limits,
      this.replicaId,
      options.onBackgroundError ??
        ((err) => {
          process.emitWarning(`cofre could not store finished requests: ${String(err)}`);
        }),
    );
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

  // Requests and replicas: see PostgresRequestStore.

  claimRequest(
    request: RequestRecord,
  ): Promise<{ claimed: true } | { claimed: false; existing: RequestRecord }> {
    return this.#requests.claimRequest(request);
  }

  restoreRequest(record: RequestRecord, checks: readonly LimitCheck[], at: Date): Promise<RestoreResult> {
    return this.#requests.restoreRequest(record, checks, at);
  }

  finishRequest(requestId: string, outcome: RequestOutcome): Promise<void> {
    return this.#requests.finishRequest(requestId, outcome);
  }

  resumeRequest(requestId: string, at: Date): Promise<boolean> {
    return this.#requests.resumeRequest(requestId, at);
  }

  releaseRequest(requestId: string): Promise<void> {
    return this.#requests.releaseRequest(requestId);
  }

  request(requestId: string): Promise<RequestRecord | undefined> {
    return this.#requests.request(requestId);
  }

  recordFinished(request: RequestRecord): void {
    this.#requests.recordFinished(request);
  }

  executingRequests(
    before: Date,
    options?: { readonly allReplicas?: boolean },
  ): Promise<readonly RequestRecord[]> {
    return this.#requests.executingRequests(before, options);
  }

  listRequests(filter: RequestFilter): Promise<readonly RequestRecord[]> {
    return this.#requests.listRequests(filter);
  }

  pruneRequests(before: Date, limit: number): Promise<number> {
    return this.#requests.pruneRequests(before, limit);
  }

  heartbeat(at: Date): Promise<void> {
    return this.#requests.heartbeat(at);
  }

  adoptOrphans(staleBefore: Date, at: Date): Promise<readonly RequestRecord[]> {
    return this.#requests.adoptOrphans(staleBefore, at);
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

  // Short-lived agent tokens (issue 17): see PostgresSessionStore.
  addAgentSession(session: AgentSessionRecord): Promise<void> {
    return this.#sessions.addAgentSession(session);
  }

  agentSessions(tokenIds: readonly string[]): Promise<readonly AgentSessionRecord[]> {
    return this.#sessions.agentSessions(tokenIds);
  }

  listAgentSessions(options: {
    readonly agentId?: string;
    readonly now: Date;
  }): Promise<readonly AgentSessionRecord[]> {
    return this.#sessions.listAgentSessions(options);
  }

  revokeAgentSession(tokenId: string, at: Date): Promise<boolean> {
    return this.#sessions.revokeAgentSession(tokenId, at);
  }

  revokeAgentSessionsOf(agentId: string, at: Date): Promise<number> {
    return this.#sessions.revokeAgentSessionsOf(agentId, at);
  }

  deleteExpiredAgentSessions(before: Date): Promise<number> {
    return this.#sessions.deleteExpiredAgentSessions(before);
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

  // Wallet nonces (issue 19): see PostgresNonceStore.

  claimNonce(wallet: string, holder: string, at: Date, expires: Date): Promise<NonceClaim> {
    return this.#nonces.claimNonce(wallet, holder, at, expires);
  }

  releaseNonce(wallet: string, holder: string, advanceTo?: number): Promise<boolean> {
    return this.#nonces.releaseNonce(wallet, holder, advanceTo);
  }

  /** Writes the rows still waiting ({@link recordFinished}) and closes the pool. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#requests.flush();
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
