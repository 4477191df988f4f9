// What only the PostgreSQL state store shows: exactly-once across separate pools (claims, approval execution,
// adoption of a dead replica's requests, migrations), replica ownership, the schema check, errors that name no
// credential, and credentials read again after a refused login (a rolled Vault lease). One embedded server for the
// file, a fresh database per test.
import { inspect } from 'node:util';

import { beforeEach, describe, expect, it } from 'vitest';

import { freePort } from '../../../test/peers/peers.js';
import { postgresStateTestFile } from '../../../test/state/postgres-state-test-file.js';
import { isCofreError } from '../../errors.js';
import { eventually, failureOf, request, t } from '../conformance/state-store-harness.js';
import { pendingApproval, TEST_PAYLOAD_HASH } from '../sqlite/testdata/pending-approval.js';
import { checkSchema, migrate, schemaVersion } from './migrate.js';
import { MIGRATIONS, POSTGRES_SCHEMA_VERSION } from './migrations/index.js';
import { openPostgresDb, type PostgresSecrets } from './open-postgres.js';
import { openPostgresStateStore } from './postgres-state-store.js';

const file = await postgresStateTestFile({ migrated: false });
const { peer, replica, migrate: migrated } = file;
let database: string;

beforeEach(() => {
  database = file.database();
});

/** The grants README-h-pgcore.md documents for the serving role `cofre_app`, on the tables of migrations 0001 and 0003. */
const SERVING_GRANTS = [
  'GRANT USAGE ON SCHEMA public TO cofre_app',
  'GRANT SELECT ON cofre_schema_migrations TO cofre_app',
  'GRANT SELECT, INSERT, UPDATE ON agents, operators, approvals, audit_horizon, rotations TO cofre_app',
  'GRANT SELECT, INSERT ON approval_votes TO cofre_app',
  'GRANT SELECT, INSERT, UPDATE, DELETE ON requests, replicas, halt TO cofre_app',
  // The limit ledger's tables (migration 0002), which pruneRequests reads.
  'GRANT SELECT, INSERT, UPDATE, DELETE ON limit_reservations, limit_totals, limit_usage, limit_open_orders TO cofre_app',
];

