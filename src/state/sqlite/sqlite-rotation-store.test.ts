import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { isCofreError } from '../../errors.js';
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
  it('keeps a rotation and gives it back as stored, across a reopen', () => {
    const record = rotation('rot_a', 'main');
    store.createRotation(record);
    const updated: RotationRecord = {
      ...record,
      status: 'promoted',
      secrets: [{ backend: 'local', path: 'exchanges/main', oldVersion: '1', newVersion: '2' }],
      updatedAt: at(5),
      promotedAt: at(5),
    };
    store.updateRotation(updated);
    store.close();
    store = new SqliteStateStore(path);
    expect(store.rotation('rot_a')).toEqual(updated);
    expect(store.rotation('rot_missing')).toBeUndefined();
  });

  it('refuses a second unfinished rotation of the same target, naming the running one and how to resume it', () => {
    store.createRotation(rotation('rot_a', 'main'));
    let error: unknown;
    try {
      store.createRotation(rotation('rot_b', 'main'));
    } catch (err) {
      error = err;
    }
    expect(isCofreError(error, 'COFRE_ROTATION_IN_PROGRESS')).toBe(true);
    expect((error as Error).message).toContain('rot_a');
    expect((error as Error).message).toContain('cofre rotate --resume rot_a');
    // Another target is independent; an ended rotation frees the target.
    store.createRotation(rotation('rot_c', 'other'));
    store.updateRotation({ ...rotation('rot_a', 'main'), status: 'failed', error: 'test failed' });
    store.createRotation(rotation('rot_d', 'main'));
    expect(store.rotation('rot_d')?.status).toBe('created');
  });

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

  it('lists newest first, and only unfinished ones with active', () => {
    store.createRotation(rotation('rot_1', 'a', { startedAt: at(1), status: 'promoted' }));
    store.createRotation(rotation('rot_2', 'b', { startedAt: at(2) }));
    store.createRotation(rotation('rot_3', 'c', { startedAt: at(3), status: 'tested' }));
    expect(store.rotations().map((r) => r.id)).toEqual(['rot_3', 'rot_2', 'rot_1']);
    expect(store.rotations({ active: true }).map((r) => r.id)).toEqual(['rot_3', 'rot_2']);
  });

  it('keeps secret targets apart from account targets', () => {
    store.createRotation({ ...rotation('rot_s', 'x'), target: { kind: 'secret', reference: 'local:db/pw' } });
    store.createRotation(rotation('rot_a', 'local:db/pw'));
    expect(store.rotation('rot_s')?.target).toEqual({ kind: 'secret', reference: 'local:db/pw' });
    expect(() => {
      store.createRotation({
        ...rotation('rot_t', 'x'),
        target: { kind: 'secret', reference: 'local:db/pw' },
      });
    }).toThrow(/rot_s/);
  });

  it('fails on an update of an unknown rotation', () => {
    expect(() => {
      store.updateRotation(rotation('rot_none', 'main'));
    }).toThrow(/no rotation rot_none/);
  });
});
