/**
 * The rotated files of an audit log (`<path>.000001`, `<path>.000002`, …; see `rotatedPath`) and their retention.
 */
import { readdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { rotatedPath } from './audit-format.js';

/** One rotated file. */
export interface RotatedFile {
  readonly n: number;
  readonly path: string;
}

/** The rotated files of the log at `path`, oldest (lowest number) first. */
export async function listRotated(path: string): Promise<RotatedFile[]> {
  const prefix = `${basename(path)}.`;
  const names = await readdir(dirname(path)).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [] as string[];
    throw err;
  });
  return names
    .filter((name) => name.startsWith(prefix) && /^\d{6,}$/.test(name.slice(prefix.length)))
    .map((name) => ({ n: Number(name.slice(prefix.length)), path: join(dirname(path), name) }))
    .filter((f) => Number.isSafeInteger(f.n) && f.path === rotatedPath(path, f.n))
    .sort((a, b) => a.n - b.n);
}

/**
 * Removes rotated files beyond the newest `keep`, and those last written more than `maxAgeMs` ago. The current file
 * is never removed. Returns the paths removed.
 */
export async function pruneRotated(
  path: string,
  policy: { readonly keep: number; readonly maxAgeMs?: number | undefined; readonly now: Date },
): Promise<string[]> {
  const files = await listRotated(path);
  const doomed = new Set(files.slice(0, Math.max(0, files.length - policy.keep)).map((f) => f.path));
  if (policy.maxAgeMs !== undefined) {
    const oldest = policy.now.getTime() - policy.maxAgeMs;
    for (const f of files) {
      const info = await stat(f.path).catch(() => undefined);
      if (info !== undefined && info.mtimeMs < oldest) doomed.add(f.path);
    }
  }
  const removed: string[] = [];
  for (const p of doomed) {
    await unlink(p).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    });
    removed.push(p);
  }
  return removed;
}