describe('PostgresStateStore across pools', () => {
  it('of concurrent claims of one key from two pools, exactly one wins, for every key', async () => {
    await migrated();
    const [a, b] = [await replica(), await replica()];
    const keys = Array.from({ length: 30 }, (_, i) => `alice:paper:c${i}`);
    const claims = await Promise.all(
      keys.flatMap((key, i) => [
        a.claimRequest(request(`a${i}`, key)).then((c) => ({ key, c, id: `a${i}` })),
        b.claimRequest(request(`b${i}`, key)).then((c) => ({ key, c, id: `b${i}` })),
      ]),
    );
    for (const key of keys) {
      const mine = claims.filter((x) => x.key === key);
      const winners = mine.filter((x) => x.c.claimed);
      expect(winners).toHaveLength(1);
      const loser = mine.find((x) => !x.c.claimed);
      expect(loser?.c).toMatchObject({ claimed: false, existing: { requestId: winners[0]?.id } });
    }
  });

  it('claims an approved request for execution once, however many replicas race for it', async () => {
    await migrated();
    const replicas = [await replica(), await replica(), await replica()];
    const ids = Array.from({ length: 20 }, (_, i) => `ap${i}`);
    for (const id of ids) {
      await replicas[0]?.createApproval(pendingApproval(id));
      // pendingApproval: created at 1 s, expiring at 60 s.
      expect(await replicas[0]?.approve(id, 'alice', TEST_PAYLOAD_HASH, undefined, new Date(2_000))).toEqual({
        outcome: 'approved',
      });
    }
    const wins = await Promise.all(
      ids.flatMap((id) =>
        replicas.map(async (r) => ((await r.claimApprovedForExecution(id, new Date(2_001))) ? id : '')),
      ),
    );
    expect(wins.filter((id) => id !== '').sort()).toEqual([...ids].sort());
  });

  it("adopts a dead replica's executing requests once, when two survivors adopt at once", async () => {
    await migrated();
    const dead = await replica();
    const ids = Array.from({ length: 40 }, (_, i) => `d${String(i).padStart(2, '0')}`);
    for (const [i, id] of ids.entries()) await dead.claimRequest(request(id, `k-${id}`, t(i)));
    await dead.claimRequest(request('finished', 'k-finished'));
    await dead.finishRequest('finished', {
      status: 'executed',
      response: '{}',
      at: t(50),
      releaseKey: false,
    });
    await dead.heartbeat(t(0));
    const [a, b] = [await replica(), await replica()];
    await a.heartbeat(t(100_000));
    await b.heartbeat(t(100_000));
    const [fromA, fromB] = await Promise.all([
      a.adoptOrphans(t(10_000), t(100_000)),
      b.adoptOrphans(t(10_000), t(100_000)),
    ]);
    const adopted = [...fromA, ...fromB].map((r) => r.requestId);
    expect([...adopted].sort()).toEqual(ids);
    for (const batch of [fromA, fromB]) {
      // Oldest first.
      expect(batch.map((r) => r.requestId)).toEqual([...batch.map((r) => r.requestId)].sort());
    }
    expect(
      (await a.executingRequests(t(1_000_000))).length + (await b.executingRequests(t(1_000_000))).length,
    ).toBe(ids.length);
    expect(await dead.executingRequests(t(1_000_000))).toEqual([]);
    // The dead replica is forgotten: a later adoption finds nothing.
    expect(await a.adoptOrphans(t(10_000), t(100_001))).toEqual([]);
    const rows = await a.db.query('SELECT id FROM replicas ORDER BY id');
    expect(rows.rows.map((r) => (r as { id: string }).id)).toEqual([a.replicaId, b.replicaId].sort());
  });

  it('adopts nothing from a replica whose heartbeat is recent, nor its own requests', async () => {
    await migrated();
    const [a, b] = [await replica(), await replica()];
    await a.claimRequest(request('ra', 'ka'));
    await b.claimRequest(request('rb', 'kb'));
    await a.heartbeat(t(10_000));
    await b.heartbeat(t(10_000));
    expect(await a.adoptOrphans(t(5_000), t(10_000))).toEqual([]);
    expect((await b.executingRequests(t(1_000_000))).map((r) => r.requestId)).toEqual(['rb']);
  });

  it('lists as executing only the requests this replica owns, and takes over those it resumes or restores', async () => {
    await migrated();
    const [a, b] = [await replica(), await replica()];
    expect(a.replicaId).toMatch(/^r-[0-9a-f]{16}$/);
    expect(b.replicaId).not.toBe(a.replicaId);
    await a.claimRequest(request('ra', 'ka'));
    await a.claimRequest({ ...request('pending', 'kp', t(1_100)), status: 'pending_approval' });
    await b.claimRequest(request('rb', 'kb', t(1_200)));
    expect((await a.executingRequests(t(1_000_000))).map((r) => r.requestId)).toEqual(['ra']);
    expect((await b.executingRequests(t(1_000_000))).map((r) => r.requestId)).toEqual(['rb']);
    // The approval was decided on another replica: the one that runs it owns it now.
    expect(await b.resumeRequest('pending', t(2_000))).toBe(true);
    expect((await b.executingRequests(t(1_000_000))).map((r) => r.requestId)).toEqual(['pending', 'rb']);
    expect(await b.restoreRequest(request('lost', 'kl', t(1_500)), [], t(3_000))).toEqual({
      outcome: 'restored',
    });
    expect((await b.executingRequests(t(1_000_000))).map((r) => r.requestId)).toEqual([
      'pending',
      'rb',
      'lost',
    ]);
    expect((await a.executingRequests(t(1_000_000))).map((r) => r.requestId)).toEqual(['ra']);
    // `cofre request list` is a replica of its own and lists every replica's.
    const cli = await replica();
    expect(
      (await cli.executingRequests(t(1_000_000), { allReplicas: true })).map((r) => r.requestId),
    ).toEqual(['ra', 'pending', 'rb', 'lost']);
  });
});

