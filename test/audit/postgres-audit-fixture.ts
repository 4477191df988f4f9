import { generateKeyPairSync } from 'node:crypto';

import pg from 'pg';
import { afterAll, afterEach } from 'vitest';

import type { AuditEvent } from '../../src/audit/audit-log.js';
import type { AuditLogReporter } from '../../src/audit/chained-audit-log.js';
import { checkpointKeyFromPem } from '../../src/audit/checkpoint-key.js';
import { PostgresAuditLog, type PostgresAuditLogOptions } from '../../src/audit/postgres-audit-log.js';
import type { VerifyReport } from '../../src/audit/verify-chain.js';
import { migration } from '../../src/state/postgres/migrations/0004-audit.js';
import { PgDb, type PgQueryable } from '../../src/state/postgres/pg-db.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { type PostgresPeer, startPostgres } from '../peers/peers.js';

/**
 * For the PostgreSQL audit tests (issue 16): fresh databases with the audit tables on one embedded server per test
 * file, writers with a test signing key, and everything they open closed by {@link closeAll} (after each test).
 */
export class PostgresAuditFixture {
  readonly signingKey = generateKeyPairSync('ed25519');
  readonly pinnedKey = checkpointKeyFromPem(
    this.signingKey.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    'pinned',
    'the test key',
  );
  readonly #server: PostgresPeer;
  readonly #prefix: string;
  /** Writers first, then pools: a writer's final checkpoint needs its pool. */
  #open: { close(): Promise<void> }[] = [];
  #databases = 0;

  constructor(server: PostgresPeer, prefix: string) {
    this.#server = server;
    this.#prefix = prefix;
  }

  /** A fresh database with the audit tables; `connect()` opens one more pool on it (one per replica). */
  async freshDatabase(): Promise<{ connect: () => PgDb; url: string; name: string }> {
    const name = `t_${this.#prefix}_${process.pid}_${++this.#databases}`;
    const admin = new pg.Client({ connectionString: this.#server.connectionString });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = this.#server.connectionString.replace('/postgres?', `/${name}?`);
    const connect = (): PgDb => this.pool(new PgDb(new pg.Pool({ connectionString: url, max: 4 })));
    await connect().query(migration.sql);
    return { connect, url, name };
  }

  /** Closes `db` after the test. */
  pool<T extends PgDb>(db: T): T {
    this.#open.push(db);
    return db;
  }

  /** A writer signing with the test key, checkpoint every 10 unless `options` say otherwise; closed after the test. */
  writer(db: PgDb, options: Partial<PostgresAuditLogOptions> = {}): PostgresAuditLog {
    const log = new PostgresAuditLog(db, {
      signingKey: this.signingKey.privateKey,
      checkpoint: { every: 10, interval: 60_000 },
      reporter: quietReporter,
      ...options,
    });
    this.#open.unshift(log);
    return log;
  }

  async closeAll(): Promise<void> {
    const open = this.#open;
    this.#open = [];
    for (const o of open) await o.close().catch(() => undefined);
  }
}

export const quietReporter: AuditLogReporter = { warn: () => undefined, error: () => undefined };

export function intent(requestId: string): AuditEvent {
  return { kind: 'intent', requestId, agent: 'bot', action: 'place_order', decision: 'allow' };
}

/** Every row of the chain, in seq order, its line parsed. */
export async function auditRows(
  db: PgQueryable,
): Promise<{ seq: number; line: string; record: Record<string, unknown> }[]> {
  const { rows } = await db.query<{ seq: string; line: string }>(
    'SELECT seq, line FROM audit_records ORDER BY seq',
  );
  return rows.map((r) => ({
    seq: Number(r.seq),
    line: r.line,
    record: JSON.parse(r.line) as Record<string, unknown>,
  }));
}

export function errorCodes(report: VerifyReport): string[] {
  return report.findings.filter((f) => f.severity === 'error').map((f) => f.code);
}

/**
 * What every PostgreSQL audit test file sets up: one embedded server for the file (stopped after it) and a fixture
 * on it whose writers are closed after each test. `server` is undefined only when PostgreSQL is missing, which
 * `peerOrSkip` makes a failure in CI.
 */
export async function postgresAuditTestFile(prefix: string): Promise<{
  readonly server: PostgresPeer | undefined;
  readonly fixture: PostgresAuditFixture;
  readonly pinnedKey: PostgresAuditFixture['pinnedKey'];
  readonly freshDatabase: () => ReturnType<PostgresAuditFixture['freshDatabase']>;
  readonly writer: (db: PgDb, options?: Partial<PostgresAuditLogOptions>) => PostgresAuditLog;
}> {
  const server = await peerOrSkip('PostgreSQL', startPostgres);
  const fixture = new PostgresAuditFixture(server!, prefix);
  afterEach(async () => {
    await fixture.closeAll();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return {
    server,
    fixture,
    pinnedKey: fixture.pinnedKey,
    freshDatabase: () => fixture.freshDatabase(),
    writer: (db, options) => fixture.writer(db, options),
  };
}
