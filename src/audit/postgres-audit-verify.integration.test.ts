// Verifying the audit chain in a real PostgreSQL (issue 16): every kind of tampering is found with its seq, a chain
// longer than one page verifies and exports to a file the file verifier accepts, and what only a pinned key or a
// witness can catch is caught by them.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  auditRows as rows,
  errorCodes as codes,
  intent as event,
  postgresAuditTestFile,
  quietReporter,
} from '../../test/audit/postgres-audit-fixture.js';
import type { PgDb } from '../state/postgres/pg-db.js';
import { recordHash } from './audit-format.js';
import { CheckpointSigner } from './checkpoint-signer.js';
import { openPostgresAuditLog } from './open-postgres-audit-log.js';
import { exportPostgresAudit } from './postgres-audit-export.js';
import { verifyPostgresAudit } from './postgres-audit-verify.js';
import { verifyAuditLog } from './verify-chain.js';

const { server, fixture, pinnedKey, freshDatabase, writer } = await postgresAuditTestFile('audit_verify');

/** A closed chain of `n` events, signed, checkpoint every 10. */
async function chainOf(n: number): Promise<PgDb> {
  const { connect } = await freshDatabase();
  const db = connect();
  const log = writer(db, { replica: 'r-00000000000000aa' });
  for (let i = 0; i < n; i++) await log.append(event(`req-${i}`));
  await log.close();
  return db;
}

describe.skipIf(server === undefined)('verifyPostgresAudit on a real PostgreSQL', () => {
  it('verifies and exports a chain longer than one page of rows, and still finds an edit deep in it', async () => {
    const { connect } = await freshDatabase();
    const db = connect();
    const log = writer(db, { checkpoint: { every: 500, interval: 60_000 } });
    await Promise.all(Array.from({ length: 2500 }, (_, i) => log.append(event(`bulk-${i}`))));
    await log.close();
    const progress: number[] = [];
    const report = await verifyPostgresAudit(db, { pinnedKey, onProgress: (n) => progress.push(n) });
    expect(report.findings).toEqual([]);
    expect(report.records).toBe(2500 + 1 + 5); // the events, genesis, a checkpoint per 500
    expect(progress.at(-1)).toBe(report.records);
    expect(progress.length).toBeGreaterThan(2);

    const dir = await mkdtemp(join(tmpdir(), 'cofre-pg-export-'));
    try {
      const path = join(dir, 'copy.jsonl');
      expect(await exportPostgresAudit(db, path)).toBe(report.records);
      const fromFile = await verifyAuditLog({ path, pinnedKey });
      expect(fromFile.findings).toEqual([]);
      expect(fromFile.records).toBe(report.records);
      await expect(exportPostgresAudit(db, path)).rejects.toMatchObject({ code: 'EEXIST' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    await db.query(`UPDATE audit_records SET line = line || ' ' WHERE seq = 1700`);
    expect((await verifyPostgresAudit(db, { pinnedKey })).findings).toMatchObject([
      { code: 'prev-mismatch', seq: 1701, line: 1702 },
    ]);
  });

  it('finds every kind of tampering, with the seq where it is', async () => {
    const clean = await chainOf(40);
    expect((await verifyPostgresAudit(clean, { pinnedKey })).findings).toEqual([]);

    const cases: [string, (db: PgDb) => Promise<unknown>, string, number | undefined][] = [
      [
        'an edited line',
        (db) => db.query(`UPDATE audit_records SET line = replace(line, '"req-8"', '"req-X"') WHERE seq = 9`),
        'prev-mismatch',
        10,
      ],
      ['a deleted middle row', (db) => db.query('DELETE FROM audit_records WHERE seq = 20'), 'seq-gap', 21],
      [
        'the tail rows deleted, with the head',
        (db) => db.query('DELETE FROM audit_records WHERE seq > 30; DELETE FROM audit_head'),
        'head-mismatch',
        30,
      ],
      [
        'the tail rows deleted, head kept',
        (db) => db.query('DELETE FROM audit_records WHERE seq > 30'),
        'truncated',
        30,
      ],
      [
        'two rows swapped',
        (db) =>
          db.query(
            `UPDATE audit_records r SET line = o.line FROM audit_records o
              WHERE (r.seq, o.seq) IN ((5, 6), (6, 5))`,
          ),
        'seq-gap',
        6,
      ],
      [
        'a row appended behind the writer',
        (db) =>
          db.query(
            `INSERT INTO audit_records SELECT seq + 1, replace(line, '"seq":' || seq, '"seq":' || (seq + 1))
               FROM audit_records ORDER BY seq DESC LIMIT 1`,
          ),
        'head-mismatch',
        undefined,
      ],
    ];
    for (const [what, tamper, code, seq] of cases) {
      const db = await chainOf(40);
      await tamper(db);
      const report = await verifyPostgresAudit(db, { pinnedKey });
      expect(report.verdict, what).toBe('broken');
      const found = report.findings.find((f) => f.code === code);
      expect(found, `${what}: ${JSON.stringify(report.findings)}`).toBeDefined();
      if (seq !== undefined) expect(found?.seq, what).toBe(seq);
    }
  });

  it('finds a rewritten chain when the key is pinned, and a cut whose head was moved too only with a witness', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cofre-pg-witness-'));
    try {
      const witnessPath = join(dir, 'witness.jsonl');
      const { connect } = await freshDatabase();
      const db = connect();
      // As the runtime opens it: the config's checkpoint and witnesses.
      const log = openPostgresAuditLog(
        { checkpoint: { every: 10, interval: 60_000 }, witnesses: [{ type: 'file', path: witnessPath }] },
        db,
        { signingKey: fixture.signingKey.privateKey, reporter: quietReporter, replica: 'r-00000000000000ee' },
      );
      for (let i = 0; i < 25; i++) await log.append(event(`req-${i}`));
      await log.close();
      expect((await readFile(witnessPath, 'utf8')).trim().split('\n')).toHaveLength(3); // seq 11, 22, 26

      // A consistent cut: the head moved back to the new last record. Only the witness can tell.
      await db.query(`DELETE FROM audit_records WHERE seq > 20`);
      const last = (await rows(db)).at(-1)!;
      await db.query('UPDATE audit_head SET seq = $1, hash = $2', [last.seq + 1, recordHash(last.line)]);
      expect(codes(await verifyPostgresAudit(db, { pinnedKey }))).toEqual([]);
      expect(codes(await verifyPostgresAudit(db, { pinnedKey, witnesses: [witnessPath] }))).toContain(
        'truncated',
      );

      // A checkpoint re-signed with another key is refused when the key is pinned.
      const other = generateKeyPairSync('ed25519').privateKey;
      const forged = await chainOf(15);
      const line = (await rows(forged)).find((r) => r.record['kind'] === 'checkpoint')!;
      const record = line.record as { seq: number; ts: string; prev: string };
      const logId = (await rows(forged))[0]!.record['logId'] as string;
      const fields = new CheckpointSigner(other).fields({
        logId,
        seq: record.seq,
        head: record.prev,
        ts: record.ts,
      });
      const resigned = JSON.stringify({ ...line.record, ...fields });
      await forged.query('UPDATE audit_records SET line = $1 WHERE seq = $2', [resigned, line.seq]);
      expect(codes(await verifyPostgresAudit(forged, { pinnedKey }))).toContain('checkpoint-key');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports an empty chain as no log', async () => {
    const { connect } = await freshDatabase();
    expect(codes(await verifyPostgresAudit(connect()))).toEqual(['no-log']);
  });
});
