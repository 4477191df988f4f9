// Dynamic PostgreSQL credentials from a real OpenBao (database engine, postgresql-database-plugin) against a real
// PostgreSQL: they connect, are renewed while the same user keeps working, are replaced past the max TTL, never
// served expired through a resolver, and revoked on close (the role disappears from pg_roles). Then a canary
// check: no username, password, lease id or token in any log line or error.
import { inspect } from 'node:util';

import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodingsOf, leaks } from '../../../test/invariants/canary.js';
import { peerOrSkip } from '../../../test/peers/peer-or-skip.js';
import { startOpenBao, startPostgres } from '../../../test/peers/peers.js';
import {
  baoApi,
  credentialDir,
  mountPostgresDatabase,
  policy,
  recordingLog,
  renderError,
  tokenWith,
  vaultConfig,
} from '../../../test/vault/vault-fixture.js';
import { isCofreError } from '../../errors.js';
import { openBackend } from '../open-backend.js';
import { SecretResolver } from '../secret-resolver.js';
import { vaultAuthMethod } from './vault-auth.js';
import { VaultClient } from './vault-client.js';
import { type VaultLeaseEvent, VaultLeaseManager } from './vault-leases.js';
import { VaultSession } from './vault-session.js';

const bao = await peerOrSkip('OpenBao', startOpenBao);
const pg = await peerOrSkip('PostgreSQL', startPostgres);
const files = await credentialDir();

afterAll(async () => {
  await Promise.all([bao?.stop(), pg?.stop(), files.remove()]);
});

/** Everything the canary test searches for: every username, password, lease id and token the tests saw. */
const secrets = new Set<string>();
const recorded = recordingLog();
const errors: unknown[] = [];
const rendered: string[] = [];

interface Creds {
  readonly username: string;
  readonly password: string;
}

/** Least privilege for dynamic credentials: read the roles, renew and revoke leases. Nothing else. */
const POLICY = `
path "database/creds/*" { capabilities = ["read"] }
path "sys/leases/renew" { capabilities = ["update"] }
path "sys/leases/revoke" { capabilities = ["update"] }
`;

