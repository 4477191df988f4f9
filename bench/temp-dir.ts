// Temporary directories of the benchmark: removed by whoever made them, or at exit if the run stops early
// (an exception, Ctrl-C), so a benchmark never leaves stores, keys or logs behind.
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<string>();

process.once('exit', () => {
  for (const dir of live) {
    try {
      // A child killed a moment ago may still be writing: retry briefly rather than fail on ENOTEMPTY.
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    } catch (err) {
      // Never throw from an exit handler: the handlers after this one (and the other directories) still run.
      console.error(`could not remove ${dir}: ${(err as Error).message}`);
    }
  }
});

/** A fresh directory under the system temp dir (mode 700), removed at exit unless removed before. */
export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  live.add(dir);
  return dir;
}

/** Removes a directory made by {@link makeTempDir}. */
export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  live.delete(dir);
}
