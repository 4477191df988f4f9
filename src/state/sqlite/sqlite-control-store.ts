import { createHash } from 'node:crypto';

import type Database from 'better-sqlite3';

import { CofreError } from '../../errors.js';
import type {
  ApprovalRecord,
  ApprovalStatus,
  ApproveResult,
  ControlStore,
  HaltState,
  OperatorRecord,
} from '../control-store.js';
import { insertUnique } from './insert-unique.js';

interface OperatorRow {
  id: string;
  token_id: string;
  token_hash: Buffer;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

interface ApprovalRow {
  request_id: string;
  agent_id: string;
  action: string;
  account: string | null;
  payload: string;
  payload_hash: string;
  rule: string;
  required: number;
  approvers: string;
  status: ApprovalStatus;
  decided_by: string | null;
  comment: string | null;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
}

interface VoteRow {
  operator: string;
  at: number;
  comment: string | null;
}

interface HaltRow {
  reason: string;
  by: string;
  at: number;
}

/**
 * Schema version 3 (issue 9): operators (own table, token hashes only), approvals with one vote row per operator,
 * and the kill switch as a single row. Idempotent (`IF NOT EXISTS`), so it is safe to run on a file that has them.
 * Runs inside the caller's migration transaction.
 */
export function migrateTo3(db: Database.Database): void {
  db.exec(`
CREATE TABLE IF NOT EXISTS operators (
  id TEXT PRIMARY KEY,
  token_id TEXT NOT NULL UNIQUE,
  token_hash BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS approvals (
  request_id TEXT PRIMARY KEY,
  agent_id TEXT NOT NULL,
  action TEXT NOT NULL,
  account TEXT,
  payload TEXT NOT NULL,
  payload_hash TEXT NOT NULL,
  rule TEXT NOT NULL,
  required INTEGER NOT NULL CHECK (required >= 1),
  approvers TEXT NOT NULL,
  status TEXT NOT NULL,
  decided_by TEXT,
  comment TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  decided_at INTEGER
);
CREATE INDEX IF NOT EXISTS approvals_by_created ON approvals (created_at);
CREATE TABLE IF NOT EXISTS approval_votes (
  request_id TEXT NOT NULL REFERENCES approvals (request_id),
  operator TEXT NOT NULL,
  at INTEGER NOT NULL,
  comment TEXT,
  PRIMARY KEY (request_id, operator)
);
CREATE TABLE IF NOT EXISTS halt (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  reason TEXT NOT NULL,
  by TEXT NOT NULL,
  at INTEGER NOT NULL
);
`);
}

// A pending approval past its expiry reads as expired, whatever the stored status says.
const EFFECTIVE_STATUS = "CASE WHEN status = 'pending' AND expires_at <= @now THEN 'expired' ELSE status END";

/** Every statement, prepared once. */
function prepareStatements(db: Database.Database) {
  return {
    addOperator: db.prepare(
      'INSERT INTO operators (id, token_id, token_hash, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, NULL)',
    ),
    operatorByTokenId: db.prepare('SELECT * FROM operators WHERE token_id = ?'),
    listOperators: db.prepare('SELECT * FROM operators ORDER BY id'),
    revokeOperator: db.prepare('UPDATE operators SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    insertApproval: db.prepare(
      `INSERT INTO approvals (request_id, agent_id, action, account, payload, payload_hash, rule, required, approvers,
        status, decided_by, comment, created_at, expires_at, decided_at)
       VALUES (@requestId, @agentId, @action, @account, @payload, @payloadHash, @rule, @required, @approvers,
        @status, @decidedBy, @comment, @createdAt, @expiresAt, @decidedAt)`,
    ),
    approval: db.prepare('SELECT * FROM approvals WHERE request_id = ?'),
    listApprovals: db.prepare(
      `SELECT * FROM (SELECT request_id, agent_id, action, account, payload, payload_hash, rule, required, approvers,
          ${EFFECTIVE_STATUS} AS status, decided_by, comment, created_at, expires_at, decided_at FROM approvals)
       WHERE @status IS NULL OR status = @status
       ORDER BY status = 'pending' DESC, created_at DESC, request_id`,
    ),
    votes: db.prepare('SELECT operator, at, comment FROM approval_votes WHERE request_id = ? ORDER BY rowid'),
    insertVote: db.prepare(
      'INSERT INTO approval_votes (request_id, operator, at, comment) VALUES (?, ?, ?, ?)',
    ),
    countVotes: db.prepare('SELECT count(*) AS n FROM approval_votes WHERE request_id = ?'),
    setStatus: db.prepare('UPDATE approvals SET status = ? WHERE request_id = ?'),
    decide: db.prepare(
      'UPDATE approvals SET status = ?, decided_by = ?, comment = ?, decided_at = ? WHERE request_id = ?',
    ),
    claim: db.prepare(
      "UPDATE approvals SET status = 'executed' WHERE request_id = ? AND status = 'approved' AND expires_at > ?",
    ),
    halted: db.prepare('SELECT reason, by, at FROM halt WHERE id = 1'),
    setHalt: db.prepare('INSERT OR REPLACE INTO halt (id, reason, by, at) VALUES (1, ?, ?, ?)'),
    clearHalt: db.prepare('DELETE FROM halt WHERE id = 1'),
  };
}

/**
 * The {@link ControlStore} on the state store's SQLite connection (the tables of {@link migrateTo3}).
 *
 * Every change runs in one `BEGIN IMMEDIATE` transaction: the write lock is taken before the first read, so two
 * processes on the same file (the CLI and a server, or two servers) cannot both read a state and both act on it.
 * That is what makes "one vote per operator", "the quorum is reached exactly once" and "one caller claims the
 * execution" hold across processes. Synchronous; safe to call from concurrent requests of one process.
 */
export class SqliteControlStore implements ControlStore {
  readonly #sql: ReturnType<typeof prepareStatements>;
  // Built once, like the statements: a transaction function per call costs an allocation and a closure each time.
  readonly #create: Database.Transaction<(approval: ApprovalRecord) => void>;
  readonly #approve: Database.Transaction<
    (
      requestId: string,
      operator: string,
      payloadHash: string,
      comment: string | undefined,
      now: Date,
    ) => ApproveResult
  >;
  readonly #deny: Database.Transaction<
    (requestId: string, operator: string, comment: string | undefined, now: Date) => boolean
  >;

