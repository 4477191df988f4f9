import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { type ErrorCode, isCofreError } from '../../errors.js';
import type { WriteOptions } from '../secret-backend.js';
import type { Stage } from '../secret-reference.js';
import { SecretValue } from '../secret-value.js';
import { EmbeddedBackend, type EmbeddedCreateOptions, MAX_SECRET_VALUE_BYTES } from './embedded-backend.js';
import { makeTempDir, removeTempDirs } from './testdata/temp-dirs.js';

afterAll(removeTempDirs);

interface TestStore {
  readonly backend: EmbeddedBackend;
  readonly store: string;
  readonly keyFile: string;
  readonly dir: string;
}

async function newStore(options: EmbeddedCreateOptions = {}): Promise<TestStore> {
  const dir = await makeTempDir();
  const store = join(dir, 'store.cofre');
  const keyFile = join(dir, 'store.key');
  const backend = await EmbeddedBackend.create(store, { kind: 'key-file', path: keyFile }, options);
  return { backend, store, keyFile, dir };
}

async function reopen(s: TestStore): Promise<EmbeddedBackend> {
  return EmbeddedBackend.open(s.store, { kind: 'key-file', path: s.keyFile });
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<Error> {
  const err = await errorOf(promise);
  expect(isCofreError(err, code), `expected ${code}, got ${inspect(err)}`).toBe(true);
  return err as Error;
}

const text = (s: string): SecretValue => SecretValue.fromText(s);

/** A clock that advances one second per call, so every version gets a distinct, predictable timestamp. */
function steppingClock(): () => Date {
  let t = Date.parse('2025-01-01T00:00:00Z');
  return () => new Date((t += 1000));
}

describe('EmbeddedBackend', () => {
  it('round-trips every byte value and unicode text, also after reopening', async () => {
    const s = await newStore();
    const binary = Buffer.from(Array.from({ length: 1024 }, (_, i) => i % 256));
    const unicode = 'contraseña · пароль · 密码 · 🔑\u0000end';
    await s.backend.write('bin', SecretValue.copyOf(binary));
    await s.backend.write('uni', text(unicode));
    for (const backend of [s.backend, await reopen(s)]) {
      expect((await backend.read('bin', { kind: 'latest' })).value.bytes().equals(binary)).toBe(true);
      expect((await backend.read('uni', { kind: 'latest' })).value.text()).toBe(unicode);
    }
  });

  it('numbers versions per secret and describes them oldest first with stages and times', async () => {
    const s = await newStore({ now: steppingClock() });
    expect(await s.backend.write('a', text('a1'))).toBe('1');
    expect(await s.backend.write('b', text('b1'))).toBe('1');
    expect(await s.backend.write('a', text('a2'))).toBe('2');
    expect(await s.backend.write('a', text('a3'))).toBe('3');
    const meta = await s.backend.describe('a');
    expect(meta.path).toBe('a');
    expect(meta.createdAt.toISOString()).toBe('2025-01-01T00:00:01.000Z');
    expect(meta.stages).toEqual({ current: '3', previous: '2' });
    expect(meta.versions.map((v) => [v.version, v.stages, v.createdAt.toISOString()])).toEqual([
      ['1', [], '2025-01-01T00:00:01.000Z'],
      ['2', ['previous'], '2025-01-01T00:00:03.000Z'],
      ['3', ['current'], '2025-01-01T00:00:04.000Z'],
    ]);
    const record = await s.backend.read('a', { kind: 'version', version: '1' });
    expect(record.value.text()).toBe('a1');
    expect(record.version).toBe('1');
    expect(record.createdAt.toISOString()).toBe('2025-01-01T00:00:01.000Z');
    expect((await s.backend.read('a', { kind: 'stage', stage: 'previous' })).value.text()).toBe('a2');
    expect((await s.backend.read('a', { kind: 'stage', stage: 'current' })).value.text()).toBe('a3');
  });

  it('stages a pending version, promotes it (old current to previous, pending cleared) and rolls back', async () => {
    const s = await newStore();
    await s.backend.write('k', text('one'));
    expect(await s.backend.write('k', text('two'), { stage: 'pending' })).toBe('2');
    expect((await s.backend.read('k', { kind: 'latest' })).value.text()).toBe('one');
    expect((await s.backend.describe('k')).stages).toEqual({ current: '1', pending: '2' });

    await s.backend.moveStage('k', 'current', '2');
    expect((await s.backend.describe('k')).stages).toEqual({ current: '2', previous: '1' });
    expect((await s.backend.read('k', { kind: 'latest' })).value.text()).toBe('two');
    await expectCode(s.backend.read('k', { kind: 'stage', stage: 'pending' }), 'COFRE_SECRET_NOT_FOUND');

    await s.backend.moveStage('k', 'current', '1');
    expect((await s.backend.describe('k')).stages).toEqual({ current: '1', previous: '2' });
  });

  it('moves previous and pending without touching other stages', async () => {
    const s = await newStore();
    for (const v of ['one', 'two', 'three']) await s.backend.write('k', text(v));
    await s.backend.moveStage('k', 'previous', '1');
    await s.backend.moveStage('k', 'pending', '2');
    expect((await s.backend.describe('k')).stages).toEqual({ current: '3', previous: '1', pending: '2' });
    // Moving current onto the version it already holds changes nothing but a pending stage pointing there.
    await s.backend.moveStage('k', 'pending', '3');
    await s.backend.moveStage('k', 'current', '3');
    expect((await s.backend.describe('k')).stages).toEqual({ current: '3', previous: '1' });
  });

  it('clears a stage in the store file itself, and leaves the file untouched when there is nothing to clear', async () => {
    const s = await newStore();
    await s.backend.write('k', text('one'));
    const untouched = await readFile(s.store);
    await s.backend.clearStage('k', 'pending');
    await s.backend.clearStage('k', 'previous');
    // Every write re-encrypts under a fresh nonce, so equal bytes mean the no-op did not rewrite the file.
    expect((await readFile(s.store)).equals(untouched)).toBe(true);

    await s.backend.write('k', text('two'), { stage: 'pending' });
    await s.backend.clearStage('k', 'pending');
    const reopened = await reopen(s);
    expect((await reopened.describe('k')).stages).toEqual({ current: '1' });
    expect((await reopened.read('k', { kind: 'version', version: '2' })).value.text()).toBe('two');
  });

  it('keeps a cleared version until pruning drops it like any unstaged version', async () => {
    const s = await newStore({ maxVersions: 2 });
    await s.backend.write('k', text('v1'));
    await s.backend.write('k', text('v2'), { stage: 'pending' });
    await s.backend.clearStage('k', 'pending');
    expect((await s.backend.describe('k')).versions.map((v) => v.version)).toEqual(['1', '2']);
    await s.backend.write('k', text('v3'));
    const meta = await s.backend.describe('k');
    expect(meta.versions.map((v) => v.version)).toEqual(['1', '3']);
    expect(meta.stages).toEqual({ current: '3', previous: '1' });
  });

  it('clears under the store lock: a second instance writing at the same time loses nothing', async () => {
    // Two instances share only the file lock (each has its own in-process queue), like two processes.
    const s = await newStore({ maxVersions: 100 });
    const other = await reopen(s);
    await s.backend.write('k', text('one'));
    await s.backend.write('k', text('two'));
    for (let round = 0; round < 6; round++) {
      const [, pending] = await Promise.all([
        s.backend.clearStage('k', 'previous'),
        other.write('k', text(`pending-${round}`), { stage: 'pending' }),
      ]);
      expect((await s.backend.describe('k')).stages).toEqual({ current: '2', pending });
      await other.moveStage('k', 'previous', pending);
    }
  });

  it('a first write staged pending has no current version yet', async () => {
    const s = await newStore();
    await s.backend.write('k', text('draft'), { stage: 'pending' });
    await expectCode(s.backend.read('k', { kind: 'latest' }), 'COFRE_SECRET_NOT_FOUND');
    expect((await s.backend.read('k', { kind: 'stage', stage: 'pending' })).value.text()).toBe('draft');
  });

  it('keeps at most maxVersions per secret but never drops a version holding a stage', async () => {
    const s = await newStore({ maxVersions: 3 });
    await s.backend.write('k', text('v1'));
    await s.backend.write('k', text('v2'), { stage: 'pending' });
    for (const v of ['v3', 'v4', 'v5']) await s.backend.write('k', text(v));
    let meta = await s.backend.describe('k');
    expect(meta.stages).toEqual({ current: '5', previous: '4', pending: '2' });
    expect(meta.versions.map((v) => v.version)).toEqual(['2', '4', '5']);
    await expectCode(s.backend.read('k', { kind: 'version', version: '1' }), 'COFRE_SECRET_NOT_FOUND');
    expect((await s.backend.read('k', { kind: 'version', version: '2' })).value.text()).toBe('v2');

    // Ids keep counting after pruning; with a limit of 1 the three staged versions are all kept.
    const tight = await newStore({ maxVersions: 1 });
    await tight.backend.write('k', text('v1'));
    await tight.backend.write('k', text('v2'), { stage: 'pending' });
    await tight.backend.write('k', text('v3'));
    await tight.backend.write('k', text('v4'));
    meta = await tight.backend.describe('k');
    expect(meta.versions.map((v) => v.version)).toEqual(['2', '3', '4']);
  });

  it('reports missing secrets, versions and stages as COFRE_SECRET_NOT_FOUND naming the reference', async () => {
    const s = await newStore({ name: 'local' });
    await s.backend.write('exchanges/binance', text('canary-value-7f3a'));
    // Thunks, so no rejection exists before the loop is ready to handle it.
    const cases = [
      [() => s.backend.read('exchanges/kraken', { kind: 'latest' }), 'local:exchanges/kraken'],
      [() => s.backend.read('exchanges/binance', { kind: 'version', version: '9' }), 'version "9"'],
      [() => s.backend.read('exchanges/binance', { kind: 'stage', stage: 'pending' }), 'stage "pending"'],
      [() => s.backend.describe('exchanges/kraken'), 'local:exchanges/kraken'],
      [() => s.backend.moveStage('exchanges/binance', 'current', '9'), 'version "9"'],
      [() => s.backend.moveStage('exchanges/kraken', 'current', '1'), 'local:exchanges/kraken'],
      [() => s.backend.remove('exchanges/kraken'), 'local:exchanges/kraken'],
      [() => s.backend.fingerprint('exchanges/kraken', { kind: 'latest' }), 'local:exchanges/kraken'],
    ] as const;
    for (const [call, named] of cases) {
      const err = await expectCode(call(), 'COFRE_SECRET_NOT_FOUND');
      expect(err.message).toContain(named);
      expect(inspect(err, { depth: 10 })).not.toContain('canary-value-7f3a');
    }
  });

  it('removes a secret with all its versions; a new write under the same path starts again', async () => {
    const s = await newStore();
    await s.backend.write('gone', text('one'));
    await s.backend.write('gone', text('two'));
    await s.backend.write('kept', text('stay'));
    await s.backend.remove('gone');
    await expectCode(s.backend.read('gone', { kind: 'version', version: '1' }), 'COFRE_SECRET_NOT_FOUND');
    expect(await s.backend.list()).toEqual(['kept']);
    expect(await s.backend.write('gone', text('again'))).toBe('1');
  });

  it('lists paths sorted', async () => {
    const s = await newStore();
    expect(await s.backend.list()).toEqual([]);
    for (const p of ['z/last', 'a/first', 'm:mid,x=y+z', 'a.b_c-d']) await s.backend.write(p, text('x'));
    expect(await s.backend.list()).toEqual(['a.b_c-d', 'a/first', 'm:mid,x=y+z', 'z/last']);
  });

  it('fingerprints with a store-keyed HMAC: stable across reopen, value-sensitive, store-specific', async () => {
    const s = await newStore();
    await s.backend.write('a', text('same-value'));
    await s.backend.write('b', text('same-value'));
    await s.backend.write('c', text('other-value'));
    const fa = await s.backend.fingerprint('a', { kind: 'latest' });
    expect(fa).toMatch(/^hmac-sha256:[0-9a-f]{32}$/);
    expect(await s.backend.fingerprint('b', { kind: 'latest' })).toBe(fa);
    expect(await s.backend.fingerprint('c', { kind: 'latest' })).not.toBe(fa);
    expect(await (await reopen(s)).fingerprint('a', { kind: 'version', version: '1' })).toBe(fa);

    // Another store, even with the very same key file, fingerprints the same value differently (own salt).
    const dir = await makeTempDir();
    const sameKey = await EmbeddedBackend.create(join(dir, 'other.cofre'), {
      kind: 'key-file',
      path: s.keyFile,
    });
    await sameKey.write('a', text('same-value'));
    expect(await sameKey.fingerprint('a', { kind: 'latest' })).not.toBe(fa);
    const other = await newStore();
    await other.backend.write('a', text('same-value'));
    expect(await other.backend.fingerprint('a', { kind: 'latest' })).not.toBe(fa);
  });

  it('rejects empty and oversized values with COFRE_SECRET_VALUE_INVALID', async () => {
    const s = await newStore();
    await expectCode(s.backend.write('k', SecretValue.copyOf(Buffer.alloc(0))), 'COFRE_SECRET_VALUE_INVALID');
    await expectCode(
      s.backend.write('k', SecretValue.copyOf(Buffer.alloc(MAX_SECRET_VALUE_BYTES + 1, 1))),
      'COFRE_SECRET_VALUE_INVALID',
    );
    await s.backend.write('k', SecretValue.copyOf(Buffer.alloc(MAX_SECRET_VALUE_BYTES, 1)));
    expect((await s.backend.read('k', { kind: 'latest' })).value.length).toBe(MAX_SECRET_VALUE_BYTES);
  });

  it('rejects invalid paths with COFRE_INPUT_INVALID without echoing unexpected characters', async () => {
    const s = await newStore();
    const bad = [
      '',
      '/lead',
      'trail/',
      'a//b',
      'x'.repeat(513),
      'sp ace',
      'ctl\u001b[31m',
      'at@sign',
      'hash#x',
      'é',
    ];
    for (const path of bad) {
      const err = await expectCode(s.backend.write(path, text('v')), 'COFRE_INPUT_INVALID');
      if (/[^A-Za-z0-9_.\-/+=:,]/.test(path)) expect(err.message).not.toContain(path);
      await expectCode(s.backend.read(path, { kind: 'latest' }), 'COFRE_INPUT_INVALID');
    }
    await s.backend.write('x'.repeat(512), text('v'));
  });

  it('rejects a stage it does not know', async () => {
    const s = await newStore();
    await s.backend.write('k', text('v'));
    await expectCode(
      s.backend.write('k', text('v'), { stage: 'bogus' } as unknown as WriteOptions),
      'COFRE_INPUT_INVALID',
    );
    await expectCode(s.backend.moveStage('k', 'bogus' as Stage, '1'), 'COFRE_INPUT_INVALID');
  });

  it('copies values on write and hands out copies on read', async () => {
    const s = await newStore();
    const value = text('original');
    const pending = s.backend.write('k', value);
    value.zero(); // the caller zeroes right after calling, before the write has finished
    await pending;
    const first = await s.backend.read('k', { kind: 'latest' });
    first.value.bytes().fill(0x41);
    expect((await s.backend.read('k', { kind: 'latest' })).value.text()).toBe('original');
  });

  it('sees writes from another instance at once: nothing is cached', async () => {
    const s = await newStore();
    const other = await reopen(s);
    await s.backend.write('k', text('one'));
    expect((await other.read('k', { kind: 'latest' })).value.text()).toBe('one');
    await other.write('k', text('two'));
    expect((await s.backend.read('k', { kind: 'latest' })).value.text()).toBe('two');
  });

  it("sees another instance's promotion at once in describe and in reads (hot reload polls describe)", async () => {
    const s = await newStore();
    const other = await reopen(s);
    await s.backend.write('k', text('old'));
    expect((await s.backend.describe('k')).stages).toEqual({ current: '1' });
    const pending = await other.write('k', text('new'), { stage: 'pending' });
    expect((await s.backend.describe('k')).stages).toEqual({ current: '1', pending });
    expect((await s.backend.read('k', { kind: 'latest' })).value.text()).toBe('old');
    await other.moveStage('k', 'current', pending);
    expect((await s.backend.describe('k')).stages).toEqual({ current: pending, previous: '1' });
    expect((await s.backend.read('k', { kind: 'latest' })).value.text()).toBe('new');
  });

  it('keeps every concurrent write in one process, across instances too', async () => {
    const s = await newStore({ maxVersions: 100 });
    const other = await reopen(s);
    const writes = Array.from({ length: 24 }, (_, i) =>
      (i % 2 === 0 ? s.backend : other).write(i % 3 === 0 ? 'shared' : `own/${i}`, text(`v${i}`)),
    );
    await Promise.all(writes);
    const shared = await s.backend.describe('shared');
    expect(shared.versions.map((v) => v.version)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
    expect((await s.backend.list()).length).toBe(1 + 16);
  });

  it('creates a key file with mode 0600, reuses an existing one, and refuses to overwrite a store', async () => {
    const s = await newStore();
    expect((await stat(s.keyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(s.store)).mode & 0o777).toBe(0o600);
    expect((await readFile(s.keyFile)).length).toBe(32);
    await s.backend.write('k', text('keep-me'));
    const before = await readFile(s.store);
    await expectCode(
      EmbeddedBackend.create(s.store, { kind: 'key-file', path: s.keyFile }),
      'COFRE_STORE_EXISTS',
    );
    expect((await readFile(s.store)).equals(before)).toBe(true);

    // Two creates racing for one path: exactly one wins, the other is refused.
    const dir = await makeTempDir();
    const results = await Promise.allSettled([
      EmbeddedBackend.create(join(dir, 'race.cofre'), { kind: 'key-file', path: join(dir, 'race.key') }),
      EmbeddedBackend.create(join(dir, 'race.cofre'), { kind: 'key-file', path: join(dir, 'race.key') }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected');
    expect(isCofreError(rejected?.reason, 'COFRE_STORE_EXISTS')).toBe(true);
  });

  it('reports a missing store as COFRE_STORE_NOT_FOUND', async () => {
    const dir = await makeTempDir();
    await writeFile(join(dir, 'k'), Buffer.alloc(32, 7), { mode: 0o600 });
    await expectCode(
      EmbeddedBackend.open(join(dir, 'nope.cofre'), { kind: 'key-file', path: join(dir, 'k') }),
      'COFRE_STORE_NOT_FOUND',
    );
  });

  it('reopens a passphrase store with the scrypt parameters kept in its header', async () => {
    const dir = await makeTempDir();
    const store = join(dir, 'pass.cofre');
    await writeFile(join(dir, 'pass'), 'correct horse battery staple\n', { mode: 0o600 });
    const created = await EmbeddedBackend.create(
      store,
      { kind: 'passphrase-file', path: join(dir, 'pass') },
      { scrypt: { N: 1024 } },
    );
    await created.write('k', text('v'));
    expect((await readFile(store)).toString('latin1')).toContain(
      '"kdf":{"name":"scrypt","N":1024,"r":8,"p":1}',
    );
    // The prompt returns the passphrase without the newline the file had: the same key.
    const reopened = await EmbeddedBackend.open(store, {
      kind: 'passphrase-prompt',
      prompt: () => Promise.resolve(Buffer.from('correct horse battery staple')),
    });
    expect((await reopened.read('k', { kind: 'latest' })).value.text()).toBe('v');
    await expectCode(
      EmbeddedBackend.create(
        join(dir, 'weak.cofre'),
        { kind: 'passphrase-file', path: join(dir, 'pass') },
        {
          scrypt: { N: 16 },
        },
      ),
      'COFRE_INPUT_INVALID',
    );
  });

  it('close waits for queued writes, is idempotent, and later calls fail with COFRE_BACKEND_CLOSED', async () => {
    const s = await newStore();
    const write = s.backend.write('k', text('v'));
    await s.backend.close();
    await s.backend.close();
    expect(await write).toBe('1');
    await expectCode(s.backend.read('k', { kind: 'latest' }), 'COFRE_BACKEND_CLOSED');
    await expectCode(s.backend.write('k', text('v')), 'COFRE_BACKEND_CLOSED');
    expect((await (await reopen(s)).read('k', { kind: 'latest' })).value.text()).toBe('v');
  });

  it('removes temp files left by a killed writer on the next write', async () => {
    const s = await newStore();
    const stray = join(s.dir, '.store.cofre.4242.0123456789abcdef.tmp');
    await writeFile(stray, 'half a store');
    await s.backend.write('k', text('v'));
    expect((await readdir(s.dir)).sort()).toEqual(['store.cofre', 'store.key']);
  });

  it('reports a store replaced under an open backend as COFRE_STORE_WRONG_KEY', async () => {
    const s = await newStore();
    const replacement = await newStore();
    await replacement.backend.write('k', text('v'));
    await writeFile(s.store, await readFile(replacement.store));
    await expectCode(s.backend.list(), 'COFRE_STORE_WRONG_KEY');
  });
});