describe('rows recorded when finished', () => {
  it('tells onBackgroundError when a batch cannot be written, and keeps nothing of it', async () => {
    await migrated();
    const errors: unknown[] = [];
    const store = await openPostgresStateStore(peer().config(), {
      ...peer().secrets(database),
      onBackgroundError: (err) => errors.push(err),
    });
    file.closeAfter(store);
    await store.claimRequest(request('taken', undefined));
    store.recordFinished({ ...request('fine', undefined), status: 'executed' });
    store.recordFinished({ ...request('taken', undefined), status: 'executed' }); // its id is used: the INSERT fails
    await eventually(() => Promise.resolve(errors.length > 0));
    expect(errors).toHaveLength(1);
    expect(isCofreError(errors[0], 'COFRE_STATE_UNAVAILABLE')).toBe(true);
    expect(await store.request('fine')).toBeUndefined();
    expect((await store.request('taken'))?.status).toBe('executing');
  });
});

describe('PostgreSQL schema', () => {
  it('migrates each step once when two processes migrate at once, and then finds nothing to do', async () => {
    const pools = [
      await openPostgresDb(peer().config(), peer().secrets(database)),
      await openPostgresDb(peer().config(), peer().secrets(database)),
    ];
    try {
      const applied = await Promise.all(pools.map((db) => migrate(db)));
      const versions = applied.flatMap((steps) => steps.map((s) => s.version)).sort();
      expect(versions).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await schemaVersion(pools[0]!)).toBe(POSTGRES_SCHEMA_VERSION);
      const rows = await pools[0]!.query(
        'SELECT version, name FROM cofre_schema_migrations ORDER BY version',
      );
      expect(rows.rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
      expect(await migrate(pools[1]!)).toEqual([]);
    } finally {
      for (const db of pools) await db.close();
    }
  });

  it('refuses to serve on a database never migrated, or migrated only in part: run cofre state migrate', async () => {
    const refusedEmpty = await failureOf(() =>
      openPostgresStateStore(peer().config(), { ...peer().secrets(database), check: 'serve' }),
    );
    expect(isCofreError(refusedEmpty, 'COFRE_STATE_SCHEMA_MISMATCH')).toBe(true);
    expect((refusedEmpty as Error).message).toContain('cofre state migrate');

    const db = await openPostgresDb(peer().config(), peer().secrets(database));
    try {
      await migrate(db, { steps: MIGRATIONS.slice(0, 1) });
      expect(await schemaVersion(db)).toBe(1);
      const older = await failureOf(() => checkSchema(db));
      expect(isCofreError(older, 'COFRE_STATE_SCHEMA_MISMATCH')).toBe(true);
      expect((older as Error).message).toMatch(
        /version 1, older than the version \d+ this cofre needs; run: cofre state migrate/,
      );
      // `check: 'none'` opens anyway (what `cofre state migrate` needs).
      const unchecked = await openPostgresStateStore(peer().config(), {
        ...peer().secrets(database),
        check: 'none',
      });
      await unchecked.close();
    } finally {
      await db.close();
    }
  });

  it('refuses a schema newer than this cofre knows, and will not migrate it', async () => {
    await migrated();
    const db = await openPostgresDb(peer().config(), peer().secrets(database));
    try {
      await db.query("INSERT INTO cofre_schema_migrations VALUES ($1, 'from-the-future', now())", [
        POSTGRES_SCHEMA_VERSION + 1,
      ]);
      const newer = await failureOf(() => checkSchema(db));
      expect(isCofreError(newer, 'COFRE_STATE_SCHEMA_MISMATCH')).toBe(true);
      expect((newer as Error).message).toContain('upgrade this cofre');
      expect(isCofreError(await failureOf(() => migrate(db)), 'COFRE_STATE_SCHEMA_MISMATCH')).toBe(true);
      const refused = await failureOf(() =>
        openPostgresStateStore(peer().config(), { ...peer().secrets(database), check: 'serve' }),
      );
      expect(isCofreError(refused, 'COFRE_STATE_SCHEMA_MISMATCH')).toBe(true);
    } finally {
      await db.close();
    }
  });
});

