// `cofre state migrate` as a user runs it: a real cofre process, a config whose state is an embedded PostgreSQL
// reached through a connection string kept in cofre's own store. `--check` reports a schema that is behind and exits
// 1; migrating prints each step and the version, and a second run finds nothing to do; on SQLite there is nothing to
// migrate.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { MIGRATIONS, POSTGRES_SCHEMA_VERSION } from '../../src/state/postgres/migrations/index.js';
import { PostgresTestDatabases } from '../../src/state/postgres/testdata/postgres-test-databases.js';
import type { DoctorJson } from '../../src/surfaces/cli/doctor-report.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { startPostgres } from '../peers/peers.js';
import { cli, cliProcess, tempDir } from './cli-harness.js';

const dbs = await peerOrSkip('PostgreSQL', async () => new PostgresTestDatabases(await startPostgres()));
let dir: string;
let remove: (() => void) | undefined;

beforeAll(() => {
  if (dbs === undefined) throw new Error('PostgreSQL is not installed: see the message above');
});

afterAll(async () => {
  remove?.();
  await dbs?.stop();
});

beforeEach(async () => {
  remove?.();
  ({ dir, remove } = tempDir());
  expect((await cli(dir, ['init'])).code).toBe(0);
});

/** Points the starter config's state at `database`, its URL stored in cofre's store as `state/url`. */
async function usePostgres(database: string): Promise<string> {
  if (dbs === undefined) throw new Error('no PostgreSQL');
  const url = dbs.url(database);
  expect((await cli(dir, ['secret', 'put', 'state/url'], `${url}\n`)).code).toBe(0);
  const path = join(dir, 'cofre.yaml');
  const config = readFileSync(path, 'utf8').replace(
    /\nstate:\n[\s\S]*$/,
    '\nstate:\n  type: postgres\n  url: local:state/url\n  ssl: disable # the embedded server listens on loopback only\n',
  );
  writeFileSync(path, config);
  return url;
}

describe('cofre state migrate', () => {
  it('reports a schema that is behind with --check, migrates step by step, then finds nothing to do', async () => {
    if (dbs === undefined) return;
    const url = await usePostgres(await dbs.create());

    const behind = await cliProcess(dir, ['state', 'migrate', '--check']);
    expect(behind.code).toBe(1);
    expect(behind.stdout).toContain(`schema version 0; this cofre needs ${POSTGRES_SCHEMA_VERSION}`);
    expect(behind.stderr).toContain('run: cofre state migrate');

    const migrated = await cliProcess(dir, ['state', 'migrate']);
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(0);
    expect(migrated.stdout.trim().split('\n')).toEqual([
      ...MIGRATIONS.map((m) => `applied ${String(m.version).padStart(4, '0')} ${m.name}`),
      `schema version ${POSTGRES_SCHEMA_VERSION}`,
    ]);

    const again = await cliProcess(dir, ['state', 'migrate']);
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe(`schema version ${POSTGRES_SCHEMA_VERSION}: already current`);
    const check = await cliProcess(dir, ['state', 'migrate', '--check']);
    expect(check.code).toBe(0);
    expect(check.stdout.trim()).toBe(`schema version ${POSTGRES_SCHEMA_VERSION}: current`);

    // SECURITY: the connection string (it holds the password) is printed nowhere.
    for (const out of [behind, migrated, again, check]) {
      expect(out.stdout + out.stderr).not.toContain(url);
      expect(out.stdout + out.stderr).not.toContain(dbs.peer.password);
    }
  });

  it('cofre doctor fails the state check until the schema is migrated, and says so', async () => {
    if (dbs === undefined) return;
    await usePostgres(await dbs.create());
    const stateFinding = async () => {
      const out = await cli(dir, ['doctor', '--json']);
      const report = JSON.parse(out.stdout) as DoctorJson;
      return report.findings.find((f) => f.check === 'state');
    };
    expect(await stateFinding()).toMatchObject({
      status: 'fail',
      message: 'the schema is older than this cofre needs: run `cofre state migrate`',
      details: { schemaVersion: 0, knownSchemaVersion: POSTGRES_SCHEMA_VERSION },
    });
    expect((await cliProcess(dir, ['state', 'migrate'])).code).toBe(0);
    expect(await stateFinding()).toMatchObject({ status: 'ok', message: 'connected; schema is current' });
  });

  it('refuses a schema a later cofre migrated: upgrade this cofre', async () => {
    if (dbs === undefined) return;
    const database = await dbs.create();
    await usePostgres(database);
    expect((await cliProcess(dir, ['state', 'migrate'])).code).toBe(0);
    await dbs.admin(async (c) => {
      await c.query("INSERT INTO cofre_schema_migrations VALUES ($1, 'from-a-later-cofre', now())", [
        POSTGRES_SCHEMA_VERSION + 1,
      ]);
    }, database);
    const check = await cliProcess(dir, ['state', 'migrate', '--check']);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain('upgrade this cofre');
    const migrate = await cliProcess(dir, ['state', 'migrate']);
    expect(migrate.code).not.toBe(0);
    expect(migrate.stderr).toContain('COFRE_STATE_SCHEMA_MISMATCH');
  });

  it('fails cleanly, naming no credential, when the database is not there', async () => {
    if (dbs === undefined) return;
    const url = await usePostgres('no_such_database');
    const failed = await cliProcess(dir, ['state', 'migrate']);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('COFRE_STATE_UNAVAILABLE');
    expect(failed.stderr).not.toContain(url);
    expect(failed.stderr).not.toContain(dbs.peer.password);
  });

  it('has nothing to do on SQLite, which migrates its file itself', async () => {
    const result = await cliProcess(dir, ['state', 'migrate']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('SQLite');
  });
});
