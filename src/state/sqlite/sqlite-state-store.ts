import Database from 'better-sqlite3';

import { ensurePrivateFolder, type PrivateFileFixed, securePrivateFile } from '../../config/private-file.js';
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
import { FinishedRows } from '../finished-rows.js';
import type { LimitExceeded, ReservationSettlement } from '../limit-ledger.js';
import type { NonceClaim } from '../nonce-store.js';
import type {
  AgentRecord,
  AuditHorizon,
  RequestFilter,
  RequestOutcome,
  RequestRecord,
  RequestStatus,
  RestoreResult,
  StateStore,
} from '../state-store.js';
import { insertUnique } from './insert-unique.js';
import { migrateTo4, SqliteAuditHorizon } from './sqlite-audit-horizon.js';
import { migrateTo3, SqliteControlStore } from './sqlite-control-store.js';
import { LIMIT_LEDGER_SCHEMA, SqliteLimitLedger } from './sqlite-limit-ledger.js';
import { migrateTo7, SqliteNonceStore } from './sqlite-nonce-store.js';
import { migrateTo5, SqliteRotationStore } from './sqlite-rotation-store.js';
import { migrateTo6, SqliteSessionStore } from './sqlite-session-store.js';

interface AgentRow {
  id: string;
  policy: string;
  token_id: string;
  token_hash: Buffer;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
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
  created_at: number;
  updated_at: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS agents (
  id TEXT PRIMARY KEY,
  policy TEXT NOT NULL,
  token_id TEXT NOT NULL UNIQUE,
  token_hash BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS requests (
  request_id TEXT PRIMARY KEY,
  agent_id TEXT NOT NULL,
  action TEXT NOT NULL,
  account TEXT,
  idempotency_key TEXT UNIQUE,
  status TEXT NOT NULL,
  response TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  input TEXT
);
CREATE INDEX IF NOT EXISTS requests_executing ON requests (created_at) WHERE status = 'executing';
CREATE INDEX IF NOT EXISTS requests_updated ON requests (updated_at);
-- Issue 18: the operator's activity list, newest first (listRequests), walks this and stops at its limit.
CREATE INDEX IF NOT EXISTS requests_created ON requests (created_at, request_id);
`;

/** `PRAGMA user_version` of the schema above; older files are migrated in {@link migrate}. */
const SCHEMA_VERSION = 7;

/** Brings a file made by an earlier cofre up to {@link SCHEMA_VERSION}, one step after another, in one transaction. */
function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version >= SCHEMA_VERSION) return;
  db.transaction(() => {
    if (version < 1) {
      // 0 → 1: the request's canonical input, to tell a replay from a different request with the same key.
      const columns = db.prepare('PRAGMA table_info(requests)').all() as { name: string }[];
      if (!columns.some((c) => c.name === 'input')) db.exec('ALTER TABLE requests ADD COLUMN input TEXT');
    }
    // 1 → 2: the limit ledger (issue 9).
    if (version < 2) migrateTo2(db);
    // 2 → 3: operators, approvals and the halt (issue 9).
    if (version < 3) migrateTo3(db);
    // 3 → 4: the audit horizon (issue 11).
    if (version < 4) migrateTo4(db);
    // 4 → 5: key rotations (issue 12).
    if (version < 5) migrateTo5(db);
    // 5 → 6: short-lived agent tokens from exchange and delegation (issue 17).
    if (version < 6) migrateTo6(db);
    // 6 → 7: EVM wallet nonces (issue 19).
    if (version < 7) migrateTo7(db);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    // IMMEDIATE: two processes opening a new file at once take turns instead of failing with SQLITE_BUSY.
  }).immediate();
}

/** 1 → 2: the limit ledger's reservations, committed usage and open orders (issue 9). */
function migrateTo2(db: Database.Database): void {
  db.exec(LIMIT_LEDGER_SCHEMA);
}

/** Every statement the store runs, prepared once: preparing costs more than running one. */
function prepareStatements(db: Database.Database) {
  return {
    addAgent: db.prepare(
      'INSERT INTO agents (id, policy, token_id, token_hash, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, NULL)',
    ),
    agentByTokenId: db.prepare('SELECT * FROM agents WHERE token_id = ?'),
    listAgents: db.prepare('SELECT * FROM agents ORDER BY id'),
    revokeAgent: db.prepare('UPDATE agents SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    requestByKey: db.prepare('SELECT * FROM requests WHERE idempotency_key = ?'),
    insertRequest: db.prepare(
      'INSERT INTO requests (request_id, agent_id, action, account, idempotency_key, input, status, response, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    finishRequest: db.prepare(
      'UPDATE requests SET status = ?, response = ?, updated_at = ? WHERE request_id = ?',
    ),
    finishRequestReleasingKey: db.prepare(
      'UPDATE requests SET status = ?, response = ?, updated_at = ?, idempotency_key = NULL WHERE request_id = ?',
    ),
    resumeRequest: db.prepare(
      "UPDATE requests SET status = 'executing', updated_at = ? WHERE request_id = ? AND status = 'pending_approval'",
    ),
    releaseRequest: db.prepare("DELETE FROM requests WHERE request_id = ? AND status = 'executing'"),
    request: db.prepare('SELECT * FROM requests WHERE request_id = ?'),
    executingRequests: db.prepare(
      "SELECT * FROM requests WHERE status = 'executing' AND created_at < ? ORDER BY created_at",
    ),
    // One statement for every filter (a NULL parameter matches all): the newest-first walk of `requests_created`
    // stops at the limit, which bounds the work whatever the filter.
    listRequests: db.prepare(
      `SELECT * FROM requests
       WHERE (@agent IS NULL OR agent_id = @agent) AND (@account IS NULL OR account = @account)
         AND (@status IS NULL OR status = @status) AND (@action IS NULL OR action = @action)
         AND (@since IS NULL OR created_at >= @since) AND (@before IS NULL OR created_at < @before)
       ORDER BY created_at DESC, request_id DESC LIMIT @limit`,
    ),
    approvalExecuted: db.prepare(
      "UPDATE approvals SET status = 'executed' WHERE request_id = ? AND status IN ('pending', 'approved')",
    ),
    // SECURITY: never a request that may still act or settle: executing, awaiting approval, or holding a reservation.
    pruneRequests: db.prepare(
      `DELETE FROM requests WHERE request_id IN (
         SELECT request_id FROM requests
         WHERE updated_at < ? AND status NOT IN ('executing', 'pending_approval')
           AND NOT EXISTS (SELECT 1 FROM limit_reservations r WHERE r.request_id = requests.request_id)
         ORDER BY updated_at LIMIT ?)`,
    ),
  };
}

/**
 * The single-host {@link StateStore}: one SQLite file in WAL mode. Synchronous (better-sqlite3), which is right for
 * SQLite: each statement is microseconds and runs on the caller's turn, so claims are atomic without locks inside
 * one process, and SQLite's own locking covers the CLI writing from another process.
 */
export class SqliteStateStore implements StateStore {
  readonly #db: Database.Database;
  readonly #sql: ReturnType<typeof prepareStatements>;
  readonly #limits: SqliteLimitLedger;
  readonly #control: SqliteControlStore;
  readonly #horizon: SqliteAuditHorizon;
  readonly #rotations: SqliteRotationStore;
  readonly #sessions: SqliteSessionStore;
  readonly #nonces: SqliteNonceStore;
  // Transactions built once, like the statements (no allocation per call on the request path).
  readonly #claim: Database.Transaction<
    (request: RequestRecord) => { claimed: true } | { claimed: false; existing: RequestRecord }
  >;
  readonly #finishSettling: Database.Transaction<(requestId: string, outcome: RequestOutcome) => void>;
  /** Rows given to {@link recordFinished}, written in one transaction at the end of the turn. */
  readonly #finished: FinishedRows;
  readonly #restore: Database.Transaction<
    (record: RequestRecord, checks: readonly LimitCheck[], at: Date) => RestoreResult
  >;

  /**
   * Opens (or creates) the database at `path`. SECURITY: the file is created with mode 600 in a folder created 700,
   * and an existing file or `-wal`/`-shm`/`-journal` companion readable beyond its owner is restricted to 600
   * (reported to `onModeFixed`) or refused when it is another user's; see `config/private-file.ts`. SQLite gives new
   * companions the database file's mode.
   */
  constructor(
    path: string,
    options: {
      readonly onModeFixed?: (fixed: PrivateFileFixed) => void;
      /** Told when rows written in the background ({@link recordFinished}) could not be; default a warning. */
      readonly onBackgroundError?: (err: unknown) => void;
    } = {},
  ) {
    const onBackgroundError =
      options.onBackgroundError ??
      ((err: unknown) => {
        process.emitWarning(`cofre could not store finished requests: ${String(err)}`);
      });
    if (path !== ':memory:') secureStateFiles(path, options.onModeFixed);
    try {
      this.#db = new Database(path);
    } catch (err) {
      throw new CofreError('COFRE_STATE_UNAVAILABLE', `cannot open the state database ${path}`, {
        cause: err,
      });
    }
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('busy_timeout = 5000');
    this.#db.exec(SCHEMA);
    migrate(this.#db);
    this.#sql = prepareStatements(this.#db);
    this.#limits = new SqliteLimitLedger(this.#db);
    this.#control = new SqliteControlStore(this.#db);
    this.#horizon = new SqliteAuditHorizon(this.#db);
    this.#rotations = new SqliteRotationStore(this.#db);
    this.#sessions = new SqliteSessionStore(this.#db);
    this.#nonces = new SqliteNonceStore(this.#db);
    this.#claim = this.#db.transaction((request) => this.#claimIn(request));
    const insertFinished = this.#db.transaction((rows: readonly RequestRecord[]) => {
      for (const row of rows) this.#insertRow(row);
    });
    // Rows finished after close() (a request still running) are dropped: the audit log has them.
    this.#finished = new FinishedRows((rows) => {
      if (this.#db.open) insertFinished(rows);
    }, onBackgroundError);
    this.#finishSettling = this.#db.transaction((requestId, outcome) => {
      // The ledger's own transaction nests (a savepoint): settlement and outcome commit together or not at all.
      if (outcome.settlement !== undefined) this.#limits.settleReservation(requestId, outcome.settlement);
      this.#finishIn(requestId, outcome);
    });
    this.#restore = this.#db.transaction((record, checks, at) => this.#restoreIn(record, checks, at));
  }

  addAgent(agent: AgentRecord): void {
    insertUnique(
      () =>
        this.#sql.addAgent.run(
          agent.id,
          agent.policy,
          agent.tokenId,
          agent.tokenHash,
          agent.createdAt.getTime(),
          agent.expiresAt.getTime(),
        ),
      () =>
        new CofreError(
          'COFRE_AGENT_EXISTS',
          `agent "${agent.id}" already exists; revoke it or pick another id`,
        ),
    );
  }

  agentByTokenId(tokenId: string): AgentRecord | undefined {
    const row = this.#sql.agentByTokenId.get(tokenId) as AgentRow | undefined;
    return row === undefined ? undefined : toAgent(row);
  }

  listAgents(): readonly AgentRecord[] {
    return (this.#sql.listAgents.all() as AgentRow[]).map(toAgent);
  }

  revokeAgent(id: string, at: Date): boolean {
    return this.#sql.revokeAgent.run(at.getTime(), id).changes === 1;
  }

  claimRequest(request: RequestRecord): { claimed: true } | { claimed: false; existing: RequestRecord } {
    // IMMEDIATE: take the write lock before the SELECT, so two processes cannot both see the key as free.
    return this.#claim.immediate(request);
  }

  #claimIn(request: RequestRecord): { claimed: true } | { claimed: false; existing: RequestRecord } {
    if (request.idempotencyKey !== undefined) {
      const existing = this.#sql.requestByKey.get(request.idempotencyKey) as RequestRow | undefined;
      if (existing !== undefined) return { claimed: false as const, existing: toRequest(existing) };
    }
    this.#insertRow(request);
    return { claimed: true as const };
  }

  #insertRow(request: RequestRecord): void {
    this.#sql.insertRequest.run(
      request.requestId,
      request.agentId,
      request.action,
      request.account ?? null,
      request.idempotencyKey ?? null,
      request.input ?? null,
      request.status,
      request.response ?? null,
      request.createdAt.getTime(),
      request.updatedAt.getTime(),
    );
  }

  restoreRequest(record: RequestRecord, checks: readonly LimitCheck[], at: Date): RestoreResult {
    return this.#restore.immediate(record, checks, at);
  }

  #restoreIn(record: RequestRecord, checks: readonly LimitCheck[], at: Date): RestoreResult {
    const row = this.#sql.request.get(record.requestId) as RequestRow | undefined;
    if (row !== undefined) {
      // A row still there keeps the reservation it has: one `executing` may be running in another process right
      // now, between its settlement and its finish, and must not be counted twice.
      if (row.status !== 'pending_approval') return { outcome: 'exists' };
      // SECURITY: its approved run was sent; neither the approval nor the request may run it again.
      this.#sql.approvalExecuted.run(record.requestId);
      this.#sql.resumeRequest.run(record.updatedAt.getTime(), record.requestId);
      this.#limits.restoreReservationIn(record.requestId, checks, at);
      return { outcome: 'resumed' };
    }
    const claimed = this.#claimIn(record);
    if (!claimed.claimed) return { outcome: 'key-held', by: claimed.existing.requestId };
    this.#limits.restoreReservationIn(record.requestId, checks, at);
    return { outcome: 'restored' };
  }

  auditHorizon(): AuditHorizon | undefined {
    return this.#horizon.get();
  }

  setAuditHorizon(horizon: AuditHorizon): void {
    this.#horizon.set(horizon);
  }

  finishRequest(requestId: string, outcome: RequestOutcome): void {
    if (outcome.settlement === undefined) this.#finishIn(requestId, outcome);
    // IMMEDIATE, as a settlement alone: the ledger's write lock before its reads.
    else this.#finishSettling.immediate(requestId, outcome);
  }

  #finishIn(requestId: string, outcome: RequestOutcome): void {
    const statement = outcome.releaseKey ? this.#sql.finishRequestReleasingKey : this.#sql.finishRequest;
    statement.run(outcome.status, outcome.response, outcome.at.getTime(), requestId);
  }

  resumeRequest(requestId: string, at: Date): boolean {
    return this.#sql.resumeRequest.run(at.getTime(), requestId).changes === 1;
  }

  releaseRequest(requestId: string): void {
    this.#sql.releaseRequest.run(requestId);
  }

  request(requestId: string): RequestRecord | undefined {
    const row = this.#sql.request.get(requestId) as RequestRow | undefined;
    if (row !== undefined) return toRequest(row);
    return this.#finished.find(requestId);
  }

  recordFinished(request: RequestRecord): void {
    this.#finished.add(request);
  }

  executingRequests(before: Date): readonly RequestRecord[] {
    return (this.#sql.executingRequests.all(before.getTime()) as RequestRow[]).map(toRequest);
  }

  listRequests(filter: RequestFilter): readonly RequestRecord[] {
    // Rows recorded this turn are written first (synchronously here), so the list shows them like `request` does.
    void this.#finished.flush();
    const rows = this.#sql.listRequests.all({
      agent: filter.agentId ?? null,
      account: filter.account ?? null,
      status: filter.status ?? null,
      action: filter.action ?? null,
      since: filter.since?.getTime() ?? null,
      before: filter.before?.getTime() ?? null,
      limit: filter.limit,
    }) as RequestRow[];
    return rows.map(toRequest);
  }

  pruneRequests(before: Date, limit: number): number {
    return this.#sql.pruneRequests.run(before.getTime(), limit).changes;
  }

  reserve(requestId: string, checks: readonly LimitCheck[], at: Date): { readonly ok: true } | LimitExceeded {
    return this.#limits.reserve(requestId, checks, at);
  }

  settleReservation(requestId: string, settlement: ReservationSettlement): void {
    this.#limits.settleReservation(requestId, settlement);
  }

  usage(
    keys: readonly { readonly key: string; readonly windowMs: number | undefined }[],
    at: Date,
  ): ReadonlyMap<string, Decimal> {
    return this.#limits.usage(keys, at);
  }

  reservedRequests(): readonly string[] {
    return this.#limits.reservedRequests();
  }

  closeOpenOrder(account: string, orderId: string): void {
    this.#limits.closeOpenOrder(account, orderId);
  }

  syncOpenOrders(account: string, openOrderIds: readonly string[], asOf?: Date): void {
    this.#limits.syncOpenOrders(account, openOrderIds, asOf);
  }

  // Operators, approvals and the halt: see SqliteControlStore.

  addOperator(operator: OperatorRecord): void {
    this.#control.addOperator(operator);
  }

  operatorByTokenId(tokenId: string): OperatorRecord | undefined {
    return this.#control.operatorByTokenId(tokenId);
  }

  listOperators(): readonly OperatorRecord[] {
    return this.#control.listOperators();
  }

  revokeOperator(id: string, at: Date): boolean {
    return this.#control.revokeOperator(id, at);
  }

  createApproval(approval: ApprovalRecord): void {
    this.#control.createApproval(approval);
  }

  approval(requestId: string): ApprovalRecord | undefined {
    return this.#control.approval(requestId);
  }

  listApprovals(now: Date, status?: ApprovalStatus): readonly ApprovalRecord[] {
    return this.#control.listApprovals(now, status);
  }

  approve(
    requestId: string,
    operator: string,
    payloadHash: string,
    comment: string | undefined,
    now: Date,
  ): ApproveResult {
    return this.#control.approve(requestId, operator, payloadHash, comment, now);
  }

  deny(requestId: string, operator: string, comment: string | undefined, now: Date): boolean {
    return this.#control.deny(requestId, operator, comment, now);
  }

  claimApprovedForExecution(requestId: string, now: Date): boolean {
    return this.#control.claimApprovedForExecution(requestId, now);
  }

  halted(): HaltState | undefined {
    return this.#control.halted();
  }

  setHalt(state: HaltState): void {
    this.#control.setHalt(state);
  }

  clearHalt(): boolean {
    return this.#control.clearHalt();
  }

  // Short-lived agent tokens (issue 17): see SqliteSessionStore.
  addAgentSession(session: AgentSessionRecord): void {
    this.#sessions.addAgentSession(session);
  }

  agentSessions(tokenIds: readonly string[]): readonly AgentSessionRecord[] {
    return this.#sessions.agentSessions(tokenIds);
  }

  listAgentSessions(options: {
    readonly agentId?: string;
    readonly now: Date;
  }): readonly AgentSessionRecord[] {
    return this.#sessions.listAgentSessions(options);
  }

  revokeAgentSession(tokenId: string, at: Date): boolean {
    return this.#sessions.revokeAgentSession(tokenId, at);
  }

  revokeAgentSessionsOf(agentId: string, at: Date): number {
    return this.#sessions.revokeAgentSessionsOf(agentId, at);
  }

  deleteExpiredAgentSessions(before: Date): number {
    return this.#sessions.deleteExpiredAgentSessions(before);
  }

  // Key rotations (issue 12): see SqliteRotationStore.

  createRotation(record: RotationRecord): void {
    this.#rotations.createRotation(record);
  }

  updateRotation(record: RotationRecord): void {
    this.#rotations.updateRotation(record);
  }

  rotation(id: string): RotationRecord | undefined {
    return this.#rotations.rotation(id);
  }

  rotations(options?: { readonly active?: boolean }): readonly RotationRecord[] {
    return this.#rotations.rotations(options);
  }

  // Wallet nonces (issue 19): see SqliteNonceStore.

  claimNonce(wallet: string, holder: string, at: Date, expires: Date): NonceClaim {
    return this.#nonces.claimNonce(wallet, holder, at, expires);
  }

  releaseNonce(wallet: string, holder: string, advanceTo?: number): boolean {
    return this.#nonces.releaseNonce(wallet, holder, advanceTo);
  }

  /** One host, one replica: every process on the file shares the requests, and a restart settles them. */
  readonly replicaId = 'local';

  heartbeat(): void {
    // Nothing to record: no other host adopts this file's requests.
  }

  adoptOrphans(): readonly RequestRecord[] {
    return [];
  }

  close(): void {
    void this.#finished.flush(); // synchronous here: written when it returns
    if (this.#db.open) this.#db.close();
  }
}

function toAgent(row: AgentRow): AgentRecord {
  return {
    id: row.id,
    policy: row.policy,
    tokenId: row.token_id,
    tokenHash: row.token_hash,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    revokedAt: row.revoked_at === null ? undefined : new Date(row.revoked_at),
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
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

/** The state file and its SQLite companions, private before SQLite opens them (the constructor's first step). */
function secureStateFiles(path: string, onFixed: ((fixed: PrivateFileFixed) => void) | undefined): void {
  const options = onFixed === undefined ? {} : { onFixed };
  try {
    ensurePrivateFolder(path);
    // An empty file is a valid empty database: creating it here is what gives it mode 600 instead of the umask's.
    securePrivateFile(path, { ...options, create: true });
    for (const suffix of ['-wal', '-shm', '-journal']) securePrivateFile(`${path}${suffix}`, options);
  } catch (err) {
    if (err instanceof CofreError) throw err;
    throw new CofreError('COFRE_STATE_UNAVAILABLE', `cannot open the state database ${path}`, { cause: err });
  }
}

/** The schema version this cofre writes (`PRAGMA user_version`), for `cofre doctor`'s state check. */
export const STATE_SCHEMA_VERSION: number = SCHEMA_VERSION;
