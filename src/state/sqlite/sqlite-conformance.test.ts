// The state store conformance suites on SQLite: each test gets a fresh state file, and every store the suites open
// within a test is another connection to it (another process, or the same one after a restart).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach } from 'vitest';

import { exerciseControlStore } from '../conformance/control-store-conformance.js';
import { exerciseNonceStore } from '../conformance/nonce-store-conformance.js';
import { exerciseRequestListing } from '../conformance/request-list-conformance.js';
import { exerciseRotationStore } from '../conformance/rotation-store-conformance.js';
import { exerciseStateStore, type OpenStateStore } from '../conformance/state-store-conformance.js';
import { SqliteStateStore } from './sqlite-state-store.js';

let dir: string;
let path: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cofre-state-'));
  path = join(dir, 'state.db');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const open: OpenStateStore = () => {
  const store = new SqliteStateStore(path);
  return Promise.resolve({
    store,
    close: () => {
      store.close();
      return Promise.resolve();
    },
  });
};

exerciseStateStore('SQLite state file', open);
exerciseControlStore('SQLite state file', open);
exerciseRotationStore('SQLite state file', open);
exerciseRequestListing('SQLite state file', open);
exerciseNonceStore('SQLite state file', open);
