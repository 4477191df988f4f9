/**
 * The SQL of the audit chain's tables in PostgreSQL (migration 0004, issue 16), for `PostgresAuditLog`: lock and
 * read the head at the start of a batch, write the batch and move the head. Each runs inside the batch's transaction.
 */
import { CofreError } from '../errors.js';
import type { PgQueryable } from '../state/postgres/pg-db.js';
import type { AuditLogReporter } from './chained-audit-log.js';

/** The head row, as locked at the start of a batch. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
  readonly logId: string | null;
  readonly sinceCheckpoint: number;
}

/**
 * Locks the head row for this transaction and reads it, then the last record's seq (one index probe), which must be
 * the head's seq − 1:
 * - records after the head (added behind cofre's back, or a head moved back) would take the seqs this batch needs:
 *   refused, `COFRE_AUDIT_UNAVAILABLE`, until an operator has run `cofre audit verify` and removed them;
 * - records missing at the end (deleted): reported, and the chain continues from the head, so the gap stays in it
 *   for `cofre audit verify` to show.
 */
export async function lockHead(
  tx: PgQueryable,
  idleHold: string,
  reporter: AuditLogReporter,
): Promise<ChainHead> {
  const { rows } = await tx.query<{
    seq: string;
    hash: string;
    log_id: string | null;
    since_checkpoint: number;
  }>(
    // set_config: every replica's audit waits on this lock, so a writer that stalls while holding it (a frozen
    // process, a network cut TCP notices only after minutes) is cut off by the server after `idleHold` ms.
    `SELECT set_config('idle_in_transaction_session_timeout', $1, true) AS idle_hold,
            seq, hash, log_id, since_checkpoint
       FROM audit_head WHERE only_row FOR UPDATE`,
    [idleHold],
  );
  const row = rows[0];
  if (row === undefined) {
    throw new CofreError(
      'COFRE_AUDIT_UNAVAILABLE',
      'the audit_head row is missing from the PostgreSQL state database (deleted?); run `cofre audit verify`',
    );
  }
  const head = {
    seq: Number(row.seq),
    hash: row.hash,
    logId: row.log_id,
    sinceCheckpoint: row.since_checkpoint,
  };
  // A statement of its own, after the lock is granted: READ COMMITTED takes a statement's snapshot when it starts,
  // so in the locking statement it would miss the records of the batch this one waited for (the locked row itself
  // is re-read at its newest version; a subquery is not).
  const { rows: lastRows } = await tx.query<{ last: string | null }>(
    'SELECT max(seq) AS last FROM audit_records',
  );
  const lastSeq = lastRows[0]?.last ?? null;
  const last = lastSeq === null ? -1 : Number(lastSeq);
  if (last > head.seq - 1) {
    throw new CofreError(
      'COFRE_AUDIT_UNAVAILABLE',
      `the audit chain in PostgreSQL holds records up to seq ${last} after its head (seq ${head.seq - 1}): added behind cofre's back; run \`cofre audit verify\``,
    );
  }
  if (last < head.seq - 1) {
    reporter.error(
      { expected: head.seq - 1, found: last },
      `the audit chain in PostgreSQL should end at seq ${head.seq - 1} but its last record is seq ${last}: records were removed behind cofre's back; run \`cofre audit verify\``,
    );
  }
  if (head.seq > 0 && head.logId === null) {
    throw new CofreError('COFRE_AUDIT_UNAVAILABLE', 'the audit_head row names no log id (edited?)');
  }
  return head;
}

/** Inserts the batch's records and moves the head past them, in one statement. */
export async function writeBatch(
  tx: PgQueryable,
  out: { readonly seqs: readonly number[]; readonly lines: readonly string[]; readonly head: ChainHead },
): Promise<void> {
  if (out.lines.length === 0) return;
  await tx.query(
    `WITH inserted AS (INSERT INTO audit_records (seq, line) SELECT * FROM unnest($1::bigint[], $2::text[]))
     UPDATE audit_head SET seq = $3, hash = $4, log_id = $5, since_checkpoint = $6 WHERE only_row`,
    [out.seqs, out.lines, out.head.seq, out.head.hash, out.head.logId, out.head.sinceCheckpoint],
  );
}
