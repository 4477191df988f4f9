// The audit writer on a real PostgreSQL (issue 16): several replicas' writers interleave into one chain that
// verifies; an outage rejects appends cleanly and the chain resumes; an append resolves after its COMMIT; group
// commit groups; a stalled replica cannot block the others; no secret reaches a row.

import pg from 'pg';
import { describe, expect, it } from 'vitest';

import {
  auditRows as rows,
  errorCodes as codes,
  intent as event,
  postgresAuditTestFile,
} from '../../test/audit/postgres-audit-fixture.js';
import { encodingsOf } from '../../test/invariants/canary.js';
import { AuditedSecrets } from '../broker/audited-secrets.js';
import type { CofreError } from '../errors.js';
import { isCofreError } from '../errors.js';
import { SecretValue } from '../secrets/secret-value.js';
import { PgDb, type PgQueryable } from '../state/postgres/pg-db.js';
import { AuditHasher } from './audit-hasher.js';
import type { AuditEvent } from './audit-log.js';
import { verifyPostgresAudit } from './postgres-audit-verify.js';

const { server, fixture, pinnedKey, freshDatabase, writer } = await postgresAuditTestFile('audit');

describe.skipIf(server === undefined)('PostgresAuditLog on a real PostgreSQL', () => {
  it('interleaves the concurrent appends of three replicas into one chain that verifies, each event once', async () => {
    const { connect } = await freshDatabase();
    const replicas = ['r-0000000000000001', 'r-0000000000000002', 'r-0000000000000003'];
    const reported: string[] = [];
    const reporter = {
      warn: (_: unknown, m: string) => reported.push(m),
      error: (_: unknown, m: string) => reported.push(m),
    };
    const logs = replicas.map((replica) => writer(connect(), { replica, reporter }));
    const perReplica = 80;
    await Promise.all(
      logs.flatMap((log, r) =>
        Array.from({ length: perReplica }, async (_, i) => {
          // Spread each replica's appends over many ticks so batches of the three overlap.
          await new Promise((done) => setTimeout(done, i % 7));
          await log.append(event(`${r}-${i}`));
        }),
      ),
    );
    await Promise.all(logs.map((log) => log.close()));
    const db = connect();

    const report = await verifyPostgresAudit(db, { pinnedKey, maxRecordsBetweenCheckpoints: 20 });
    expect(report.findings).toEqual([]);
    expect(report.verdict).toBe('verified');
    const all = await rows(db);
    const events = all.filter((r) => r.record['kind'] === 'intent');
    const ids = events.map((r) => r.record['requestId']);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(3 * perReplica);
    // Each record names the replica that wrote it.
    for (const r of events) {
      const from = Number(String(r.record['requestId']).split('-')[0]);
      expect(r.record['replica']).toBe(replicas[from]);
    }
    expect(all.map((r) => r.seq)).toEqual(all.map((_, i) => i));
    expect(report.checkpoints.verified).toBeGreaterThanOrEqual((3 * perReplica) / 10);
    expect(report.uncoveredRecords).toBe(0); // the last close wrote a final checkpoint
    // Regression: the last record's seq was read in the snapshot taken before the head lock was granted, so a writer
    // that had waited for another's batch reported its records as removed.
    expect(reported).toEqual([]);
  });

  it('refuses to write over rows added after the head, and reports rows removed from the end', async () => {
    const { connect } = await freshDatabase();
    const db = connect();
    const errors: string[] = [];
    const log = writer(db, { reporter: { warn: () => undefined, error: (_d, m) => errors.push(m) } });
    for (let i = 0; i < 5; i++) await log.append(event(`req-${i}`));
    await db.query(`INSERT INTO audit_records VALUES (6, '{"forged":true}')`);
    await expect(log.append(event('refused'))).rejects.toSatisfy(
      (err) =>
        isCofreError(err, 'COFRE_AUDIT_UNAVAILABLE') &&
        /records up to seq 6 after its head \(seq 5\)/.test(String((err as Error).cause)),
    );
    await db.query('DELETE FROM audit_records WHERE seq >= 5');
    await log.append(event('after-the-cut'));
    expect(errors.some((m) => m.includes('should end at seq 5 but its last record is seq 4'))).toBe(true);
    expect(codes(await verifyPostgresAudit(db, { pinnedKey }))).toEqual(['seq-gap']);
  });

  it('rejects appends while PostgreSQL is down with COFRE_AUDIT_UNAVAILABLE, and resumes after it is back', async () => {
    const { connect } = await freshDatabase();
    const db = connect();
    const log = writer(db, { replica: 'r-00000000000000bb' });
    for (let i = 0; i < 5; i++) await log.append(event(`before-${i}`));

    const refused: unknown[] = [];
    await server!.restart(async () => {
      const results = await Promise.allSettled([0, 1, 2].map((i) => log.append(event(`during-${i}`))));
      for (const r of results) refused.push(r.status === 'rejected' ? r.reason : 'resolved');
    });
    expect(refused).toHaveLength(3);
    for (const err of refused) {
      expect(isCofreError(err, 'COFRE_AUDIT_UNAVAILABLE')).toBe(true);
      expect((err as CofreError).retryable).toBe(true);
    }

    for (let i = 0; i < 5; i++) await log.append(event(`after-${i}`));
    await log.close();
    const report = await verifyPostgresAudit(connect(), { pinnedKey });
    expect(report.findings).toEqual([]);
    const ids = (await rows(connect())).map((r) => r.record['requestId']).filter((id) => id !== undefined);
    expect(ids).toEqual(
      [0, 1, 2, 3, 4].map((i) => `before-${i}`).concat([0, 1, 2, 3, 4].map((i) => `after-${i}`)),
    );
  });

  it('survives a restart in the middle of a stream of appends from two replicas: acknowledged means recorded, once', async () => {
    const { connect } = await freshDatabase();
    const logs = ['r-00000000000000b1', 'r-00000000000000b2'].map((replica) =>
      writer(connect(), { replica }),
    );
    const outcomes = new Map<string, 'ok' | 'refused'>();
    let stop = false;
    let okAfterRestart = 0;
    let restarted = false;
    const streams = logs.map(async (log, r) => {
      for (let i = 0; !stop; i++) {
        const id = `${r}-${i}`;
        try {
          await log.append(event(id));
          outcomes.set(id, 'ok');
          if (restarted) okAfterRestart += 1;
        } catch (err) {
          expect(isCofreError(err, 'COFRE_AUDIT_UNAVAILABLE')).toBe(true);
          outcomes.set(id, 'refused');
          await new Promise((done) => setTimeout(done, 5));
        }
      }
    });
    while ([...outcomes.values()].filter((o) => o === 'ok').length < 20)
      await new Promise((d) => setTimeout(d, 5));
    await server!.restart();
    restarted = true;
    while (okAfterRestart < 20) await new Promise((d) => setTimeout(d, 5));
    stop = true;
    await Promise.all(streams);
    await Promise.all(logs.map((log) => log.close()));

    const db = connect();
    expect((await verifyPostgresAudit(db, { pinnedKey })).findings).toEqual([]);
    const recorded = (await rows(db)).flatMap((r) =>
      r.record['kind'] === 'intent' ? [String(r.record['requestId'])] : [],
    );
    expect(new Set(recorded).size).toBe(recorded.length); // none twice
    for (const [id, outcome] of outcomes) {
      // A refused append may still be recorded when the connection died during its COMMIT (the action was refused).
      if (outcome === 'ok') expect(recorded, id).toContain(id);
    }
    expect([...outcomes.values()]).toContain('refused');
  });

  it('resolves an append only once its record is committed: another connection sees it at once', async () => {
    const { connect, url } = await freshDatabase();
    // COMMIT comes a while after the batch's statements: an append resolved before it would find nothing.
    class SlowCommitPgDb extends PgDb {
      override transaction<T>(fn: (tx: PgQueryable) => Promise<T>, options?: { serializable?: boolean }) {
        return super.transaction(async (tx) => {
          const result = await fn(tx);
          await new Promise((done) => setTimeout(done, 30));
          return result;
        }, options);
      }
    }
    const log = writer(fixture.pool(new SlowCommitPgDb(new pg.Pool({ connectionString: url, max: 2 }))));
    const other = connect();
    const seen = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        await log.append(event(`durable-${i}`));
        const { rows: found } = await other.query(
          `SELECT 1 FROM audit_records WHERE line LIKE '%"requestId":"durable-' || $1 || '"%'`,
          [i],
        );
        return found.length;
      }),
    );
    expect(seen).toEqual(seen.map(() => 1));
  });

  it('groups concurrent appends into few transactions', async () => {
    const { url } = await freshDatabase();
    let transactions = 0;
    class CountingPgDb extends PgDb {
      override transaction<T>(fn: (tx: PgQueryable) => Promise<T>, options?: { serializable?: boolean }) {
        transactions += 1;
        return super.transaction(fn, options);
      }
    }
    const db = new CountingPgDb(new pg.Pool({ connectionString: url, max: 4 }));
    fixture.pool(db);
    const log = writer(db, { checkpoint: { every: 1000, interval: 60_000 } });
    await log.append(event('first')); // the genesis batch
    transactions = 0;
    await Promise.all(Array.from({ length: 100 }, (_, i) => log.append(event(`burst-${i}`))));
    expect(transactions).toBeLessThan(10);
    expect((await rows(db)).filter((r) => String(r.record['requestId']).startsWith('burst-'))).toHaveLength(
      100,
    );
  });

  it('checkpoints on the interval when records wait, and no replica repeats a checkpoint another wrote', async () => {
    const { connect } = await freshDatabase();
    const ticking = writer(connect(), { checkpoint: { every: 1000, interval: 50 } });
    const other = writer(connect(), { checkpoint: { every: 1000, interval: 3_600_000 } });
    await other.append(event('b')); // before `ticking` has anything to checkpoint: its checkpoint covers this too
    await ticking.append(event('a'));
    const db = connect();
    const checkpointsNow = async (): Promise<number> =>
      (await rows(db)).filter((r) => r.record['kind'] === 'checkpoint').length;
    while ((await checkpointsNow()) === 0) await new Promise((done) => setTimeout(done, 20));
    await new Promise((done) => setTimeout(done, 200)); // more ticks, with nothing new to cover
    expect(await checkpointsNow()).toBe(1);
    // `other` wrote since its last checkpoint request, so it asks for one at close; the chain is covered already.
    await Promise.all([other.close(), ticking.close()]);
    expect(await checkpointsNow()).toBe(1);
    const report = await verifyPostgresAudit(db, { pinnedKey });
    expect(report.findings).toEqual([]);
    expect(report.uncoveredRecords).toBe(0);
  });

  it('frees the head lock of a writer that stalls inside its transaction, so the other replicas go on', async () => {
    const { connect, url } = await freshDatabase();
    let release = (): void => undefined;
    const stalled = new Promise<void>((done) => (release = done));
    let reached = (): void => undefined;
    const holding = new Promise<void>((done) => (reached = done));
    let stall = true;
    // A replica frozen right after it locked the head (a stopped process, a network cut).
    class StallingPgDb extends PgDb {
      override transaction<T>(fn: (tx: PgQueryable) => Promise<T>, options?: { serializable?: boolean }) {
        return super.transaction(async (tx) => {
          const query = async (text: string, values?: readonly unknown[]) => {
            const result = await tx.query(text, values);
            if (stall && text.includes('FOR UPDATE')) {
              stall = false;
              reached();
              await stalled;
            }
            return result;
          };
          return fn({ query } as PgQueryable);
        }, options);
      }
    }
    const frozenDb = new StallingPgDb(new pg.Pool({ connectionString: url, max: 2 }));
    fixture.pool(frozenDb);
    const frozen = writer(frozenDb, { idleHoldMs: 300 });
    const other = writer(connect(), { idleHoldMs: 300 });
    await other.append(event('first'));
    const lost = frozen.append(event('from-the-frozen-replica'));
    lost.catch(() => undefined);
    await holding;
    await other.append(event('from-the-live-replica')); // waits for the lock until the server ends the frozen session
    release();
    await expect(lost).rejects.toSatisfy((err) => isCofreError(err, 'COFRE_AUDIT_UNAVAILABLE'));
    const ids = (await rows(connect())).map((r) => r.record['requestId']);
    expect(ids).toContain('from-the-live-replica');
    expect(ids).not.toContain('from-the-frozen-replica');
    expect((await verifyPostgresAudit(connect(), { pinnedKey })).findings).toEqual([]);
  });

  it('works under a role that may only append: it cannot edit or delete a record', async () => {
    const { url } = await freshDatabase();
    const role = `audit_writer_${process.pid}`;
    const admin = new PgDb(new pg.Pool({ connectionString: url, max: 1 }));
    fixture.pool(admin);
    // The grants docs recommend for the replicas' role (the migration's owner keeps the rest).
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'writer-password';
      GRANT SELECT, INSERT ON audit_records TO ${role};
      GRANT SELECT, UPDATE ON audit_head TO ${role};`);
    const limited = new PgDb(
      new pg.Pool({ connectionString: url.replace(/\/\/[^@]*@/, `//${role}:writer-password@`), max: 2 }),
    );
    fixture.pool(limited);
    const log = writer(limited);
    for (let i = 0; i < 12; i++) await log.append(event(`req-${i}`));
    await log.close();
    expect((await verifyPostgresAudit(limited, { pinnedKey })).findings).toEqual([]);
    for (const tamper of [
      `UPDATE audit_records SET line = '{}' WHERE seq = 3`,
      'DELETE FROM audit_records WHERE seq = 3',
      'TRUNCATE audit_records',
    ]) {
      await expect(limited.query(tamper), tamper).rejects.toSatisfy(
        (err) => (err as { cause?: { code?: string } }).cause?.code === '42501', // insufficient_privilege
      );
    }
  });

  it('writes no secret value or reference into any row: the broker HMACs references before the sink', async () => {
    const { connect } = await freshDatabase();
    const db = connect();
    const log = writer(db, { replica: 'r-00000000000000cc' });
    const canaryValue = `canary-value-${Date.now()}`;
    const canaryReference = `env://CANARY_REFERENCE_${Date.now()}`;
    const secrets = new AuditedSecrets({
      resolver: {
        resolveRecord: () =>
          Promise.resolve({ value: SecretValue.fromText(canaryValue), version: 'v1' } as never),
      },
      audit: log,
      hasher: new AuditHasher(Buffer.alloc(32, 7)),
    });
    const value = await secrets.read(canaryReference, { purpose: 'venue-credentials', account: 'acct' });
    value.zero();
    await log.close();

    const { rows: dump } = await db.query<{ text: string }>(
      `SELECT line AS text FROM audit_records UNION ALL SELECT row_to_json(h)::text FROM audit_head h`,
    );
    const text = dump.map((r) => r.text).join('\n');
    expect(text).toContain('secret-access');
    expect(text).toContain('hmac-sha256:');
    for (const canary of [canaryValue, canaryReference]) {
      for (const encoded of encodingsOf(canary)) expect(text).not.toContain(encoded);
    }
  });

  it('refuses bad input with a clear error and keeps the chain intact', async () => {
    const { connect } = await freshDatabase();
    const db = connect();
    expect(() => writer(db, { replica: 'r 1; DROP TABLE' })).toThrow(/replica id/);
    expect(() => writer(db, { checkpoint: { every: 0, interval: 1000 } })).toThrow(/every ≥ 1/);
    expect(() => writer(db, { idleHoldMs: 0 })).toThrow(/idleHoldMs/);
    const log = writer(db);
    await expect(log.append({ ...event('x'), kind: 'checkpoint' } as unknown as AuditEvent)).rejects.toThrow(
      /chain's own kind/,
    );
    const results = await Promise.allSettled([
      log.append(event('ok-1')),
      log.append({ ...event('bad'), detail: { n: 10n } }),
      log.append(event('ok-2')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    await log.close();
    await expect(log.append(event('late'))).rejects.toSatisfy((err) =>
      isCofreError(err, 'COFRE_AUDIT_UNAVAILABLE'),
    );
    expect((await verifyPostgresAudit(db, { pinnedKey })).findings).toEqual([]);
  });
});
