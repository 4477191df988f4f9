import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const created: string[] = [];

/** A fresh private directory under the OS temp dir (never assumed to be tmpfs); see {@link removeTempDirs}. */
export async function makeTempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cofre-embedded-'));
  created.push(dir);
  return dir;
}

/** Removes every directory {@link makeTempDir} made in this test file; call from `afterAll`. */
export async function removeTempDirs(): Promise<void> {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}
