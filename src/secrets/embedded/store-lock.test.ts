import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { isCofreError } from '../../errors.js';
import { SecretValue } from '../secret-value.js';
import { EmbeddedBackend } from './embedded-backend.js';
import { acquireStoreLock } from './store-lock.js';
import { spawnTsx, testdataScript, waitForExit, waitForLine } from './testdata/spawn-tsx.js';
import { makeTempDir, removeTempDirs } from './testdata/temp-dirs.js';

afterAll(removeTempDirs);

async function newStore(
  lockTimeoutMs: number,
): Promise<{ backend: EmbeddedBackend; store: string; dir: string }> {
  const dir = await makeTempDir();
  const store = join(dir, 'store.cofre');
  const backend = await EmbeddedBackend.create(
    store,
    { kind: 'key-file', path: join(dir, 'store.key') },
    { lockTimeoutMs },
  );
  return { backend, store, dir };
}

/** The pid of a process that has exited and been reaped: as dead as a pid gets. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid;
  await waitForExit(child);
  if (pid === undefined) throw new Error('spawn gave no pid');
  return pid;
}

const lockRecord = (pid: number, host = hostname()): string =>
  `${JSON.stringify({ pid, host, token: 'f'.repeat(32) })}\n`;

describe('store lock', () => {
  it('fails with COFRE_STORE_LOCKED after the timeout while a live process holds the lock', async () => {
    const { backend, store } = await newStore(300);
    await backend.write('before', SecretValue.fromText('v'));
    const before = await readFile(store);
    const holder = spawnTsx(testdataScript('lock-holder.ts'), [store]);
    try {
      await waitForLine(holder, 'locked');
      const err = await backend.write('blocked', SecretValue.fromText('v')).catch((e: unknown) => e);
      expect(isCofreError(err, 'COFRE_STORE_LOCKED'), inspect(err)).toBe(true);
      expect((err as { details: { pid: number } }).details.pid).toBe(holder.pid);
      expect((err as { retryable: boolean }).retryable).toBe(true);
      expect((await readFile(store)).equals(before)).toBe(true);
      // Reads take no lock.
      expect(await backend.list()).toEqual(['before']);
    } finally {
      holder.stdin?.end();
      await waitForExit(holder);
    }
    await backend.write('after', SecretValue.fromText('v'));
    expect(await backend.list()).toEqual(['after', 'before']);
  });

  it('takes over a lock whose process is dead', async () => {
    const { backend, store, dir } = await newStore(5_000);
    await writeFile(`${store}.lock`, lockRecord(await deadPid()));
    await writeFile(join(dir, `.store.cofre.lock.${await deadPid()}.0123456789abcdef.locktmp`), 'stray');
    await backend.write('k', SecretValue.fromText('v'));
    expect((await readdir(dir)).sort()).toEqual(['store.cofre', 'store.key']);
  });

  it('takes over a lock file that does not hold a lock record', async () => {
    const { backend, store } = await newStore(5_000);
    for (const junk of ['', '{"pid":0,"host":"h","token":"t"}', 'not json']) {
      await writeFile(`${store}.lock`, junk);
      await backend.write('k', SecretValue.fromText('v'));
    }
  });

  it('waits for a lock held on another host, whose pid it cannot check', async () => {
    const { backend, store } = await newStore(100);
    await writeFile(`${store}.lock`, lockRecord(await deadPid(), `not-${hostname()}`));
    const err = await backend.write('k', SecretValue.fromText('v')).catch((e: unknown) => e);
    expect(isCofreError(err, 'COFRE_STORE_LOCKED'), inspect(err)).toBe(true);
  });

  it('releases only its own lock', async () => {
    const dir = await makeTempDir();
    const store = join(dir, 'store.cofre');
    const lock = await acquireStoreLock(store, { timeoutMs: 1_000 });
    // Someone (wrongly) replaced it: releasing must not remove the other holder's lock.
    await writeFile(`${store}.lock`, lockRecord(process.pid));
    await lock.release();
    expect(await readFile(`${store}.lock`, 'utf8')).toBe(lockRecord(process.pid));
  });
});