describe('openPostgresDb', () => {
  const CANARY = 'canary-Pa55-word-7f3e9';

  /** SECURITY: the error, its message, stack and everything `inspect` shows name neither the password nor the URL. */
  function expectNoCredential(err: unknown, url: string): void {
    for (const text of [
      String(err),
      (err as Error).stack ?? '',
      inspect(err, { depth: 5 }),
      JSON.stringify(err),
    ]) {
      expect(text).not.toContain(CANARY);
      expect(text).not.toContain(encodeURIComponent(CANARY));
      expect(text).not.toContain(url);
    }
  }

  it('reports an unreachable server as COFRE_STATE_UNAVAILABLE, naming no credential', async () => {
    const port = await freePort();
    const url = `postgresql://cofre:${CANARY}@127.0.0.1:${port}/cofre`;
    const err = await failureOf(() =>
      openPostgresDb(peer().config(), { resolve: () => Promise.resolve(url) }),
    );
    expect(isCofreError(err, 'COFRE_STATE_UNAVAILABLE')).toBe(true);
    expect((err as { retryable?: boolean }).retryable).toBe(true);
    expectNoCredential(err, url);
  });

  it('reports a refused password as COFRE_STATE_UNAVAILABLE with its SQLSTATE, naming no credential', async () => {
    const url = peer().url(database, { user: peer().peer.user, password: CANARY });
    const err = await failureOf(() =>
      openPostgresDb(peer().config(), { resolve: () => Promise.resolve(url) }),
    );
    expect(isCofreError(err, 'COFRE_STATE_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toContain('28P01');
    expectNoCredential(err, url);
  });

  it('refuses a secret that is not a connection string, naming the reference and not the value', async () => {
    const err = await failureOf(() =>
      openPostgresDb(peer().config(), { resolve: () => Promise.resolve(`mysql://root:${CANARY}@db/x`) }),
    );
    expect(isCofreError(err, 'COFRE_CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toContain('test:url');
    expect((err as Error).message).not.toContain(CANARY);
  });

  it('refuses ssl: disable to a server that is not on loopback, before sending the password', async () => {
    const url = `postgresql://cofre:${CANARY}@db.example.com:5432/cofre`;
    const err = await failureOf(() =>
      openPostgresDb(peer().config(), { resolve: () => Promise.resolve(url) }),
    );
    expect(isCofreError(err, 'COFRE_CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toContain('loopback');
    expectNoCredential(err, url);
  });

  it('never falls back to plain TCP when TLS is asked for (the test server has none)', async () => {
    for (const ssl of ['require', 'verify-full'] as const) {
      const err = await failureOf(() => openPostgresDb(peer().config({ ssl }), peer().secrets(database)));
      expect(isCofreError(err, 'COFRE_STATE_UNAVAILABLE'), ssl).toBe(true);
      expect(inspect(err)).toContain('does not support SSL');
    }
  });

  it('fails a new connection, instead of hanging, when reading its credentials outlasts the connect timeout', async () => {
    const url = peer().url(database);
    let reads = 0;
    const slow: PostgresSecrets = {
      // The first read (the server's address) is quick; the connection's own read is slower than its timeout.
      resolve: async () => {
        if (reads++ > 0) await new Promise((resolve) => setTimeout(resolve, 600));
        return url;
      },
    };
    const err = await failureOf(() =>
      openPostgresDb(
        peer().config({
          pool: { max: 1, connectTimeout: 200, idleTimeout: 10_000, statementTimeout: 10_000 },
        }),
        slow,
      ),
    );
    expect(isCofreError(err, 'COFRE_STATE_UNAVAILABLE')).toBe(true);
  });

  it('names each connection cofre and sets its statement timeout', async () => {
    const db = await openPostgresDb(
      peer().config({
        pool: { max: 2, connectTimeout: 5_000, idleTimeout: 10_000, statementTimeout: 1_234 },
      }),
      peer().secrets(database),
    );
    try {
      const { rows } = await db.query(
        "SELECT current_setting('application_name') AS name, current_setting('statement_timeout') AS timeout",
      );
      expect(rows[0]).toEqual({ name: 'cofre', timeout: '1234ms' });
      // A statement past the timeout is cancelled by the server, and reported like any other failure.
      const slow = await failureOf(() => db.query('SELECT pg_sleep(5)'));
      expect(isCofreError(slow, 'COFRE_STATE_UNAVAILABLE')).toBe(true);
      expect((slow as Error).message).toContain('57014');
    } finally {
      await db.close();
    }
  });

  it('reads the credentials again, past its cache, when a new connection is refused (a rolled lease)', async () => {
    const suffix = database.replace(/^t_/, '');
    const [first, second] = [`app1_${suffix}`, `app2_${suffix}`];
    await peer().admin(async (c) => {
      await c.query(`CREATE ROLE ${first} LOGIN PASSWORD 'first-password'`);
      await c.query(`CREATE ROLE ${second} LOGIN PASSWORD 'second-password'`);
    });
    // A backend with a cache, as the secret resolver: `resolve` answers the cached value until `invalidate`.
    const backend = new Map([
      ['vault:database/creds/cofre#username', first],
      ['vault:database/creds/cofre#password', 'first-password'],
    ]);
    const cache = new Map<string, string>();
    const invalidated: string[] = [];
    const secrets: PostgresSecrets = {
      resolve: (reference) => {
        const value = cache.get(reference) ?? backend.get(reference);
        if (value === undefined) return Promise.reject(new Error(`no ${reference}`));
        cache.set(reference, value);
        return Promise.resolve(value);
      },
      invalidate: (reference) => {
        invalidated.push(reference);
        cache.delete(reference);
      },
    };
    const db = await openPostgresDb(
      peer().config({
        url: undefined,
        host: peer().peer.host,
        port: peer().peer.port,
        database,
        credentials: {
          username: 'vault:database/creds/cofre#username',
          password: 'vault:database/creds/cofre#password',
        },
      }),
      secrets,
    );
    try {
      expect((await db.query('SELECT current_user AS u')).rows[0]).toEqual({ u: first });
      // The lease rolls: the backend now holds new credentials, the old ones stop working, and the open
      // connections end (as Vault's revocation statements do); the cache still holds the old ones.
      backend.set('vault:database/creds/cofre#username', second);
      backend.set('vault:database/creds/cofre#password', 'second-password');
      await peer().admin(async (c) => {
        await c.query(`ALTER ROLE ${first} PASSWORD 'revoked'`);
        await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [first]);
      });
      // The pool notices its connections ended; the next query opens a new one.
      for (let i = 0; i < 100 && db.pool.totalCount > 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect((await db.query('SELECT current_user AS u')).rows[0]).toEqual({ u: second });
      expect(invalidated.sort()).toEqual([
        'vault:database/creds/cofre#password',
        'vault:database/creds/cofre#username',
      ]);
    } finally {
      await db.close();
    }
  });
});

describe('least privilege', () => {
  it('serves with a role granted only rows (the README grants), while migrations need the owner', async () => {
    await migrated();
    const role = `serve_${database.replace(/^t_/, '')}`;
    await peer().admin(async (c) => {
      await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'serving-password'`);
    });
    await peer().admin(async (c) => {
      for (const grant of SERVING_GRANTS) await c.query(grant.replaceAll('cofre_app', role));
    }, database);
    const config = peer().config();
    const secrets = {
      resolve: () => Promise.resolve(peer().url(database, { user: role, password: 'serving-password' })),
    };
    const store = await openPostgresStateStore(config, { ...secrets, check: 'serve' });
    file.closeAfter(store);
    const other = await replica();
    await store.addAgent({
      id: 'bot',
      policy: 'p',
      tokenId: 'tid',
      tokenHash: Buffer.alloc(32),
      createdAt: t(0),
      expiresAt: t(1),
      revokedAt: undefined,
    });
    await store.revokeAgent('bot', t(1));
    await store.addOperator({
      id: 'op',
      tokenId: 'otid',
      tokenHash: Buffer.alloc(32),
      createdAt: t(0),
      expiresAt: t(1),
      revokedAt: undefined,
    });
    await store.revokeOperator('op', t(1));
    expect(await store.claimRequest(request('r1', 'k1'))).toEqual({ claimed: true });
    await store.finishRequest('r1', { status: 'executed', response: '{}', at: t(2), releaseKey: true });
    await store.claimRequest(request('r2', 'k2'));
    await store.releaseRequest('r2');
    store.recordFinished({ ...request('r3', undefined), status: 'executed' });
    // Written in the background: seen by another replica once written.
    await eventually(async () => (await other.request('r3')) !== undefined);
    await store.createApproval(pendingApproval('ap', { required: 2 }));
    await store.approve('ap', 'alice', TEST_PAYLOAD_HASH, undefined, new Date(2_000));
    await store.deny('ap', 'bob', undefined, new Date(2_001));
    await store.setHalt({ reason: 'r', by: 'b', at: t(3) });
    expect(await store.clearHalt()).toBe(true);
    await store.setAuditHorizon({ seq: 1, hash: 'h', ino: '1', offset: 1, at: t(4) });
    await store.setAuditHorizon({ seq: 2, hash: 'h', ino: '1', offset: 2, at: t(5) });
    await store.createRotation({
      id: 'rot',
      target: { kind: 'account', account: 'a' },
      status: 'created',
      secrets: [],
      by: 'x',
      startedAt: t(0),
      updatedAt: t(0),
    });
    await store.updateRotation({
      id: 'rot',
      target: { kind: 'account', account: 'a' },
      status: 'failed',
      secrets: [],
      by: 'x',
      startedAt: t(0),
      updatedAt: t(1),
      error: 'e',
    });
    await other.claimRequest(request('orphan', 'ko'));
    await other.heartbeat(t(0));
    await store.heartbeat(t(100_000));
    expect((await store.adoptOrphans(t(50_000), t(100_000))).map((r) => r.requestId)).toEqual(['orphan']);
    expect(await store.pruneRequests(t(1_000_000), 10)).toBe(2); // r1 and r3
    await store.close();
    // It cannot change the schema: `cofre state migrate` runs as the owner.
    const db = await openPostgresDb(config, secrets);
    try {
      const refused = await failureOf(() => db.query('CREATE TABLE intruder (x int)'));
      expect(isCofreError(refused, 'COFRE_STATE_UNAVAILABLE')).toBe(true);
      expect((refused as Error).message).toContain('42501');
    } finally {
      await db.close();
    }
  });
});

describe('PgDb.transaction', () => {
  // Regression (found by h-pgaudit): a session the server ended in the middle of a transaction crashed the process
  // (an 'error' event on a checked-out client with no listener).
  it('fails the transaction cleanly when the server ends its session between two statements', async () => {
    await migrated();
    const db = await openPostgresDb(peer().config(), peer().secrets(database));
    try {
      const failed = await failureOf(() =>
        db.transaction(async (tx) => {
          const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          await peer().admin(async (c) => {
            await c.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
          });
          // Let the client see its connection end before the next statement.
          await new Promise((resolve) => setTimeout(resolve, 200));
          await tx.query('SELECT 1');
        }),
      );
      expect(isCofreError(failed, 'COFRE_STATE_UNAVAILABLE')).toBe(true);
      // The pool goes on with a new connection.
      expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
    }
  });
});

describe('PgDb and a session that lost its rights', () => {
  // A revoked Vault lease leaves its open sessions without rights (REVOKE, DROP ROLE): a pooled connection must not
  // fail every transaction after that.
  it('drops a connection whose role lost its rights, so the next transaction runs on a new one', async () => {
    await migrated();
    const role = `rights_${database.replace(/^t_/, '')}`;
    await peer().admin(async (c) => {
      await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'rights-password'`);
    });
    await peer().admin(async (c) => {
      await c.query(`GRANT SELECT ON cofre_schema_migrations TO ${role}`);
    }, database);
    const db = await openPostgresDb(
      peer().config({
        pool: { max: 1, connectTimeout: 5_000, idleTimeout: 10_000, statementTimeout: 10_000 },
      }),
      { resolve: () => Promise.resolve(peer().url(database, { user: role, password: 'rights-password' })) },
    );
    try {
      const pid = async (): Promise<number> =>
        db.transaction(async (tx) => {
          await tx.query('SELECT count(*) FROM cofre_schema_migrations');
          return (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ?? 0;
        });
      const first = await pid();
      await peer().admin(async (c) => {
        await c.query(`REVOKE SELECT ON cofre_schema_migrations FROM ${role}`);
      }, database);
      const refused = await failureOf(pid);
      expect((refused as Error).message).toContain('42501');
      await peer().admin(async (c) => {
        await c.query(`GRANT SELECT ON cofre_schema_migrations TO ${role}`);
      }, database);
      expect(await pid()).not.toBe(first);
    } finally {
      await db.close();
    }
  });
});
