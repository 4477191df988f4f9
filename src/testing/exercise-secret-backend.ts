import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { isCofreError } from '../errors.js';
import type { SecretBackend } from '../secrets/secret-backend.js';
import { SecretValue } from '../secrets/secret-value.js';

/** What a test file hands the conformance suite. */
export interface BackendHarness {
  readonly backend: SecretBackend;
  /** Prepended to every path the suite writes, so runs against a shared server do not collide. */
  readonly prefix?: string;
  /**
   * Joins the suite's run folder and each test's leaf name; default `/`. Backends whose names cannot hold `/`
   * (Azure Key Vault: letters, digits and dashes) pass `-`.
   */
  readonly separator?: string;
  /** Called once after the suite; close servers, delete temp dirs. The suite closes the backend itself. */
  readonly cleanup?: () => Promise<void>;
}

/**
 * The executable specification of {@link SecretBackend}: registers a vitest `describe` block that every backend
 * must pass — the embedded store and each real peer (OpenBao KV v1/v2, moto, lowkey-vault), in the spirit of
 * Vault's `ExerciseBackend`. Optional operations are exercised exactly as the backend's `capabilities` claim.
 *
 * Values the suite writes are JSON objects (the one shape every backend stores); backends that claim `binary`
 * also get a round trip of all 256 byte values. Each run uses fresh random paths.
 */
