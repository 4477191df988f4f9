// The state store conformance suites on PostgreSQL: one embedded server for the file, a fresh migrated database per
// test, and every store the suites open within a test is another replica on it (its own pool and replica id).

import { postgresStateTestFile } from '../../../test/state/postgres-state-test-file.js';
import { exerciseControlStore } from '../conformance/control-store-conformance.js';
import { exerciseNonceStore } from '../conformance/nonce-store-conformance.js';
import { exerciseRequestListing } from '../conformance/request-list-conformance.js';
import { exerciseRotationStore } from '../conformance/rotation-store-conformance.js';
import { exerciseStateStore, type OpenStateStore } from '../conformance/state-store-conformance.js';

const file = await postgresStateTestFile();

const open: OpenStateStore = async () => {
  const store = await file.replica();
  return { store, close: () => store.close() };
};

exerciseStateStore('PostgreSQL', open);
// Fewer runs than SQLite's 300: each step is a round trip.
exerciseControlStore('PostgreSQL', open, { propertyRuns: 100 });
exerciseRotationStore('PostgreSQL', open);
exerciseRequestListing('PostgreSQL', open);
exerciseNonceStore('PostgreSQL', open);
