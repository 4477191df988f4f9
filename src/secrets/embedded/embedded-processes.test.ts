import type { ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, describe, expect, it } from 'vitest';

import { SecretValue } from '../secret-value.js';
import { EmbeddedBackend } from './embedded-backend.js';
import { spawnTsx, testdataScript, waitForExit, waitForLine } from './testdata/spawn-tsx.js';
import { makeTempDir, removeTempDirs } from './testdata/temp-dirs.js';
import { valueFor } from './testdata/values.js';

afterAll(removeTempDirs);

const WRITER = testdataScript('store-writer.ts');

async function newStore(): Promise<{ store: string; keyFile: string; dir: string }> {
  const dir = await makeTempDir();
  const store = join(dir, 'store.cofre');
  const keyFile = join(dir, 'store.key');
  const backend = await EmbeddedBackend.create(store, { kind: 'key-file', path: keyFile });
  await backend.close();
  return { store, keyFile, dir };
}

/** Every secret in the store reads back as the value the writers derive from its name. */
async function expectConsistent(backend: EmbeddedBackend): Promise<string[]> {
  const paths = await backend.list();
  for (const path of paths) {
    const match = /^(.+)\/(\d+)$/.exec(path);
    expect(match, `unexpected path ${path}`).not.toBeNull();
    const [, prefix, index] = match!;
    const record = await backend.read(path, { kind: 'latest' });
    expect(record.value.bytes().equals(valueFor(prefix!, Number(index))), `value of ${path}`).toBe(true);
  }
  return [...paths];
}

describe('embedded store across processes', () => {
  it('keeps every secret of two writer processes running at once', async () => {
    const { store, keyFile } = await newStore();
    const writers = ['alpha', 'beta'].map((prefix) =>
      spawnTsx(WRITER, [
        JSON.stringify({
          store,
          keyFile,
          prefix,
          from: 0,
          count: 30,
          lockTimeoutMs: 30_000,
          waitForGo: true,
        }),
      ]),
    );
    await Promise.all(writers.map((w) => waitForLine(w, 'ready')));
    // Both are open before either writes, so their read-modify-write cycles interleave.
    for (const w of writers) w.stdin?.write('go\n');
    const exits = await Promise.all(writers.map(waitForExit));
    expect(exits).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);

    const backend = await EmbeddedBackend.open(store, { kind: 'key-file', path: keyFile });
    const paths = await expectConsistent(backend);
    expect(paths).toHaveLength(60);
    for (const prefix of ['alpha', 'beta']) {
      for (let i = 0; i < 30; i++) expect(paths).toContain(`${prefix}/${i}`);
    }
  });

  it('survives kill -9 at random moments: old or new store, never torn; the next writer takes over', async () => {
    const { store, keyFile, dir } = await newStore();
    const rounds = 30;
    // Each round's writer is spawned during the previous round and waits for "go", to hide Node start-up time.
    const spawnRound = (round: number): { child: ChildProcess; started: Promise<void> } => {
      const child = spawnTsx(WRITER, [
        JSON.stringify({
          store,
          keyFile,
          prefix: `round-${round}`,
          from: 0,
          count: -1,
          lockTimeoutMs: 30_000,
          waitForGo: true,
        }),
      ]);
      const started = waitForLine(child, 'started');
      started.catch(() => undefined); // awaited below; this only keeps an early exit from being "unhandled"
      return { child, started };
    };
    let next = spawnRound(0);
    for (let round = 0; round < rounds; round++) {
      const prefix = `round-${round}`;
      const { child, started } = next;
      child.stdin?.write('go\n');
      if (round + 1 < rounds) next = spawnRound(round + 1);
      await started;
      // Random point within the next few writes: lock, read, encrypt, temp write, fsync, rename or unlock.
      await sleep(Math.random() * 40);
      child.kill('SIGKILL');
      // Reaped, so its pid is dead (a zombie would still answer kill(pid, 0)).
      expect(await waitForExit(child)).toEqual({ code: null, signal: 'SIGKILL' });

      const backend = await EmbeddedBackend.open(
        store,
        { kind: 'key-file', path: keyFile },
        { lockTimeoutMs: 5_000 },
      );
      const paths = await expectConsistent(backend);
      // The child writes one secret at a time, so what survived is a gap-free prefix of its writes.
      const mine = paths
        .filter((p) => p.startsWith(`${prefix}/`))
        .map((p) => Number(p.slice(prefix.length + 1)));
      expect(mine.length).toBeGreaterThan(0);
      expect(Math.max(...mine)).toBe(mine.length - 1);
      // Earlier rounds are all still there.
      for (let r = 0; r < round; r++) expect(paths.some((p) => p.startsWith(`round-${r}/`))).toBe(true);

      // The next writer gets the (possibly stale) lock, and cleans up temp files of the killed one.
      await backend.write(`parent/${round}`, SecretValue.adopt(valueFor('parent', round)));
      const leftovers = (await readdir(dir)).filter((n) => n !== 'store.cofre' && n !== 'store.key');
      expect(leftovers).toEqual([]);
      await backend.close();
    }
  }, 120_000);
});