export function exerciseSecretBackend(name: string, setup: () => Promise<BackendHarness>): void {
  describe(`SecretBackend conformance: ${name}`, () => {
    let harness: BackendHarness;
    let backend: SecretBackend;
    const run = randomBytes(4).toString('hex');
    const path = (leaf: string): string =>
      `${harness.prefix ?? ''}conformance-${run}${harness.separator ?? '/'}${leaf}`;
    const json = (o: Record<string, string>): SecretValue => SecretValue.fromText(JSON.stringify(o));
    const parsed = (v: SecretValue): unknown => JSON.parse(v.text());
    const canary = `canary-${randomBytes(12).toString('hex')}`;

    beforeAll(async () => {
      harness = await setup();
      backend = harness.backend;
    });

    afterAll(async () => {
      await backend.close();
      await backend.close(); // contract: safe to call twice
      await harness.cleanup?.();
    });

    it('reads back what it wrote, as a redacted SecretValue with the written version', async () => {
      const p = path('round-trip');
      const version = await backend.write(p, json({ apiKey: 'key-1', secret: canary }));
      const record = await backend.read(p, { kind: 'latest' });
      expect(record.version).toBe(version);
      expect(record.createdAt).toBeInstanceOf(Date);
      expect(Number.isNaN(record.createdAt.getTime())).toBe(false);
      expect(parsed(record.value)).toEqual({ apiKey: 'key-1', secret: canary });
      expect(String(record.value)).toBe('[REDACTED]');
      expect(JSON.stringify({ v: record.value })).not.toContain(canary);
      expect(inspect(record)).not.toContain(canary);
    });

    it('hands out values the caller owns: zeroing one does not affect the next read', async () => {
      const p = path('owned');
      await backend.write(p, json({ secret: 'owned-value' }));
      const first = await backend.read(p, { kind: 'latest' });
      first.value.zero();
      const second = await backend.read(p, { kind: 'latest' });
      expect(parsed(second.value)).toEqual({ secret: 'owned-value' });
    });

    it('copies the value on write: zeroing the caller buffer afterwards changes nothing', async () => {
      const p = path('copied');
      const value = json({ secret: 'copied-value' });
      await backend.write(p, value);
      value.zero();
      expect(parsed((await backend.read(p, { kind: 'latest' })).value)).toEqual({ secret: 'copied-value' });
    });

    it('reports a missing secret as COFRE_SECRET_NOT_FOUND naming the path', async () => {
      const p = path('never-written');
      const err = await backend.read(p, { kind: 'latest' }).catch((e: unknown) => e);
      expect(isCofreError(err, 'COFRE_SECRET_NOT_FOUND')).toBe(true);
      expect((err as Error).message).toContain('never-written');
      const described = await backend.describe(p).catch((e: unknown) => e);
      expect(isCofreError(described, 'COFRE_SECRET_NOT_FOUND')).toBe(true);
    });

    it('lists the paths it holds', async () => {
      const p = path('listed');
      await backend.write(p, json({ secret: 'x' }));
      expect(await backend.list()).toContain(p);
    });

    it('overwrites: the latest read returns the newest write', async () => {
      const p = path('overwrite');
      const v1 = await backend.write(p, json({ secret: 'one' }));
      const v2 = await backend.write(p, json({ secret: 'two' }));
      expect(v2).not.toBe(v1);
      const latest = await backend.read(p, { kind: 'latest' });
      expect(parsed(latest.value)).toEqual({ secret: 'two' });
      expect(latest.version).toBe(v2);
    });

    it('removes a secret and all its versions', async () => {
      const p = path('removed');
      await backend.write(p, json({ secret: 'gone' }));
      await backend.remove(p);
      const err = await backend.read(p, { kind: 'latest' }).catch((e: unknown) => e);
      expect(isCofreError(err, 'COFRE_SECRET_NOT_FOUND')).toBe(true);
      expect(await backend.list()).not.toContain(p);
    });

    it('never puts a value in an error message', async () => {
      const p = path('error-canary');
      await backend.write(p, json({ secret: canary }));
      const errors = await Promise.all([
        backend.read(p, { kind: 'version', version: 'no-such-version-0' }).catch((e: unknown) => e),
        backend.read(`${p}-missing`, { kind: 'latest' }).catch((e: unknown) => e),
      ]);
      for (const err of errors) {
        expect(isCofreError(err)).toBe(true);
        expect(inspect(err, { depth: 10 })).not.toContain(canary);
      }
    });

    describe('binary values', () => {
      requires('binary');
      it('round-trips all 256 byte values exactly', async () => {
        const p = path('binary');
        const bytes = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
        await backend.write(p, SecretValue.copyOf(bytes));
        expect((await backend.read(p, { kind: 'latest' })).value.bytes().equals(bytes)).toBe(true);
      });
    });

    describe('versions', () => {
      requires('listVersions');
      it('reads any kept version by id and describes them oldest first', async () => {
        const p = path('versions');
        const v1 = await backend.write(p, json({ secret: 'one' }));
        const v2 = await backend.write(p, json({ secret: 'two' }));
        expect(parsed((await backend.read(p, { kind: 'version', version: v1 })).value)).toEqual({
          secret: 'one',
        });
        expect(parsed((await backend.read(p, { kind: 'version', version: v2 })).value)).toEqual({
          secret: 'two',
        });
        const meta = await backend.describe(p);
        expect(meta.path).toBe(p);
        const ids = meta.versions.map((v) => v.version);
        expect(ids.indexOf(v1)).toBeGreaterThanOrEqual(0);
        expect(ids.indexOf(v2)).toBeGreaterThan(ids.indexOf(v1));
        for (const v of meta.versions) expect(v.createdAt).toBeInstanceOf(Date);
      });

      it('reports a missing version as COFRE_SECRET_NOT_FOUND', async () => {
        const p = path('missing-version');
        await backend.write(p, json({ secret: 'one' }));
        const err = await backend.read(p, { kind: 'version', version: '999999' }).catch((e: unknown) => e);
        expect(isCofreError(err, 'COFRE_SECRET_NOT_FOUND')).toBe(true);
      });

      it('keeps every version of concurrent writes', async () => {
        const p = path('concurrent');
        const written = await Promise.all(
          Array.from({ length: 8 }, (_, i) => backend.write(p, json({ secret: `w${i}` }))),
        );
        expect(new Set(written).size).toBe(8);
        const ids = new Set((await backend.describe(p)).versions.map((v) => v.version));
        for (const v of written) expect(ids.has(v)).toBe(true);
      });
    });

    describe('stages', () => {
      requires('stages');
      it('moves current to previous on a new write', async () => {
        const p = path('stages');
        const v1 = await backend.write(p, json({ secret: 'one' }));
        const v2 = await backend.write(p, json({ secret: 'two' }));
        const meta = await backend.describe(p);
        expect(meta.stages.current).toBe(v2);
        expect(meta.stages.previous).toBe(v1);
        const previous = await backend.read(p, { kind: 'stage', stage: 'previous' });
        expect(previous.version).toBe(v1);
        expect(parsed(previous.value)).toEqual({ secret: 'one' });
      });

      it('stages a pending version without touching current, then promotes it', async () => {
        const p = path('rotation');
        const v1 = await backend.write(p, json({ secret: 'old' }));
        const v2 = await backend.write(p, json({ secret: 'new' }), { stage: 'pending' });
        expect((await backend.read(p, { kind: 'latest' })).version).toBe(v1);
        expect((await backend.read(p, { kind: 'stage', stage: 'current' })).version).toBe(v1);
        const pending = await backend.read(p, { kind: 'stage', stage: 'pending' });
        expect(pending.version).toBe(v2);
        expect(parsed(pending.value)).toEqual({ secret: 'new' });

        await backend.moveStage(p, 'current', v2);
        const meta = await backend.describe(p);
        expect(meta.stages.current).toBe(v2);
        expect(meta.stages.previous).toBe(v1);
        expect(meta.stages.pending).toBeUndefined();
        expect(parsed((await backend.read(p, { kind: 'latest' })).value)).toEqual({ secret: 'new' });
        const err = await backend.read(p, { kind: 'stage', stage: 'pending' }).catch((e: unknown) => e);
        expect(isCofreError(err, 'COFRE_SECRET_NOT_FOUND')).toBe(true);
      });

      it('promotes idempotently: a resumed rotation promoting again keeps the old current as previous', async () => {
        const p = path('promote-twice');
        const v1 = await backend.write(p, json({ secret: 'old' }));
        const v2 = await backend.write(p, json({ secret: 'new' }), { stage: 'pending' });
        await backend.moveStage(p, 'current', v2);
        await backend.moveStage(p, 'current', v2);
        expect((await backend.describe(p)).stages).toEqual({ current: v2, previous: v1 });
        await backend.clearStage(p, 'pending');
        expect((await backend.describe(p)).stages).toEqual({ current: v2, previous: v1 });
      });

      it('stages a second pending version in place of the first, which is kept unstaged', async () => {
        const p = path('pending-twice');
        const v1 = await backend.write(p, json({ secret: 'old' }));
        const v2 = await backend.write(p, json({ secret: 'first try' }), { stage: 'pending' });
        const v3 = await backend.write(p, json({ secret: 'second try' }), { stage: 'pending' });
        const meta = await backend.describe(p);
        expect(meta.stages).toEqual({ current: v1, pending: v3 });
        expect(meta.versions.find((v) => v.version === v2)?.stages).toEqual([]);
        expect((await backend.read(p, { kind: 'latest' })).version).toBe(v1);
        await backend.moveStage(p, 'current', v3);
        expect((await backend.describe(p)).stages).toEqual({ current: v3, previous: v1 });
      });

      it('rolls back by moving current to the previous version', async () => {
        const p = path('rollback');
        const v1 = await backend.write(p, json({ secret: 'one' }));
        const v2 = await backend.write(p, json({ secret: 'two' }));
        await backend.moveStage(p, 'current', v1);
        const meta = await backend.describe(p);
        expect(meta.stages.current).toBe(v1);
        expect(meta.stages.previous).toBe(v2);
        expect(parsed((await backend.read(p, { kind: 'latest' })).value)).toEqual({ secret: 'one' });
      });

      it('clears pending: the version stays readable by id, unstaged, and current is untouched', async () => {
        const p = path('clear-pending');
        const v1 = await backend.write(p, json({ secret: 'old' }));
        const v2 = await backend.write(p, json({ secret: 'new' }), { stage: 'pending' });
        expect((await backend.describe(p)).stages.pending).toBe(v2);

        await backend.clearStage(p, 'pending');
        const meta = await backend.describe(p);
        expect(meta.stages.pending).toBeUndefined();
        expect(meta.stages.current).toBe(v1);
        expect(meta.versions.find((v) => v.version === v2)?.stages).toEqual([]);
        expect(meta.versions.find((v) => v.version === v1)?.stages).toContain('current');
        expect(parsed((await backend.read(p, { kind: 'version', version: v2 })).value)).toEqual({
          secret: 'new',
        });
        const current = await backend.read(p, { kind: 'latest' });
        expect(current.version).toBe(v1);
        expect(parsed(current.value)).toEqual({ secret: 'old' });
        expect((await backend.read(p, { kind: 'stage', stage: 'current' })).version).toBe(v1);
        const err = await backend.read(p, { kind: 'stage', stage: 'pending' }).catch((e: unknown) => e);
        expect(isCofreError(err, 'COFRE_SECRET_NOT_FOUND')).toBe(true);
      });

      it('clears previous after a promotion, keeping the old version readable by id', async () => {
        const p = path('clear-previous');
        const v1 = await backend.write(p, json({ secret: 'old' }));
        const v2 = await backend.write(p, json({ secret: 'new' }), { stage: 'pending' });
        await backend.moveStage(p, 'current', v2);
        expect((await backend.describe(p)).stages).toEqual({ current: v2, previous: v1 });

        await backend.clearStage(p, 'previous');
        const meta = await backend.describe(p);
        expect(meta.stages).toEqual({ current: v2 });
        expect(meta.versions.find((v) => v.version === v1)?.stages).toEqual([]);
        expect(parsed((await backend.read(p, { kind: 'version', version: v1 })).value)).toEqual({
          secret: 'old',
        });
        expect((await backend.read(p, { kind: 'latest' })).version).toBe(v2);
        const err = await backend.read(p, { kind: 'stage', stage: 'previous' }).catch((e: unknown) => e);
        expect(isCofreError(err, 'COFRE_SECRET_NOT_FOUND')).toBe(true);
      });

      it('does nothing when no version holds the stage, however often it is asked', async () => {
        const p = path('clear-nothing');
        const v1 = await backend.write(p, json({ secret: 'only' }));
        await backend.clearStage(p, 'pending');
        await backend.clearStage(p, 'previous');
        await backend.clearStage(p, 'pending');
        const meta = await backend.describe(p);
        expect(meta.stages).toEqual({ current: v1 });
        expect(parsed((await backend.read(p, { kind: 'latest' })).value)).toEqual({ secret: 'only' });
      });

      it('clears only the stage asked for', async () => {
        const p = path('clear-one');
        const v1 = await backend.write(p, json({ secret: 'one' }));
        const v2 = await backend.write(p, json({ secret: 'two' }));
        const v3 = await backend.write(p, json({ secret: 'three' }), { stage: 'pending' });
        expect((await backend.describe(p)).stages).toEqual({ current: v2, previous: v1, pending: v3 });
        await backend.clearStage(p, 'pending');
        expect((await backend.describe(p)).stages).toEqual({ current: v2, previous: v1 });
        const v4 = await backend.write(p, json({ secret: 'four' }), { stage: 'pending' });
        await backend.clearStage(p, 'previous');
        expect((await backend.describe(p)).stages).toEqual({ current: v2, pending: v4 });
      });

      it('refuses to clear current, at run time too, and leaves the secret as it was', async () => {
        const p = path('clear-current');
        const v1 = await backend.write(p, json({ secret: 'live' }));
        for (const stage of ['current', 'bogus']) {
          // The type forbids both; JavaScript callers and stages parsed from argv or JSON are not held to it.
          const err = await backend.clearStage(p, stage as 'pending').catch((e: unknown) => e);
          expect(isCofreError(err, 'COFRE_INPUT_INVALID')).toBe(true);
        }
        expect((await backend.describe(p)).stages).toEqual({ current: v1 });
        expect((await backend.read(p, { kind: 'latest' })).version).toBe(v1);
      });

      it('reports clearing a stage of a missing secret as COFRE_SECRET_NOT_FOUND', async () => {
        const p = path('clear-missing');
        for (const stage of ['pending', 'previous'] as const) {
          const err = await backend.clearStage(p, stage).catch((e: unknown) => e);
          expect(isCofreError(err, 'COFRE_SECRET_NOT_FOUND')).toBe(true);
        }
      });

      it('lets concurrent clears of one stage all succeed, leaving it cleared', async () => {
        const p = path('clear-concurrent');
        const v1 = await backend.write(p, json({ secret: 'old' }));
        await backend.write(p, json({ secret: 'new' }), { stage: 'pending' });
        await Promise.all(Array.from({ length: 4 }, () => backend.clearStage(p, 'pending')));
        expect((await backend.describe(p)).stages).toEqual({ current: v1 });
      });

      it('clearing one stage never loses a concurrent write to another stage', async () => {
        // Both are read-modify-writes of the stage pointers in the embedded store and Vault: without the store's
        // lock (or Vault's per-path queue) the clear could write back stages read before the pending write.
        const p = path('clear-racing-write');
        await backend.write(p, json({ secret: 'one' }));
        const v2 = await backend.write(p, json({ secret: 'two' }));
        for (let round = 0; round < 4; round++) {
          const [, pending] = await Promise.all([
            backend.clearStage(p, 'previous'),
            backend.write(p, json({ secret: `pending-${round}` }), { stage: 'pending' }),
          ]);
          expect((await backend.describe(p)).stages).toEqual({ current: v2, pending });
          await backend.moveStage(p, 'previous', pending);
        }
      });

      it('rotates again after a cleared pending: the retry is promoted, the old current becomes previous', async () => {
        // The rotation engine's path when a new key fails its test: clear pending, stage another, promote it.
        const p = path('clear-then-rotate');
        const v1 = await backend.write(p, json({ secret: 'old' }));
        await backend.write(p, json({ secret: 'bad' }), { stage: 'pending' });
        await backend.clearStage(p, 'pending');
        const v3 = await backend.write(p, json({ secret: 'good' }), { stage: 'pending' });
        expect((await backend.describe(p)).stages).toEqual({ current: v1, pending: v3 });
        expect((await backend.read(p, { kind: 'latest' })).version).toBe(v1);
        await backend.moveStage(p, 'current', v3);
        const meta = await backend.describe(p);
        expect(meta.stages).toEqual({ current: v3, previous: v1 });
        expect(meta.versions.find((v) => v.version === v3)?.stages).toEqual(['current']);
        expect(parsed((await backend.read(p, { kind: 'latest' })).value)).toEqual({ secret: 'good' });
        expect(parsed((await backend.read(p, { kind: 'stage', stage: 'previous' })).value)).toEqual({
          secret: 'old',
        });
      });

      it('refuses to move a stage to a version that does not exist', async () => {
        const p = path('bad-move');
        await backend.write(p, json({ secret: 'one' }));
        const err = await backend.moveStage(p, 'current', '999999').catch((e: unknown) => e);
        expect(isCofreError(err, 'COFRE_SECRET_NOT_FOUND')).toBe(true);
      });
    });

    describe('without stages', () => {
      lacks('stages');
      it('answers COFRE_BACKEND_UNSUPPORTED to every stage operation, clearStage included', async () => {
        const p = path('no-stages');
        const v1 = await backend.write(p, json({ secret: 'one' }));
        const attempts = [
          backend.clearStage(p, 'pending'),
          backend.clearStage(p, 'previous'),
          backend.moveStage(p, 'previous', v1),
          backend.write(p, json({ secret: 'two' }), { stage: 'pending' }),
        ];
        for (const attempt of attempts) {
          const err = await attempt.catch((e: unknown) => e);
          expect(isCofreError(err, 'COFRE_BACKEND_UNSUPPORTED')).toBe(true);
        }
        expect(parsed((await backend.read(p, { kind: 'latest' })).value)).toEqual({ secret: 'one' });
      });
    });

    /**
     * Skips the enclosing block's tests when the backend does not claim `key`. Checked at run time: vitest collects
     * tests before `beforeAll` has built the backend, so `describe.runIf` could not see its capabilities.
     */
    function requires(key: keyof SecretBackend['capabilities']): void {
      beforeEach((ctx) => {
        if (!backend.capabilities[key]) ctx.skip(`backend does not support ${key}`);
      });
    }

    /** The opposite of {@link requires}: runs the enclosing block's tests only when the backend lacks `key`. */
    function lacks(key: keyof SecretBackend['capabilities']): void {
      beforeEach((ctx) => {
        if (backend.capabilities[key]) ctx.skip(`backend supports ${key}`);
      });
    }
  });
}
