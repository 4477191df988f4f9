import type { PgDb, PgQueryable } from '../state/postgres/pg-db.js';
import { ChainState } from './chain-state.js';
import { lineHash } from './parse-audit-record.js';
import { forEachAuditRow, READ_SNAPSHOT } from './postgres-audit-rows.js';
import type { VerifyOptions, VerifyReport } from './verify-chain.js';
import { readWitnessCheckpoints } from './witness-checkpoints.js';

/** The name findings give as their `file`: the table the records are in. */
export const AUDIT_TABLE = 'audit_records';

/** What to verify the PostgreSQL chain against: as for a file log, without the path. */
export type PostgresVerifyOptions = Omit<VerifyOptions, 'path' | 'onProgress'> & {
  /** Called after each page of rows with the records checked so far. */
  readonly onProgress?: (records: number) => void;
};

/**
 * Verifies the audit chain in PostgreSQL (issue 16) exactly as {@link verifyAuditLog} verifies a file log: every row's
 * line, in seq order, goes through the same checks (`ChainState`: head fields, seq and hash chain, genesis,
 * checkpoint fields, key and signature, witnesses). Findings name the table as `file`, the row's position (1-based,
 * in seq order) as `line`, and the record's seq. Then the `audit_head` row must name the last record (its seq + 1 and
 * its hash): otherwise records were cut off the end (`truncated`) or the head disagrees (`head-mismatch`).
 *
 * Reads in one `REPEATABLE READ` read-only transaction (one snapshot: writers may go on meanwhile) by keyset pages
 * of rows (`forEachAuditRow`), so memory stays bounded. Never throws for a damaged chain; throws
 * `COFRE_STATE_UNAVAILABLE` when the database cannot be read (or an unreadable witness file).
 *
 * What it trusts: as the file verifier (the pinned key, else the genesis key), and the database's answers. Someone
 * who may rewrite the tables (a superuser, their owner) can rewrite the whole chain and its head consistently; that
 * is caught only by a pinned key (without the signing key, the checkpoints cannot be re-signed) or by a witness
 * holding a checkpoint of the original chain.
 */
export async function verifyPostgresAudit(
  db: PgDb,
  options: PostgresVerifyOptions = {},
): Promise<VerifyReport> {
  const { onProgress, ...checks } = options;
  const state = new ChainState({ ...checks, path: AUDIT_TABLE });
  state.witnesses = await readWitnessCheckpoints(options.witnesses ?? [], state.findings);
  state.startFile({ path: AUDIT_TABLE, number: undefined, size: undefined }, undefined, true);
  const bytes = await db.transaction(async (tx) => {
    await tx.query(READ_SNAPSHOT);
    return readChain(tx, state, onProgress);
  });
  state.finish();
  return state.report(1, bytes);
}

/** Feeds every row to `state`, then checks the head row. Returns the bytes of all lines. */
async function readChain(
  tx: PgQueryable,
  state: ChainState,
  onProgress: ((records: number) => void) | undefined,
): Promise<number> {
  const head = (
    await tx.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_head WHERE only_row')
  ).rows[0];
  let row = 0;
  let bytes = 0;
  let last: { seq: number; hash: string } | undefined;
  await forEachAuditRow(
    tx,
    (seq, text) => {
      const line = Buffer.from(text, 'utf8');
      row += 1;
      bytes += line.length + 1;
      state.line(line, row, true);
      last = { seq, hash: lineHash(line) };
    },
    () => onProgress?.(state.records),
  );
  checkHead(state, head === undefined ? undefined : { seq: Number(head.seq), hash: head.hash }, last, row);
  return bytes;
}

/** The head row against the last row: the one check a file log needs a witness for. */
function checkHead(
  state: ChainState,
  head: { seq: number; hash: string } | undefined,
  last: { seq: number; hash: string } | undefined,
  rows: number,
): void {
  const at = { file: AUDIT_TABLE, ...(last === undefined ? {} : { line: rows, seq: last.seq }) };
  if (head === undefined) {
    state.findings.error(
      'head-mismatch',
      'the audit_head row is missing: the end of the chain cannot be checked (deleted with records after it?)',
      at,
    );
    return;
  }
  if (last === undefined) {
    if (head.seq === 0) state.findings.error('no-log', 'no audit records in the PostgreSQL state database');
    else
      state.findings.error(
        'truncated',
        `the head says the chain holds ${head.seq} record(s), the table holds none: they were deleted`,
        { file: AUDIT_TABLE },
      );
    return;
  }
  if (head.seq > last.seq + 1) {
    state.findings.error(
      'truncated',
      `the chain ends at seq ${last.seq}, but the head says seq ${head.seq - 1}: ${head.seq - 1 - last.seq} record(s) were cut off the end`,
      at,
    );
  } else if (head.seq < last.seq + 1) {
    state.findings.error(
      'head-mismatch',
      `the head says the chain ends at seq ${head.seq - 1}, but the table goes on to seq ${last.seq}: records added behind the writer's back, or the head was moved back`,
      at,
    );
  } else if (head.hash !== last.hash) {
    state.findings.error(
      'head-mismatch',
      `the last record (seq ${last.seq}) is not the one the head names: it was edited or replaced`,
      at,
    );
  }
}
