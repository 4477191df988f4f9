import type { PgDb } from '../state/postgres/pg-db.js';
import { forEachAuditRow, READ_SNAPSHOT } from './postgres-audit-rows.js';
import { type BadLineHandler, parseLine, type ScannedRecord } from './scan-audit-records.js';

// `cofre audit tail` and `cofre audit query` over the chain kept in PostgreSQL (issue 16), the counterparts of the
// file readers in scan-audit-records.ts: the same ScannedRecord per row, named by the table and the record's seq.

/** What a record read from the database is named by, in place of the file name. */
export const AUDIT_TABLE = 'audit_records';

function scanned(seq: number, line: string, onBad?: BadLineHandler): ScannedRecord | undefined {
  return parseLine(AUDIT_TABLE, seq, line, onBad);
}

/** Every record of the chain in seq order, from one snapshot, a page at a time (bounded memory). */
export async function scanPostgresAuditRecords(
  db: PgDb,
  onRecord: (record: ScannedRecord) => void,
  onBad?: BadLineHandler,
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(READ_SNAPSHOT);
    await forEachAuditRow(tx, (seq, line) => {
      const record = scanned(seq, line, onBad);
      if (record !== undefined) onRecord(record);
    });
  });
}

/** The last `n` records, oldest first, and the seq of the last one (-1 for an empty chain), to follow from. */
export async function lastPostgresAuditRecords(
  db: PgDb,
  n: number,
  onBad?: BadLineHandler,
): Promise<{ readonly records: ScannedRecord[]; readonly lastSeq: number }> {
  const { rows } = await db.query<{ seq: string; line: string }>(
    'SELECT seq, line FROM audit_records ORDER BY seq DESC LIMIT $1',
    [n],
  );
  const { rows: end } = await db.query<{ seq: string | null }>('SELECT max(seq) AS seq FROM audit_records');
  const records = rows.reverse().flatMap((r) => scanned(Number(r.seq), r.line, onBad) ?? []);
  return { records, lastSeq: end[0]?.seq === null || end[0] === undefined ? -1 : Number(end[0].seq) };
}

/**
 * Prints each record committed after `afterSeq` as it appears, polling every `pollMs`, until `signal` aborts. A
 * failed poll (the server restarting) is retried at the next one.
 */
export async function followPostgresAudit(
  db: PgDb,
  onRecord: (record: ScannedRecord) => void,
  options: {
    readonly afterSeq: number;
    readonly signal: AbortSignal;
    readonly pollMs?: number;
    readonly onBad?: BadLineHandler;
  },
): Promise<void> {
  let after = options.afterSeq;
  const pollMs = options.pollMs ?? 500;
  while (!options.signal.aborted) {
    try {
      const { rows } = await db.query<{ seq: string; line: string }>(
        'SELECT seq, line FROM audit_records WHERE seq > $1 ORDER BY seq LIMIT 1000',
        [after],
      );
      for (const r of rows) {
        after = Number(r.seq);
        const record = scanned(after, r.line, options.onBad);
        if (record !== undefined) onRecord(record);
      }
      if (rows.length === 1000) continue;
    } catch {
      // The database is away for a moment: the next poll tries again.
    }
    await new Promise<void>((resume) => {
      const timer = setTimeout(resume, pollMs);
      options.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resume();
        },
        { once: true },
      );
    });
  }
}