describe.skipIf(bao === undefined || pg === undefined)('Vault dynamic PostgreSQL credentials', () => {
  beforeAll(async () => {
    await mountPostgresDatabase(bao!, pg!, {
      app: { defaultTtl: '4s', maxTtl: '10s' },
      fast: { defaultTtl: '3s', maxTtl: '6s' },
      long: { defaultTtl: '1h', maxTtl: '2h' },
    });
    await policy(bao!, 'cofre-db', POLICY);
  });

  /** A session with a token limited to POLICY (token auth: cofre never revokes it) and a manager on it. */
  async function open(): Promise<{
    manager: VaultLeaseManager;
    events: VaultLeaseEvent[];
    close: () => Promise<void>;
  }> {
    const token = await tokenWith(bao!, ['cofre-db']);
    secrets.add(token);
    const tokenFile = await files.file(`token-${secrets.size}`, token);
    const client = new VaultClient({ address: bao!.addr, log: recorded.log });
    const session = new VaultSession({
      client,
      auth: vaultAuthMethod({ method: 'token', tokenFile }, recorded.log),
      log: recorded.log,
    });
    const manager = new VaultLeaseManager({ name: 'vault', client, auth: session, log: recorded.log });
    const events: VaultLeaseEvent[] = [];
    manager.onLeaseEnd((e) => events.push(e));
    return {
      manager,
      events,
      close: async () => {
        await manager.close(); // before the session: it revokes with the session's token
        await session.close();
      },
    };
  }

  async function read(manager: VaultLeaseManager, path: string): Promise<Creds> {
    const record = await manager.read(path, { kind: 'latest' });
    rendered.push(inspect(record, { depth: 10, showHidden: true }), JSON.stringify(record));
    const creds = JSON.parse(record.value.text()) as Creds;
    record.value.zero();
    remember(creds);
    return creds;
  }

  function remember(creds: Creds): void {
    secrets.add(creds.username);
    secrets.add(creds.password);
  }

  /** Connects as `creds` and returns `current_user`; throws when PostgreSQL refuses. */
  async function connectAs(creds: Creds): Promise<string> {
    const client = new Client({
      host: '127.0.0.1',
      port: pg!.port,
      database: 'postgres',
      user: creds.username,
      password: creds.password,
    });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const result = await client.query<{ current_user: string }>('SELECT current_user');
      return result.rows[0]!.current_user;
    } finally {
      await client.end();
    }
  }

  async function roleExists(username: string): Promise<boolean> {
    const client = new Client({ connectionString: pg!.connectionString });
    await client.connect();
    try {
      const result = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [username]);
      return result.rowCount === 1;
    } finally {
      await client.end();
    }
  }

  /** Ids of the live leases of a role, as Vault lists them (root); each is also a canary. */
  async function leaseIds(role: string): Promise<string[]> {
    let keys: string[] = [];
    try {
      keys = ((await baoApi(bao!, 'LIST', `sys/leases/lookup/database/creds/${role}/`)).data.keys ??
        []) as string[];
    } catch (err) {
      if (!String(err).includes('HTTP 404')) throw err;
    }
    for (const key of keys) secrets.add(key);
    return keys.map((key) => `database/creds/${role}/${key}`);
  }

  async function expireTime(leaseId: string): Promise<number> {
    const answer = await baoApi(bao!, 'PUT', 'sys/leases/lookup', { lease_id: leaseId });
    return Date.parse(answer.data.expire_time as string);
  }

  /** Polls `condition` until it holds; fails with `what` after `timeoutMs`. Waits for behaviour, asserts none. */
  async function until(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('issues credentials that connect, renews them while the same user keeps working, and replaces them past the max TTL', async () => {
    const { manager, events, close } = await open();
    try {
      // (1) The credentials connect, and repeated reads do not create another user.
      const first = await read(manager, 'database/creds/app');
      expect(await connectAs(first)).toBe(first.username);
      expect(await read(manager, 'database/creds/app')).toEqual(first);
      const [leaseId, ...others] = await leaseIds('app');
      expect(others).toEqual([]);

      // (2) Renewed: Vault's expire time moves forward, and past the original one the same user still connects.
      const originalExpiry = await expireTime(leaseId!);
      await until('the lease is renewed', async () => (await expireTime(leaseId!)) > originalExpiry);
      await until('the original expiry has passed', () => Date.now() > originalExpiry + 500);
      expect(await read(manager, 'database/creds/app')).toEqual(first);
      expect(await connectAs(first)).toBe(first.username);
      expect(events).toEqual([]);

      // (3) Near the max TTL the lease is given up; the next read issues a new user, and the old role goes.
      await until('the lease reaches its max TTL', () => events.length > 0);
      expect(events.map((e) => [e.reference, e.reason])).toEqual([['vault:database/creds/app', 'max-ttl']]);
      const second = await read(manager, 'database/creds/app');
      expect(second.username).not.toBe(first.username);
      expect(await connectAs(second)).toBe(second.username);
      await leaseIds('app');
      await until(
        'Vault revokes the old lease and drops its role',
        async () => !(await roleExists(first.username)),
      );
      // PostgreSQL's own refusal names the user; it is not cofre's error, so it stays out of the canary search.
      await expect(connectAs(first)).rejects.toThrow(/authentication failed|does not exist/);
      expect(await roleExists(second.username)).toBe(true);
    } finally {
      await close();
    }
  });

  it('revokes its leases on close: the roles disappear from PostgreSQL', async () => {
    const { manager, close } = await open();
    const long = await read(manager, 'database/creds/long');
    const fast = await read(manager, 'database/creds/fast');
    expect(await connectAs(long)).toBe(long.username);
    expect(await roleExists(long.username)).toBe(true);
    expect(await roleExists(fast.username)).toBe(true);
    expect(await leaseIds('long')).toHaveLength(1);
    await close();
    // sys/leases/revoke waits for the engine to drop the role, so this holds as soon as close() returns.
    expect(await roleExists(long.username)).toBe(false);
    expect(await roleExists(fast.username)).toBe(false);
    expect(await leaseIds('long')).toEqual([]);
    await expect(connectAs(long)).rejects.toThrow(/authentication failed|does not exist/);
    const closed = await manager.read('database/creds/long').catch((e: unknown) => e);
    errors.push(closed);
    expect(isCofreError(closed, 'COFRE_BACKEND_CLOSED')).toBe(true);
  });

  it('never hands expired credentials to a resolver, wired to lease events or not', async () => {
    const { manager, close } = await open();
    const now = (): number => Date.now();
    // Hour-long caches: only the records' expiresAt (and, for `wired`, the lease events) keep them fresh.
    const cache = { ttlMs: 3_600_000, staleIfErrorMs: 3_600_000 };
    const wired = new SecretResolver({ backends: [manager], defaultCache: cache, now });
    const unwired = new SecretResolver({ backends: [manager], defaultCache: cache, now });
    manager.onLeaseEnd((e) => {
      wired.invalidate(e.reference);
    });
    const users = new Set<string>();
    try {
      // Across at least one replacement at the max TTL (6 s), every answer connects and is not past expiresAt.
      while (users.size < 2) {
        for (const resolver of [wired, unwired]) {
          const asked = Date.now();
          const record = await resolver.resolveRecord('vault:database/creds/fast#username');
          const password = await resolver.resolve('vault:database/creds/fast#password');
          const creds = { username: record.value.text(), password: password.text() };
          remember(creds);
          expect(record.expiresAt!.getTime()).toBeGreaterThan(asked);
          expect(await connectAs(creds)).toBe(creds.username);
          users.add(creds.username);
        }
        await leaseIds('fast');
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const missing = await wired.resolve('vault:database/creds/fast#nope').catch((e: unknown) => e);
      errors.push(missing);
      expect(isCofreError(missing, 'COFRE_SECRET_NOT_FOUND')).toBe(true);
    } finally {
      await close();
    }
  });

  it('keeps errors for the reference, not the credentials', async () => {
    const { manager, close } = await open();
    try {
      await read(manager, 'database/creds/long');
      await leaseIds('long');
      // Denied by policy (a path outside database/creds), and an unknown role.
      const denied = await manager.read('database/config/pg').catch((e: unknown) => e);
      const unknown = await manager.read('database/creds/nope').catch((e: unknown) => e);
      errors.push(denied, unknown);
      expect(isCofreError(denied, 'COFRE_BACKEND_DENIED')).toBe(true);
      expect((denied as Error).message).toContain('vault:database/config/pg');
      expect(isCofreError(unknown)).toBe(true);
      expect((unknown as Error).message).toContain('vault:database/creds/nope');
      rendered.push(inspect(manager, { depth: 10, showHidden: true }), JSON.stringify(manager.leases()));
    } finally {
      await close();
    }
  });

  it('works through the configured vault backend and the resolver: read by reference, revoked on close', async () => {
    const token = await tokenWith(bao!, ['cofre-db', 'default']);
    secrets.add(token);
    const tokenFile = await files.file('token-wired', token);
    const backend = await openBackend(
      'vault',
      vaultConfig(bao!.addr, {
        kvVersion: 2,
        dynamicMounts: ['database'],
        auth: { method: 'token', tokenFile },
      }),
      { log: recorded.log },
    );
    const resolver = new SecretResolver({ backends: [backend] });
    const username = await resolver.resolve('vault:database/creds/long#username');
    const password = await resolver.resolve('vault:database/creds/long#password');
    const creds = { username: username.text(), password: password.text() };
    remember(creds);
    expect(await connectAs(creds)).toBe(creds.username);
    // One lease for both fields: the resolver caches the record, the manager holds one lease per path.
    expect((await resolver.resolve('vault:database/creds/long#username')).text()).toBe(creds.username);
    await resolver.close();
    expect(await roleExists(creds.username)).toBe(false);
  });

  it('leaks no username, password, lease id or token into logs or errors (canary)', () => {
    expect(secrets.size).toBeGreaterThanOrEqual(12);
    expect(recorded.text()).toContain('Vault lease renewed'); // the logger did record the flows
    expect(recorded.text()).toContain('Vault lease revoked');
    const haystack = [recorded.text(), ...errors.map(renderError), ...rendered].join('\n');
    for (const secret of secrets) {
      expect(leaks(haystack, encodingsOf(secret))).toEqual([]);
    }
  });
});
