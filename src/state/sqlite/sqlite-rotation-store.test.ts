// What only SQLite shows: its unique index holds even when the store's own check is bypassed. The interface's
// behaviour is the conformance suite's (../conformance/, run by sqlite-conformance.test.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { RotationRecord } from '../../rotation/rotation-types.js';
import { SqliteStateStore } from './sqlite-state-store.js';

const at = (s: number): Date => new Date(Date.UTC(2026, 10, 30, 10, 0, s));

function rotation(id: string, account: string, overrides: Partial<RotationRecord> = {}): RotationRecord {
  return {
    id,
    target: { kind: 'account', account },
    status: 'created',
    secrets: [{ backend: 'local', path: `exchanges/${account}`, oldVersion: '1', newVersion: undefined }],
    by: 'local:tester',
    startedAt: at(0),
    updatedAt: at(0),
    ...overrides,
  };
}

let dir: string;
let path: string;
let store: SqliteStateStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cofre-rotations-'));
  path = join(dir, 'state.db');
  store = new SqliteStateStore(path);
});

afterEach(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('SqliteRotationStore', () => {
  it('refuses a second unfinished rotation even when the check is bypassed (the unique index)', () => {
    store.createRotation(rotation('rot_a', 'main'));
    store.close();
    const raw = new Database(path);
    try {
      expect(() =>
        raw
          .prepare(
            "INSERT INTO rotations (id, target_kind, target, status, secrets, started_by, started_at, updated_at) VALUES ('rot_x', 'account', 'main', 'tested', '[]', 'x', 0, 0)",
          )
          .run(),
      ).toThrow(/UNIQUE/);
    } finally {
      raw.close();
    }
    store = new SqliteStateStore(path);
  });
});
