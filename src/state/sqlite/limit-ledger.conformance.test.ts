// The limit ledger conformance suite on SQLite: each test gets a fresh state file, and every ledger the suite opens
// within a test is another connection to it (another process, or the same one after a restart).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach } from 'vitest';

import { exerciseLimitLedger } from '../conformance/limit-ledger-conformance.js';
import { SqliteStateStore } from './sqlite-state-store.js';

let dir: string;
let path: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cofre-ledger-'));
  path = join(dir, 'state.db');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

exerciseLimitLedger('SQLite state file', () => {
  const store = new SqliteStateStore(path);
  return Promise.resolve({
    ledger: store,
    close: () => {
      store.close();
      return Promise.resolve();
    },
  });
});
