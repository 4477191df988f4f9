import { createHash } from 'node:crypto';

import { CofreError } from '../../errors.js';
import type {
  ApprovalRecord,
  ApprovalStatus,
  ApproveResult,
  ControlStore,
  HaltState,
  OperatorRecord,
} from '../control-store.js';
import type { PgDb, PgQueryable } from './pg-db.js';
import { isUniqueViolation } from './pg-errors.js';

interface OperatorRow {
  id: string;
  token_id: string;
  token_hash: Buffer;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
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
  approvers: string[];
  status: ApprovalStatus;
  decided_by: string | null;
  comment: string | null;
  created_at: Date;
  expires_at: Date;
  decided_at: Date | null;
}

interface VoteRow {
  request_id: string;
  operator: string;
  at: Date;
  comment: string | null;
}

// A pending approval past its expiry reads as expired, whatever the stored status says ($1: now).
const EFFECTIVE_STATUS = "CASE WHEN status = 'pending' AND expires_at <= $1 THEN 'expired' ELSE status END";

/**
 * The {@link ControlStore} on PostgreSQL (tables of migration 0003). Every decision reads the approval row under
 * `SELECT … FOR UPDATE` in the transaction that changes it, so two replicas voting at once take turns: one vote per
 * operator, the quorum reached once; {@link claimApprovedForExecution} is one guarded UPDATE, true for exactly one
 * caller across every replica. Safe to call concurrently.
 */
export class PostgresControlStore implements ControlStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async addOperator(operator: OperatorRecord): Promise<void> {
    try {
      await this.#db.query(
        'INSERT INTO operators (id, token_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
        [operator.id, operator.tokenId, operator.tokenHash, operator.createdAt, operator.expiresAt],
      );
    } catch (err) {
      if (isUniqueViolation(err, 'operators_pkey')) {
        throw new CofreError(
          'COFRE_OPERATOR_EXISTS',
          `operator "${operator.id}" already exists; revoke it or pick another id`,
        );
      }
      throw err;
    }
  }

  async operatorByTokenId(tokenId: string): Promise<OperatorRecord | undefined> {
    const { rows } = await this.#db.query<OperatorRow>('SELECT * FROM operators WHERE token_id = $1', [
      tokenId,
    ]);
    return rows[0] === undefined ? undefined : toOperator(rows[0]);
  }

  async listOperators(): Promise<readonly OperatorRecord[]> {
    const { rows } = await this.#db.query<OperatorRow>('SELECT * FROM operators ORDER BY id');
    return rows.map(toOperator);
  }

  async revokeOperator(id: string, at: Date): Promise<boolean> {
    const result = await this.#db.query(
      'UPDATE operators SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL',
      [at, id],
    );
    return result.rowCount === 1;
  }

  async createApproval(approval: ApprovalRecord): Promise<void> {
    // SECURITY: the hash an operator approves must be the hash of what will execute; refuse a record where not.
    if (createHash('sha256').update(approval.payload, 'utf8').digest('hex') !== approval.payloadHash) {
      throw new CofreError(
        'COFRE_INTERNAL',
        `approval ${approval.requestId}: payloadHash is not the payload's SHA-256`,
      );
    }
    await this.#db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO approvals (request_id, agent_id, action, account, payload, payload_hash, rule, required, approvers,
           status, decided_by, comment, created_at, expires_at, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
        [
          approval.requestId,
          approval.agentId,
          approval.action,
          approval.account ?? null,
          approval.payload,
          approval.payloadHash,
          approval.rule,
          approval.required,
          approval.approvers,
          approval.status,
          approval.decidedBy ?? null,
          approval.comment ?? null,
          approval.createdAt,
          approval.expiresAt,
          approval.decidedAt ?? null,
        ],
      );
      for (const vote of approval.approvals) {
        await tx.query(
          'INSERT INTO approval_votes (request_id, operator, at, comment) VALUES ($1, $2, $3, $4)',
          [approval.requestId, vote.operator, vote.at, vote.comment ?? null],
        );
      }
    });
  }

  async approval(requestId: string): Promise<ApprovalRecord | undefined> {
    const { rows } = await this.#db.query<ApprovalRow>('SELECT * FROM approvals WHERE request_id = $1', [
      requestId,
    ]);
    if (rows[0] === undefined) return undefined;
    return (await withVotes(this.#db, rows))[0];
  }

  async listApprovals(now: Date, status?: ApprovalStatus): Promise<readonly ApprovalRecord[]> {
    const { rows } = await this.#db.query<ApprovalRow>(
      `SELECT * FROM (SELECT request_id, agent_id, action, account, payload, payload_hash, rule, required, approvers,
          ${EFFECTIVE_STATUS} AS status, decided_by, comment, created_at, expires_at, decided_at FROM approvals) a
       WHERE $2::text IS NULL OR status = $2
       ORDER BY status = 'pending' DESC, created_at DESC, request_id`,
      [now, status ?? null],
    );
    return withVotes(this.#db, rows);
  }

  approve(
    requestId: string,
    operator: string,
    payloadHash: string,
    comment: string | undefined,
    now: Date,
  ): Promise<ApproveResult> {
    return this.#db.transaction(async (tx) => {
      const row = await lockApproval(tx, requestId);
      if (row === undefined) return refused('not-found');
      const closed = await closedReason(tx, row, now);
      if (closed !== undefined) return refused(closed);
      if (row.approvers.length > 0 && !row.approvers.includes(operator)) return refused('not-an-approver');
      // SECURITY: the operator approves what they saw; a payload that changed since cannot be approved.
      if (payloadHash !== row.payload_hash) return refused('hash-mismatch');
      // The row lock above serialises votes on this approval: the count below sees every vote before this one.
      const voted = await tx.query('SELECT 1 FROM approval_votes WHERE request_id = $1 AND operator = $2', [
        requestId,
        operator,
      ]);
      if (voted.rowCount !== 0) return refused('already-approved-by-you');
      await tx.query(
        'INSERT INTO approval_votes (request_id, operator, at, comment) VALUES ($1, $2, $3, $4)',
        [requestId, operator, now, comment ?? null],
      );
      const counted = await tx.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM approval_votes WHERE request_id = $1',
        [requestId],
      );
      const n = counted.rows[0]?.n ?? 0;
      if (n < row.required) return { outcome: 'recorded' as const, remaining: row.required - n };
      await decide(tx, requestId, 'approved', operator, comment, now);
      return { outcome: 'approved' as const };
    });
  }

  deny(requestId: string, operator: string, comment: string | undefined, now: Date): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      const row = await lockApproval(tx, requestId);
      if (row === undefined || (await closedReason(tx, row, now)) !== undefined) return false;
      await decide(tx, requestId, 'denied', operator, comment, now);
      return true;
    });
  }

  async claimApprovedForExecution(requestId: string, now: Date): Promise<boolean> {
    // One guarded UPDATE: a second caller waits for the first's row lock, then sees `executed` and changes nothing.
    const result = await this.#db.query(
      "UPDATE approvals SET status = 'executed' WHERE request_id = $1 AND status = 'approved' AND expires_at > $2",
      [requestId, now],
    );
    return result.rowCount === 1;
  }

  async halted(): Promise<HaltState | undefined> {
    const { rows } = await this.#db.query<{ reason: string; by: string; at: Date }>(
      'SELECT reason, by, at FROM halt WHERE id = 1',
    );
    const row = rows[0];
    return row === undefined ? undefined : { reason: row.reason, by: row.by, at: row.at };
  }

  async setHalt(state: HaltState): Promise<void> {
    await this.#db.query(
      `INSERT INTO halt (id, reason, by, at) VALUES (1, $1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET reason = excluded.reason, by = excluded.by, at = excluded.at`,
      [state.reason, state.by, state.at],
    );
  }

  async clearHalt(): Promise<boolean> {
    const result = await this.#db.query('DELETE FROM halt WHERE id = 1');
    return result.rowCount === 1;
  }
}

