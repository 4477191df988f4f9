// The state store conformance suites on PostgreSQL: one embedded server for the file, a fresh migrated database per
// test, and every store the suites open within a test is another replica on it (its own pool and replica id).
import { afterAll, beforeAll, beforeEach } from 'vitest';

import { peerOrSkip } from '../../../test/peers/peer-or-skip.js';
import { startPostgres } from '../../../test/peers/peers.js';
import { exerciseControlStore } from '../conformance/control-store-conformance.js';
import { exerciseRotationStore } from '../conformance/rotation-store-conformance.js';
import { exerciseStateStore, type OpenStateStore } from '../conformance/state-store-conformance.js';
import { migrate } from './migrate.js';
import { openPostgresDb } from './open-postgres.js';
import { openPostgresStateStore } from './postgres-state-store.js';
import { PostgresTestDatabases } from './testdata/postgres-test-databases.js';

const dbs = await peerOrSkip('PostgreSQL', async () => new PostgresTestDatabases(await startPostgres()));
let database: string;

beforeAll(() => {
  if (dbs === undefined) throw new Error('PostgreSQL is not installed: see the message above');
});

afterAll(async () => {
  await dbs?.stop();
});

beforeEach(async () => {
  if (dbs === undefined) return;
  database = await dbs.create();
  const db = await openPostgresDb(dbs.config(), dbs.secrets(database));
  try {
    await migrate(db);
  } finally {
    await db.close();
  }
});

const open: OpenStateStore = async () => {
  if (dbs === undefined) throw new Error('no PostgreSQL');
  const store = await openPostgresStateStore(dbs.config(), { ...dbs.secrets(database), check: 'serve' });
  return { store, close: () => store.close() };
};

exerciseStateStore('PostgreSQL', open);
// Fewer runs than SQLite's 300: each step is a round trip.
exerciseControlStore('PostgreSQL', open, { propertyRuns: 100 });
exerciseRotationStore('PostgreSQL', open);