  /** `db` must have been migrated to version 3 ({@link migrateTo3}). The caller owns and closes it. */
  constructor(db: Database.Database) {
    this.#sql = prepareStatements(db);
    this.#create = db.transaction((approval) => {
      this.#createIn(approval);
    });
    this.#approve = db.transaction((requestId, operator, payloadHash, comment, now) =>
      this.#approveIn(requestId, operator, payloadHash, comment, now),
    );
    this.#deny = db.transaction((requestId, operator, comment, now) =>
      this.#denyIn(requestId, operator, comment, now),
    );
  }

  addOperator(operator: OperatorRecord): void {
    insertUnique(
      () =>
        this.#sql.addOperator.run(
          operator.id,
          operator.tokenId,
          operator.tokenHash,
          operator.createdAt.getTime(),
          operator.expiresAt.getTime(),
        ),
      () =>
        new CofreError(
          'COFRE_OPERATOR_EXISTS',
          `operator "${operator.id}" already exists; revoke it or pick another id`,
        ),
    );
  }

  operatorByTokenId(tokenId: string): OperatorRecord | undefined {
    const row = this.#sql.operatorByTokenId.get(tokenId) as OperatorRow | undefined;
    return row === undefined ? undefined : toOperator(row);
  }

  listOperators(): readonly OperatorRecord[] {
    return (this.#sql.listOperators.all() as OperatorRow[]).map(toOperator);
  }

  revokeOperator(id: string, at: Date): boolean {
    return this.#sql.revokeOperator.run(at.getTime(), id).changes === 1;
  }

  createApproval(approval: ApprovalRecord): void {
    // SECURITY: the hash an operator approves must be the hash of what will execute; refuse a record where not.
    if (createHash('sha256').update(approval.payload, 'utf8').digest('hex') !== approval.payloadHash) {
      throw new CofreError(
        'COFRE_INTERNAL',
        `approval ${approval.requestId}: payloadHash is not the payload's SHA-256`,
      );
    }
    this.#create.immediate(approval);
  }

  #createIn(approval: ApprovalRecord): void {
    this.#sql.insertApproval.run({
      requestId: approval.requestId,
      agentId: approval.agentId,
      action: approval.action,
      account: approval.account ?? null,
      payload: approval.payload,
      payloadHash: approval.payloadHash,
      rule: approval.rule,
      required: approval.required,
      approvers: JSON.stringify(approval.approvers),
      status: approval.status,
      decidedBy: approval.decidedBy ?? null,
      comment: approval.comment ?? null,
      createdAt: approval.createdAt.getTime(),
      expiresAt: approval.expiresAt.getTime(),
      decidedAt: approval.decidedAt?.getTime() ?? null,
    });
    for (const vote of approval.approvals) {
      this.#sql.insertVote.run(approval.requestId, vote.operator, vote.at.getTime(), vote.comment ?? null);
    }
  }

  approval(requestId: string): ApprovalRecord | undefined {
    const row = this.#sql.approval.get(requestId) as ApprovalRow | undefined;
    return row === undefined ? undefined : this.#toApproval(row);
  }

  listApprovals(now: Date, status?: ApprovalStatus): readonly ApprovalRecord[] {
    const rows = this.#sql.listApprovals.all({ now: now.getTime(), status: status ?? null }) as ApprovalRow[];
    return rows.map((row) => this.#toApproval(row));
  }

  approve(
    requestId: string,
    operator: string,
    payloadHash: string,
    comment: string | undefined,
    now: Date,
  ): ApproveResult {
    return this.#approve.immediate(requestId, operator, payloadHash, comment, now);
  }

  #approveIn(
    requestId: string,
    operator: string,
    payloadHash: string,
    comment: string | undefined,
    now: Date,
  ): ApproveResult {
    const row = this.#sql.approval.get(requestId) as ApprovalRow | undefined;
    if (row === undefined) return refused('not-found');
    const closed = this.#closedReason(row, now);
    if (closed !== undefined) return refused(closed);
    const approvers = JSON.parse(row.approvers) as string[];
    if (approvers.length > 0 && !approvers.includes(operator)) return refused('not-an-approver');
    // SECURITY: the operator approves what they saw; a payload that changed since cannot be approved.
    if (payloadHash !== row.payload_hash) return refused('hash-mismatch');
    const voted = (this.#sql.votes.all(requestId) as VoteRow[]).some((v) => v.operator === operator);
    if (voted) return refused('already-approved-by-you');
    this.#sql.insertVote.run(requestId, operator, now.getTime(), comment ?? null);
    const { n } = this.#sql.countVotes.get(requestId) as { n: number };
    if (n < row.required) return { outcome: 'recorded', remaining: row.required - n };
    this.#sql.decide.run('approved', operator, comment ?? null, now.getTime(), requestId);
    return { outcome: 'approved' };
  }

  deny(requestId: string, operator: string, comment: string | undefined, now: Date): boolean {
    return this.#deny.immediate(requestId, operator, comment, now);
  }

  #denyIn(requestId: string, operator: string, comment: string | undefined, now: Date): boolean {
    const row = this.#sql.approval.get(requestId) as ApprovalRow | undefined;
    if (row === undefined || this.#closedReason(row, now) !== undefined) return false;
    this.#sql.decide.run('denied', operator, comment ?? null, now.getTime(), requestId);
    return true;
  }

  claimApprovedForExecution(requestId: string, now: Date): boolean {
    // One UPDATE guarded by the status: SQLite serialises writers, so exactly one caller sees a change.
    return this.#sql.claim.run(requestId, now.getTime()).changes === 1;
  }

  halted(): HaltState | undefined {
    const row = this.#sql.halted.get() as HaltRow | undefined;
    return row === undefined ? undefined : { reason: row.reason, by: row.by, at: new Date(row.at) };
  }

  setHalt(state: HaltState): void {
    this.#sql.setHalt.run(state.reason, state.by, state.at.getTime());
  }

  clearHalt(): boolean {
    return this.#sql.clearHalt.run().changes === 1;
  }

  /**
   * Why a stored approval can no longer be voted on or denied at `now`, or undefined while it is pending. A pending
   * approval found past its expiry is recorded as expired (inside the caller's transaction).
   */
  #closedReason(row: ApprovalRow, now: Date): Exclude<ApprovalStatus, 'pending'> | undefined {
    if (row.status !== 'pending') return row.status;
    if (now.getTime() < row.expires_at) return undefined;
    this.#sql.setStatus.run('expired', row.request_id);
    return 'expired';
  }

  #toApproval(row: ApprovalRow): ApprovalRecord {
    const votes = this.#sql.votes.all(row.request_id) as VoteRow[];
    return {
      requestId: row.request_id,
      agentId: row.agent_id,
      action: row.action,
      account: row.account ?? undefined,
      payload: row.payload,
      payloadHash: row.payload_hash,
      rule: row.rule,
      required: row.required,
      approvers: JSON.parse(row.approvers) as string[],
      status: row.status,
      approvals: votes.map((v) => ({
        operator: v.operator,
        at: new Date(v.at),
        comment: v.comment ?? undefined,
      })),
      decidedBy: row.decided_by ?? undefined,
      comment: row.comment ?? undefined,
      createdAt: new Date(row.created_at),
      expiresAt: new Date(row.expires_at),
      decidedAt: row.decided_at === null ? undefined : new Date(row.decided_at),
    };
  }
}

function refused(reason: Extract<ApproveResult, { outcome: 'refused' }>['reason']): ApproveResult {
  return { outcome: 'refused', reason };
}

function toOperator(row: OperatorRow): OperatorRecord {
  return {
    id: row.id,
    tokenId: row.token_id,
    tokenHash: row.token_hash,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    revokedAt: row.revoked_at === null ? undefined : new Date(row.revoked_at),
  };
}