async function lockApproval(tx: PgQueryable, requestId: string): Promise<ApprovalRow | undefined> {
  const { rows } = await tx.query<ApprovalRow>('SELECT * FROM approvals WHERE request_id = $1 FOR UPDATE', [
    requestId,
  ]);
  return rows[0];
}

/**
 * Why a locked approval can no longer be voted on or denied at `now`, or undefined while it is pending. A pending
 * approval found past its expiry is recorded as expired, in the caller's transaction.
 */
async function closedReason(
  tx: PgQueryable,
  row: ApprovalRow,
  now: Date,
): Promise<Exclude<ApprovalStatus, 'pending'> | undefined> {
  if (row.status !== 'pending') return row.status;
  if (now.getTime() < row.expires_at.getTime()) return undefined;
  await tx.query("UPDATE approvals SET status = 'expired' WHERE request_id = $1", [row.request_id]);
  return 'expired';
}

async function decide(
  tx: PgQueryable,
  requestId: string,
  status: 'approved' | 'denied',
  operator: string,
  comment: string | undefined,
  now: Date,
): Promise<void> {
  await tx.query(
    'UPDATE approvals SET status = $1, decided_by = $2, comment = $3, decided_at = $4 WHERE request_id = $5',
    [status, operator, comment ?? null, now, requestId],
  );
}

/** The records of `rows`, with their votes read in one query. */
async function withVotes(db: PgQueryable, rows: readonly ApprovalRow[]): Promise<ApprovalRecord[]> {
  if (rows.length === 0) return [];
  const votes = await db.query<VoteRow>(
    'SELECT request_id, operator, at, comment FROM approval_votes WHERE request_id = ANY($1) ORDER BY seq',
    [rows.map((r) => r.request_id)],
  );
  const byRequest = new Map<string, VoteRow[]>();
  for (const vote of votes.rows) {
    const list = byRequest.get(vote.request_id) ?? [];
    list.push(vote);
    byRequest.set(vote.request_id, list);
  }
  return rows.map((row) => toApproval(row, byRequest.get(row.request_id) ?? []));
}

function toApproval(row: ApprovalRow, votes: readonly VoteRow[]): ApprovalRecord {
  return {
    requestId: row.request_id,
    agentId: row.agent_id,
    action: row.action,
    account: row.account ?? undefined,
    payload: row.payload,
    payloadHash: row.payload_hash,
    rule: row.rule,
    required: row.required,
    approvers: row.approvers,
    status: row.status,
    approvals: votes.map((v) => ({ operator: v.operator, at: v.at, comment: v.comment ?? undefined })),
    decidedBy: row.decided_by ?? undefined,
    comment: row.comment ?? undefined,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    decidedAt: row.decided_at ?? undefined,
  };
}

function refused(reason: Extract<ApproveResult, { outcome: 'refused' }>['reason']): ApproveResult {
  return { outcome: 'refused', reason };
}

function toOperator(row: OperatorRow): OperatorRecord {
  return {
    id: row.id,
    tokenId: row.token_id,
    tokenHash: row.token_hash,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at ?? undefined,
  };
}
