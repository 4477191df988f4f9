// The limit ledger conformance suite on PostgreSQL: one server for the file, a fresh database per test, and every
// ledger the suite opens within a test is another pool on it (another process, or the same one after a restart).
import { afterAll, beforeEach, describe } from 'vitest';

import { peerOrSkip } from '../../../test/peers/peer-or-skip.js';
import { startPostgres } from '../../../test/peers/peers.js';
import { exerciseLimitLedger } from '../conformance/limit-ledger-conformance.js';
import { createLedgerDatabase, openLedger } from './testdata/ledger-database.js';

const server = await peerOrSkip('PostgreSQL', startPostgres);
let database: string;

afterAll(async () => {
  await server?.stop();
});

describe.skipIf(server === undefined)('on embedded PostgreSQL', () => {
  beforeEach(async () => {
    database = await createLedgerDatabase(server?.connectionString ?? '');
  });

  exerciseLimitLedger('PostgreSQL', () => Promise.resolve(openLedger(database)));
});
