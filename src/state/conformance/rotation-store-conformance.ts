import { describe, expect, it } from 'vitest';

import { isCofreError } from '../../errors.js';
import type { RotationRecord } from '../../rotation/rotation-types.js';
import type { StateStore } from '../state-store.js';
import { failureOf, type OpenStateStore, useStateStores } from './state-store-harness.js';

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

/**
 * The executable specification of {@link RotationStore} (rotation-types.ts): records kept as stored across a
 * reopen, one unfinished rotation per target (also when two connections start one at once), listing and updates.
 * Every call is awaited, so a store may answer with values (SQLite) or promises (PostgreSQL).
 */
export function exerciseRotationStore(name: string, open: OpenStateStore): void {
  describe(`RotationStore conformance: ${name}`, () => {
    const stores = useStateStores(open);
    const store = (): StateStore => stores.store();

    it('keeps a rotation and gives it back as stored, across a reopen', async () => {
      const first = await stores.connect();
      const record = rotation('rot_a', 'main');
      await first.createRotation(record);
      const updated: RotationRecord = {
        ...record,
        status: 'promoted',
        secrets: [{ backend: 'local', path: 'exchanges/main', oldVersion: '1', newVersion: '2' }],
        updatedAt: at(5),
        promotedAt: at(5),
      };
      await first.updateRotation(updated);
      await first.close();
      const reopened = await stores.connect();
      expect(await reopened.rotation('rot_a')).toEqual(updated);
      expect(await reopened.rotation('rot_missing')).toBeUndefined();
      const failed: RotationRecord = { ...updated, status: 'failed', error: 'test failed', updatedAt: at(6) };
      await reopened.updateRotation(failed);
      expect(await store().rotation('rot_a')).toEqual(failed);
    });

    it('refuses a second unfinished rotation of the same target, naming the running one and how to resume it', async () => {
      await store().createRotation(rotation('rot_a', 'main'));
      const error = await failureOf(() => store().createRotation(rotation('rot_b', 'main')));
      expect(isCofreError(error, 'COFRE_ROTATION_IN_PROGRESS')).toBe(true);
      expect((error as Error).message).toContain('rot_a');
      expect((error as Error).message).toContain('cofre rotate --resume rot_a');
      // Another target is independent; an ended rotation frees the target.
      await store().createRotation(rotation('rot_c', 'other'));
      await store().updateRotation({ ...rotation('rot_a', 'main'), status: 'failed', error: 'test failed' });
      await store().createRotation(rotation('rot_d', 'main'));
      expect((await store().rotation('rot_d'))?.status).toBe('created');
    });

    it('of two rotations of one target started at once on two connections, one is created', async () => {
      const other = await stores.connect();
      const results = await Promise.allSettled([
        Promise.resolve().then(() => store().createRotation(rotation('rot_1', 'main'))),
        Promise.resolve().then(() => other.createRotation(rotation('rot_2', 'main'))),
      ]);
      const created = results.filter((r) => r.status === 'fulfilled');
      expect(created).toHaveLength(1);
      const refused = results.find((r) => r.status === 'rejected');
      expect(isCofreError(refused?.reason, 'COFRE_ROTATION_IN_PROGRESS')).toBe(true);
      expect(await store().rotations({ active: true })).toHaveLength(1);
    });

    it('lists newest first, and only unfinished ones with active', async () => {
      await store().createRotation(rotation('rot_1', 'a', { startedAt: at(1), status: 'promoted' }));
      await store().createRotation(rotation('rot_2', 'b', { startedAt: at(2) }));
      await store().createRotation(rotation('rot_3', 'c', { startedAt: at(3), status: 'tested' }));
      // Same start: the later one first.
      await store().createRotation(
        rotation('rot_4', 'd', { startedAt: at(3), status: 'failed', error: 'x' }),
      );
      expect((await store().rotations()).map((r) => r.id)).toEqual(['rot_4', 'rot_3', 'rot_2', 'rot_1']);
      expect((await store().rotations({ active: true })).map((r) => r.id)).toEqual(['rot_3', 'rot_2']);
    });

    it('keeps secret targets apart from account targets', async () => {
      await store().createRotation({
        ...rotation('rot_s', 'x'),
        target: { kind: 'secret', reference: 'local:db/pw' },
      });
      await store().createRotation(rotation('rot_a', 'local:db/pw'));
      expect((await store().rotation('rot_s'))?.target).toEqual({ kind: 'secret', reference: 'local:db/pw' });
      const error = await failureOf(() =>
        store().createRotation({
          ...rotation('rot_t', 'x'),
          target: { kind: 'secret', reference: 'local:db/pw' },
        }),
      );
      expect((error as Error).message).toMatch(/rot_s/);
    });

    it('fails on an update of an unknown rotation, and on a rotation id used twice', async () => {
      const unknown = await failureOf(() => store().updateRotation(rotation('rot_none', 'main')));
      expect(isCofreError(unknown, 'COFRE_ROTATION_NOT_FOUND')).toBe(true);
      expect((unknown as Error).message).toMatch(/no rotation rot_none/);
      await store().createRotation(rotation('rot_a', 'main', { status: 'promoted' }));
      const twice = await failureOf(() => store().createRotation(rotation('rot_a', 'other')));
      expect(isCofreError(twice, 'COFRE_INTERNAL')).toBe(true);
    });
  });
}
