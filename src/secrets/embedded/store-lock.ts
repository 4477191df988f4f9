import { randomBytes } from 'node:crypto';
import { link, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { CofreError } from '../../errors.js';
import { errnoCode } from './atomic-write.js';

/** Options for {@link acquireStoreLock}. */
export interface StoreLockOptions {
  /** How long to wait for a live holder before failing with `COFRE_STORE_LOCKED`. */
  readonly timeoutMs: number;
}

/** A held store lock. */
export interface StoreLock {
  /** Removes the lock file if it is still ours. Never throws; safe to call twice. */
  release(): Promise<void>;
}

/** What a lock file holds (one JSON line). Not secret: it names a process, not a store's contents. */
interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
}

// Backoff while a live writer holds the lock: start short (a store write takes a few milliseconds), grow to a
// ceiling so a long wait does not spin, and jitter so two waiters do not retry in lockstep.
const FIRST_DELAY_MS = 5;
const MAX_DELAY_MS = 200;

/**
 * Takes the writer lock of the store at `storePath`: the file `<store>.lock` next to it, holding the pid, host and
 * a random token of its owner.
 *
 * How it works:
 * - The lock file is created atomically *with* its content: the holder record is written to a private temp file
 *   that is then hard-linked to the lock name. `link` fails with EEXIST like `O_EXCL` does, and a reader never
 *   sees a half-written lock file (a plain `O_EXCL` create followed by a write leaves an empty file behind when the
 *   writer is killed in between, and an empty file cannot be told from one being written).
 * - A lock whose pid is dead on this host is stale (its owner crashed or was killed) and is taken over. A lock
 *   from another host, or whose pid is alive, is waited on with backoff up to `timeoutMs`, then
 *   `COFRE_STORE_LOCKED`. A lock file that cannot be parsed was not written by cofre's protocol (or the machine
 *   lost power before it reached disk) and is treated as stale.
 *
 * Known limits (documented, not handled):
 * - Takeover race: a waiter re-reads a stale lock and unlinks it only if its token is unchanged, but POSIX has no
 *   compare-and-unlink. If a second waiter unlinks the same stale lock and creates its own in the microseconds
 *   between the first waiter's re-read and unlink, the first removes the *new* lock and both write. It takes a
 *   crashed holder and two waiters judging it stale at the same instant; the consequence is one lost update.
 * - A recycled pid makes a stale lock look live until the timeout; the operator sees `COFRE_STORE_LOCKED` with the
 *   pid and can remove the lock file.
 * - Processes in different pid namespaces (two containers sharing a volume) must not share a store: each sees the
 *   other's pids as dead. Hostname differs between containers by default, which makes the lock wait instead.
 *
 * Concurrency: serializes processes; within one process the backend also chains its writes, because a second
 * acquire from the same process would wait for itself (its own pid is alive) until the timeout.
 */
export async function acquireStoreLock(storePath: string, options: StoreLockOptions): Promise<StoreLock> {
  const lockPath = `${storePath}.lock`;
  const self: LockHolder = { pid: process.pid, host: hostname(), token: randomBytes(16).toString('hex') };
  const deadline = Date.now() + options.timeoutMs;
  let delay = FIRST_DELAY_MS;
  let holder: LockHolder | undefined;
  await removeStrayLockTemps(storePath);
  for (;;) {
    if (await tryCreate(lockPath, self)) {
      return { release: () => release(lockPath, self.token) };
    }
    const seen = await readHolder(lockPath);
    if (seen === 'unreadable' || (seen !== 'missing' && isStale(seen))) {
      await removeStaleLock(lockPath, seen);
      continue;
    }
    // 'missing': released between our attempt and the read, so retry at once; otherwise a live holder.
    if (seen !== 'missing') holder = seen;
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      const who = holder === undefined ? 'another process' : `process ${holder.pid} on ${holder.host}`;
      throw new CofreError(
        'COFRE_STORE_LOCKED',
        `store ${storePath} is locked by ${who}; gave up after ${options.timeoutMs} ms` +
          ` (if that process is gone, remove ${lockPath})`,
        { details: { path: storePath, lockPath, pid: holder?.pid, host: holder?.host } },
      );
    }
    if (seen !== 'missing') {
      await sleep(Math.min(remaining, delay * (0.5 + Math.random())));
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  }
}

/** True when `pid` names a live process on this host (EPERM: alive but not ours to signal). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

async function tryCreate(lockPath: string, self: LockHolder): Promise<boolean> {
  const temp = lockTempPath(lockPath, self);
  try {
    await writeFile(temp, `${JSON.stringify(self)}\n`, { mode: 0o600, flag: 'wx' });
    await link(temp, lockPath);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false;
    throw new CofreError(
      'COFRE_STORE_WRITE_FAILED',
      `could not create the lock file ${lockPath} (${errnoCode(err) ?? 'error'})`,
      { cause: err, details: { path: lockPath, errno: errnoCode(err) } },
    );
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

async function release(lockPath: string, token: string): Promise<void> {
  const seen = await readHolder(lockPath);
  // Only remove our own lock: if it was (wrongly) taken over, the new holder's lock must survive.
  if (seen !== 'missing' && seen !== 'unreadable' && seen.token === token) {
    await unlink(lockPath).catch(() => undefined);
  }
}

async function readHolder(lockPath: string): Promise<LockHolder | 'missing' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (err) {
    return errnoCode(err) === 'ENOENT' ? 'missing' : 'unreadable';
  }
  try {
    const raw: unknown = JSON.parse(text);
    if (typeof raw === 'object' && raw !== null) {
      const { pid, host, token } = raw as Record<string, unknown>;
      // pid must be positive: kill(0) and kill(-n) signal process groups, never a single process.
      if (typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0) {
        if (typeof host === 'string' && typeof token === 'string') return { pid, host, token };
      }
    }
  } catch {
    // fall through
  }
  return 'unreadable';
}

function isStale(holder: LockHolder): boolean {
  return holder.host === hostname() && !isProcessAlive(holder.pid);
}

async function removeStaleLock(lockPath: string, seen: LockHolder | 'unreadable'): Promise<void> {
  // Re-read right before unlinking, so a lock that changed hands since the first read is left alone (see the race
  // documented on acquireStoreLock).
  const again = await readHolder(lockPath);
  const unchanged =
    again === 'unreadable'
      ? seen === 'unreadable'
      : again !== 'missing' && seen !== 'unreadable' && again.token === seen.token;
  if (!unchanged) return;
  try {
    await unlink(lockPath);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw new CofreError(
      'COFRE_STORE_WRITE_FAILED',
      `could not remove the stale lock file ${lockPath} (${errnoCode(err) ?? 'error'})`,
      { cause: err, details: { path: lockPath, errno: errnoCode(err) } },
    );
  }
}

function lockTempPath(lockPath: string, self: LockHolder): string {
  return join(dirname(lockPath), `.${basename(lockPath)}.${self.pid}.${self.token.slice(0, 16)}.locktmp`);
}

// A process killed between writing its lock temp file and unlinking it leaves one behind; remove those of dead
// processes. Best effort: a leftover temp file wastes a few bytes and blocks nothing.
async function removeStrayLockTemps(storePath: string): Promise<void> {
  const dir = dirname(storePath);
  const prefix = `.${basename(storePath)}.lock.`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const match = /^(\d+)\.[0-9a-f]{16}\.locktmp$/.exec(name.slice(prefix.length));
    if (match?.[1] !== undefined && !isProcessAlive(Number(match[1]))) {
      await unlink(join(dir, name)).catch(() => undefined);
    }
  }
}
