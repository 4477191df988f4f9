import { afterAll, beforeAll, beforeEach } from 'vitest';

import { migrate } from '../../src/state/postgres/migrate.js';
import { openPostgresDb } from '../../src/state/postgres/open-postgres.js';
import {
  openPostgresStateStore,
  type PostgresStateStore,
} from '../../src/state/postgres/postgres-state-store.js';
import { PostgresTestDatabases } from '../../src/state/postgres/testdata/postgres-test-databases.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { startPostgres } from '../peers/peers.js';

/** What {@link postgresStateTestFile} gives a test file. */
export interface PostgresStateTestFile {
  /** The server's databases; throws when PostgreSQL is missing (the file's first hook fails then too). */
  readonly peer: () => PostgresTestDatabases;
  /** The fresh database of the running test. */
  readonly database: () => string;
  /** Applies every schema step to the test's database (done before each test unless `migrated: false`). */
  readonly migrate: () => Promise<void>;
  /** A replica on the test's database: its own pool and replica id; closed after the test. */
  readonly replica: (now?: () => Date) => Promise<PostgresStateStore>;
  /** Closes a store the test opened itself after the test. */
  readonly closeAfter: (store: PostgresStateStore) => void;
}

/**
 * What every test file on PostgreSQL state sets up (issue 16): one embedded server for the file, stopped after it
 * (missing: the file fails, as in CI a missing peer must); a fresh database for each test, migrated unless
 * `migrated: false`; and the stores a test opens, closed after it.
 */
export async function postgresStateTestFile(
  options: { readonly migrated?: boolean } = {},
): Promise<PostgresStateTestFile> {
  const dbs = await peerOrSkip('PostgreSQL', async () => new PostgresTestDatabases(await startPostgres()));
  let database = '';
  const opened: PostgresStateStore[] = [];
  const closeOpened = async (): Promise<void> => {
    for (const store of opened.splice(0)) await store.close();
  };
  const peer = (): PostgresTestDatabases => {
    if (dbs === undefined) throw new Error('no PostgreSQL');
    return dbs;
  };
  const migrateDatabase = async (): Promise<void> => {
    const db = await openPostgresDb(peer().config(), peer().secrets(database));
    try {
      await migrate(db);
    } finally {
      await db.close();
    }
  };

  beforeAll(() => {
    if (dbs === undefined) throw new Error('PostgreSQL is not installed: see the message above');
  });
  afterAll(async () => {
    await closeOpened();
    await dbs?.stop();
  });
  beforeEach(async () => {
    if (dbs === undefined) return;
    await closeOpened();
    database = await dbs.create();
    if (options.migrated !== false) await migrateDatabase();
  });

  return {
    peer,
    database: () => database,
    migrate: migrateDatabase,
    replica: async (now) => {
      const store = await openPostgresStateStore(peer().config(), {
        ...peer().secrets(database),
        check: 'serve',
        ...(now === undefined ? {} : { now }),
      });
      opened.push(store);
      return store;
    },
    closeAfter: (store) => {
      opened.push(store);
    },
  };
}
