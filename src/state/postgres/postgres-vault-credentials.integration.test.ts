// The PostgreSQL state store on Vault dynamic credentials (a real OpenBao database engine on a real PostgreSQL):
// a replica keeps working across lease rolls. Every new connection reads the credentials through the resolver,
// which re-reads them once the lease's record expires (its cache is an hour long and not told of lease events), so
// when the lease reaches its max TTL and Vault drops the old role, new connections already log in as the new user.
// (A login refused with stale credentials, and the re-read past the cache it triggers, is tested with ALTER ROLE in
// postgres-state-store.test.ts.)
import { afterAll, describe, expect, it } from 'vitest';

import { peerOrSkip } from '../../../test/peers/peer-or-skip.js';
import { startOpenBao, startPostgres } from '../../../test/peers/peers.js';
import { baoApi, mountPostgresDatabase } from '../../../test/vault/vault-fixture.js';
import { SecretResolver } from '../../secrets/secret-resolver.js';
import { VaultClient } from '../../secrets/vault/vault-client.js';
import { VaultLeaseManager } from '../../secrets/vault/vault-leases.js';
import { migrate } from './migrate.js';
import { openPostgresDb, postgresSecretsFrom } from './open-postgres.js';
import { openPostgresStateStore } from './postgres-state-store.js';
import { PostgresTestDatabases } from './testdata/postgres-test-databases.js';

const bao = await peerOrSkip('OpenBao', startOpenBao);
const dbs = await peerOrSkip('PostgreSQL', async () => new PostgresTestDatabases(await startPostgres()));

afterAll(async () => {
  await Promise.all([bao?.stop(), dbs?.stop()]);
});

describe.skipIf(bao === undefined || dbs === undefined)(
  'PostgreSQL state on Vault dynamic credentials',
  () => {
    it('follows a lease roll: new connections log in with the new credentials, and every operation succeeds', async () => {
      const peer = dbs!;
      const database = await peer.create();
      const owner = await openPostgresDb(peer.config(), peer.secrets(database));
      try {
        await migrate(owner);
      } finally {
        await owner.close();
      }
      // The serving rights on a NOLOGIN role; each user Vault creates is a member of it (README-h-pgcore.md).
      await peer.admin(async (c) => {
        await c.query('CREATE ROLE cofre_app NOLOGIN');
      });
      await peer.admin(async (c) => {
        await c.query('GRANT SELECT ON cofre_schema_migrations TO cofre_app');
        await c.query('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO cofre_app');
      }, database);
      await mountPostgresDatabase(bao!, peer.peer, {});
      await baoApi(bao!, 'POST', 'database/roles/cofre', {
        db_name: 'pg',
        creation_statements: [
          `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' IN ROLE cofre_app;`,
        ],
        default_ttl: '3s',
        max_ttl: '6s',
      });

      const manager = new VaultLeaseManager({
        name: 'vault',
        client: new VaultClient({ address: bao!.addr }),
        auth: () => Promise.resolve(bao!.rootToken),
      });
      const resolver = new SecretResolver({
        backends: [manager],
        defaultCache: { ttlMs: 3_600_000, staleIfErrorMs: 0 },
      });
      const store = await openPostgresStateStore(
        peer.config({
          url: undefined,
          host: peer.peer.host,
          port: peer.peer.port,
          database,
          credentials: {
            username: 'vault:database/creds/cofre#username',
            password: 'vault:database/creds/cofre#password',
          },
          // Idle connections close quickly, so new ones (with whatever login is current) are made all along.
          pool: { max: 2, connectTimeout: 5_000, idleTimeout: 300, statementTimeout: 10_000 },
        }),
        { ...postgresSecretsFrom(resolver), check: 'serve' },
      );
      const users = new Set<string>();
      try {
        const deadline = Date.now() + 40_000;
        for (let i = 0; users.size < 2; i++) {
          if (Date.now() > deadline) throw new Error('the store never moved to new credentials');
          const now = new Date();
          const claimed = await store.claimRequest({
            requestId: `r${i}`,
            agentId: 'bot',
            action: 'place_order',
            account: 'paper',
            idempotencyKey: `bot:paper:${i}`,
            input: '{}',
            status: 'executing',
            response: undefined,
            createdAt: now,
            updatedAt: now,
          });
          expect(claimed).toEqual({ claimed: true });
          const { rows } = await store.db.query<{ user: string }>('SELECT current_user AS user');
          users.add(rows[0]!.user);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        expect(users.size).toBe(2);
      } finally {
        await store.close();
        await manager.close();
        await resolver.close();
      }
    });
  },
);
