// Issue 16, property: whatever the interleaving of several replicas' appends and whatever `checkpoint.every`, the
// chain in PostgreSQL holds every event exactly once, in consecutive seqs, checkpointed at least every `every`
// records across replicas, and verifies; and any single edit, deletion, swap, cut or addition of rows is found.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { auditRows, intent, postgresAuditTestFile } from '../../test/audit/postgres-audit-fixture.js';
import type { PgDb } from '../state/postgres/pg-db.js';
import { verifyPostgresAudit } from './postgres-audit-verify.js';

const { server, fixture } = await postgresAuditTestFile('audit_prop');

const REPLICAS = ['r-00000000000000a1', 'r-00000000000000a2', 'r-00000000000000a3'];

/** A burst: `size` appends made at once on one replica; bursts follow each other without waiting. */
const burstArb = fc.record({ replica: fc.nat(REPLICAS.length - 1), size: fc.integer({ min: 1, max: 6 }) });

const TAMPERS = ['edit', 'delete', 'swap', 'cut-tail', 'append-copy'] as const;
type Tamper = (typeof TAMPERS)[number];

/** Applies one tampering at row `at` (0 ≤ at < rows). */
async function tamper(db: PgDb, kind: Tamper, at: number, rows: number): Promise<void> {
  switch (kind) {
    case 'edit':
      await db.query(`UPDATE audit_records SET line = line || ' ' WHERE seq = $1`, [at]);
      return;
    case 'delete':
      await db.query('DELETE FROM audit_records WHERE seq = $1', [at]);
      return;
    case 'swap': {
      const other = at === rows - 1 ? at - 1 : at + 1;
      await db.query(
        `UPDATE audit_records r SET line = o.line FROM audit_records o
          WHERE (r.seq = $1 AND o.seq = $2) OR (r.seq = $2 AND o.seq = $1)`,
        [at, other],
      );
      return;
    }
    case 'cut-tail':
      await db.query('DELETE FROM audit_records WHERE seq >= $1', [Math.max(at, 1)]);
      return;
    case 'append-copy':
      await db.query('INSERT INTO audit_records SELECT $1, line FROM audit_records WHERE seq = $2', [
        rows,
        at,
      ]);
      return;
  }
}

describe.skipIf(server === undefined)('the PostgreSQL audit chain, property', () => {
  it('holds every event once, checkpointed every `every` across replicas, verifies, and shows any tampering', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(burstArb, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(...TAMPERS),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        async (bursts, every, kind, where) => {
          const { connect } = await fixture.freshDatabase();
          const reported: string[] = [];
          const reporter = {
            warn: (_: unknown, m: string) => reported.push(m),
            error: (_: unknown, m: string) => reported.push(m),
          };
          const logs = REPLICAS.map((replica) =>
            fixture.writer(connect(), { replica, reporter, checkpoint: { every, interval: 3_600_000 } }),
          );
          const appended = bursts.flatMap((burst, b) =>
            Array.from({ length: burst.size }, (_, i) => logs[burst.replica]!.append(intent(`${b}.${i}`))),
          );
          await Promise.all(appended);
          await Promise.all(logs.map((log) => log.close()));
          const db = connect();

          const rows = await auditRows(db);
          expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i));
          const ids = rows.flatMap((r) => (r.record['kind'] === 'intent' ? [r.record['requestId']] : []));
          expect(ids.sort()).toEqual(
            bursts.flatMap((burst, b) => Array.from({ length: burst.size }, (_, i) => `${b}.${i}`)).sort(),
          );
          // The genesis record comes on top of the first `every` events.
          const report = await verifyPostgresAudit(db, {
            pinnedKey: fixture.pinnedKey,
            maxRecordsBetweenCheckpoints: every + 1,
          });
          expect(report.findings).toEqual([]);
          expect(report.uncoveredRecords).toBe(0);
          expect(reported).toEqual([]); // nothing to report about an untouched chain

          await tamper(db, kind, Math.floor(where * rows.length), rows.length);
          const tampered = await verifyPostgresAudit(db, { pinnedKey: fixture.pinnedKey });
          expect(tampered.verdict, `${kind} at ${Math.floor(where * rows.length)} of ${rows.length}`).toBe(
            'broken',
          );
          await fixture.closeAll();
        },
      ),
      { numRuns: 15 },
    );
  });
});
