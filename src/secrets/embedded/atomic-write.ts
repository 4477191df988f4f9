import { randomBytes } from 'node:crypto';
import { type FileHandle, link, mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { CofreError } from '../../errors.js';

/** Options for {@link atomicWrite}. */
export interface AtomicWriteOptions {
  /**
   * `true` replaces an existing file (rename); `false` fails with `COFRE_STORE_EXISTS` when the target exists
   * (hard link, which like `O_EXCL` never replaces).
   */
  readonly overwrite: boolean;
}

// errno codes that mean "out of space" in one form or another; reported as such so an operator knows what to fix.
const DISK_FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/**
 * Replaces `target` with `data` so that a crash at any moment leaves either the old file or the new one, never a
 * torn mix:
 * - the data goes to a temp file in the same directory (same filesystem, so the rename is atomic), mode 0600;
 * - the temp file is fsynced before the rename, so the name never points at blocks not yet on disk;
 * - the directory is fsynced after the rename, so the new name survives a power cut.
 *
 * On any failure before the rename (disk full, quota, I/O error) the temp file is removed and the target is
 * untouched; the error is `COFRE_STORE_WRITE_FAILED` with the errno code in `details`. A temp file left by a
 * process killed mid-write is harmless (readers never look at it) and is removed by {@link removeStrayTempFiles}.
 *
 * Not safe against concurrent writers of the same target by itself: callers hold the store lock.
 */
export async function atomicWrite(target: string, data: Buffer, options: AtomicWriteOptions): Promise<void> {
  const dir = dirname(target);
  const temp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, 'wx', 0o600);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    if (options.overwrite) {
      await rename(temp, target);
    } else {
      await link(temp, target);
      await unlink(temp);
    }
  } catch (err) {
    await handle?.close().catch(ignore);
    await unlink(temp).catch(ignore);
    const code = errnoCode(err);
    if (code === 'EEXIST' && !options.overwrite) {
      throw new CofreError('COFRE_STORE_EXISTS', `refusing to overwrite the existing file ${target}`, {
        cause: err,
        details: { path: target },
      });
    }
    const why = code !== undefined && DISK_FULL.has(code) ? ' (disk full or over quota)' : '';
    throw new CofreError(
      'COFRE_STORE_WRITE_FAILED',
      `could not write ${target}: ${code ?? 'error'}${why}; the previous file is unchanged`,
      { cause: err, details: { path: target, errno: code } },
    );
  }
  try {
    await fsyncDirectory(dir);
  } catch (err) {
    const code = errnoCode(err);
    throw new CofreError(
      'COFRE_STORE_WRITE_FAILED',
      `wrote ${target} but could not sync its directory (${code ?? 'error'}); the new contents may not survive a power loss`,
      { cause: err, details: { path: target, errno: code } },
    );
  }
}

/**
 * Creates `dir` and its missing parents with mode 0700 (existing ones are left as they are). Throws
 * `COFRE_STORE_WRITE_FAILED` when it cannot.
 */
export async function makePrivateDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new CofreError(
      'COFRE_STORE_WRITE_FAILED',
      `could not create the directory ${dir} (${errnoCode(err) ?? 'error'})`,
      {
        cause: err,
        details: { path: dir, errno: errnoCode(err) },
      },
    );
  }
}

/**
 * Flushes a directory's entries (new names, renames) to disk. Platforms that cannot fsync a directory (Windows,
 * some network filesystems) answer EISDIR, EINVAL, EPERM or ENOTSUP; that is not an error there, the rename is as
 * durable as the platform makes it.
 */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = errnoCode(err);
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'ENOTSUP') throw err;
  } finally {
    await handle?.close().catch(ignore);
  }
}

/**
 * Removes temp files {@link atomicWrite} left for `target` (a writer killed between creating and renaming one).
 * Call only while holding the store lock: then no other writer can be writing one. Returns how many it removed.
 * Never fails: a temp file that cannot be removed is only wasted space, and the write that calls this must not
 * fail because of it.
 */
export async function removeStrayTempFiles(target: string): Promise<number> {
  const dir = dirname(target);
  const prefix = `.${basename(target)}.`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    if (!name.startsWith(prefix) || !/^\d+\.[0-9a-f]{16}\.tmp$/.test(name.slice(prefix.length))) continue;
    try {
      await unlink(join(dir, name));
      removed++;
    } catch {
      // Gone already or not ours to remove; either way nothing to do.
    }
  }
  return removed;
}

/** The `code` of a Node system error (`ENOENT`, `ENOSPC`, …), if `err` is one. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string')
    return err.code;
  return undefined;
}

function ignore(): void {
  // Best-effort cleanup on an error path that already reports the first failure.
}
