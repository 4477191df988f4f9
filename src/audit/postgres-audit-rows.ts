import type { PgQueryable } from '../state/postgres/pg-db.js';

/** Rows read per query: bounds memory whatever the chain's length. */
const PAGE_ROWS = 1000;

/**
 * Calls `row` for every record of the PostgreSQL audit chain (table `audit_records`, issue 16) in seq order, reading
 * keyset pages of {@link PAGE_ROWS} rows, then `page` after each page. Run it inside one `REPEATABLE READ`
 * transaction for a consistent snapshot while writers go on.
 */
export async function forEachAuditRow(
  tx: PgQueryable,
  row: (seq: number, line: string) => void | Promise<void>,
  page?: () => void,
): Promise<void> {
  let after = -1;
  for (;;) {
    const { rows } = await tx.query<{ seq: string; line: string }>(
      'SELECT seq, line FROM audit_records WHERE seq > $1 ORDER BY seq LIMIT $2',
      [after, PAGE_ROWS],
    );
    for (const r of rows) {
      after = Number(r.seq);
      await row(after, r.line);
    }
    page?.();
    if (rows.length < PAGE_ROWS) return;
  }
}

/** The first statement of a transaction that reads the chain: one snapshot, no writes. */
export const READ_SNAPSHOT = 'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY';
