import { open, rm } from 'node:fs/promises';

import type { PgDb } from '../state/postgres/pg-db.js';
import { forEachAuditRow, READ_SNAPSHOT } from './postgres-audit-rows.js';

/** Lines written per `write` call: few system calls, bounded memory. */
const LINES_PER_WRITE = 1000;

/**
 * Writes the PostgreSQL audit chain (issue 16) to a new file at `path` (mode 600; refused if it exists), one line per
 * record in seq order, each ending in `\n`: byte for byte the file log format, so `cofre audit verify --log <path>`
 * (or any copy an auditor keeps) checks it without the database. Reads one snapshot; returns the records written.
 *
 * What the file cannot carry is the head row: a cut of its last records is detectable from the file only by a
 * witness, as for any file log.
 */
export async function exportPostgresAudit(db: PgDb, path: string): Promise<number> {
  const file = await open(path, 'wx', 0o600);
  try {
    const records = await db.transaction(async (tx) => {
      await tx.query(READ_SNAPSHOT);
      let count = 0;
      let pending: string[] = [];
      const flush = async (): Promise<void> => {
        if (pending.length === 0) return;
        await file.write(`${pending.join('\n')}\n`);
        pending = [];
      };
      await forEachAuditRow(tx, async (_seq, line) => {
        pending.push(line);
        count += 1;
        if (pending.length >= LINES_PER_WRITE) await flush();
      });
      await flush();
      return count;
    });
    await file.sync();
    return records;
  } catch (err) {
    await rm(path, { force: true }); // no partial chain left for someone to take for the whole one
    throw err;
  } finally {
    await file.close();
  }
}
