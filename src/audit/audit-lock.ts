/**
 * The lock that lets several processes append to one audit log (`cofre serve` and `cofre approval approve` on the
 * same host): a file `<log>.lock` created with O_EXCL and holding the holder's pid. Held only around one batch (a
 * write and its sync, or a rotation), so it is short; a lock left by a process that died is removed.
 *
 * SECURITY: every append re-reads the chain head under this lock when another process has written, so two writers
 * never both extend the same record (which would fork the chain). Not a defence against a hostile local user who
 * can write the folder (mode 700): such a user can rewrite the log anyway; checkpoints and witnesses cover that.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';

import { CofreError } from '../errors.js';

/** Options of {@link AuditLock}. */
export interface AuditLockOptions {
  /** Give up after this long (ms). Default 10 s: a batch takes milliseconds; longer means a stuck or foreign holder. */
  readonly timeoutMs?: number;
}

/** An exclusive lock file beside the log. One holder per process at a time: the writer serialises its batches. */
export class AuditLock {
  readonly path: string;
  readonly #timeoutMs: number;
  readonly #waitPath: string;
  #held = false;
  #heldSince = 0;
  #checkedWaiters = 0;
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(logPath: string, options: AuditLockOptions = {}) {
    this.path = `${logPath}.lock`;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#waitPath = `${this.path}.wait`;
  }

  /**
   * Takes the lock, retrying with backoff (1 ms doubling to 4 ms). Removes a lock whose pid is not a live process.
   * Throws `COFRE_AUDIT_UNAVAILABLE`, naming the lock file and its holder, after the timeout.
   *
   * Fairness: a busy process releases and retakes the lock between batches within microseconds, so a second process
   * polling for it could starve (`cofre approval approve` next to a busy `cofre serve`). A process that finds the
   * lock taken therefore leaves its pid in `<path>.lock.wait`, and a process about to take the lock first gives way
   * to a live waiter other than itself, for at most {@link YIELD_MS} per batch.
   */
  async acquire(): Promise<void> {
    await this.#giveWay();
    const started = Date.now();
    let wait = 1;
    let waiting = false;
    try {
      for (;;) {
        if (await this.#tryCreate(this.path)) return;
        const holder = await readPid(this.path);
        if (holder !== undefined && isStale(this.path, holder)) {
          await this.#removeStale(holder);
          continue;
        }
        if (Date.now() - started > this.#timeoutMs) {
          throw new CofreError(
            'COFRE_AUDIT_UNAVAILABLE',
            `the audit log is locked by ${holder === undefined ? 'an unknown process' : `process ${holder}`} (${this.path}) for more than ${this.#timeoutMs} ms; if no cofre process is running, remove ${this.path}`,
          );
        }
        if (!waiting) waiting = await this.#tryCreate(this.#waitPath).catch(() => false);
        await sleep(wait);
        wait = Math.min(4, wait * 2);
      }
    } finally {
      if (waiting) await removeOwn(this.#waitPath);
    }
  }

  /** Waits while another live process waits for the lock (bounded), so that it gets its turn. */
  async #giveWay(): Promise<void> {
    const started = Date.now();
    for (;;) {
      const waiter = await readPid(this.#waitPath);
      if (waiter === undefined) return;
      if (isStale(this.#waitPath, waiter)) {
        await unlink(this.#waitPath).catch(() => undefined);
        return;
      }
      if (waiter === process.pid || Date.now() - started > YIELD_MS) return;
      await sleep(1);
    }
  }

  /**
   * Takes the lock for a batch, unless this process still holds it from its previous batch. Creating and removing
   * the lock file per batch costs a journal commit on the next fdatasync (ext4 commits the folder's changes with
   * it): holding the lock across the batches of a busy process keeps one durable record at a time as cheap as
   * before. See {@link afterBatch} for when it is let go.
   */
  async hold(): Promise<void> {
    clearTimeout(this.#idleTimer);
    if (this.#held) return;
    await this.acquire();
    this.#held = true;
    this.#heldSince = Date.now();
  }

  /**
   * After a batch: keeps the lock for the next batch, unless the batch failed, it was held for {@link MAX_HOLD_MS}
   * already, or another process waits for it.
   */
  async afterBatch(ok: boolean): Promise<void> {
    if (!this.#held) return;
    if (!ok || Date.now() - this.#heldSince > MAX_HOLD_MS || (await this.#someoneWaits())) await this.letGo();
  }

  /** The writer has nothing queued: lets go after {@link IDLE_MS} unless another batch starts first. */
  idle(): void {
    if (!this.#held) return;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => void this.letGo().catch(() => undefined), IDLE_MS);
    this.#idleTimer.unref();
  }

  /** Releases the lock now if this process holds it. */
  async letGo(): Promise<void> {
    clearTimeout(this.#idleTimer);
    if (!this.#held) return;
    this.#held = false;
    await this.release();
  }

  /**
   * Whether another live process waits; looked at most once per millisecond. The wait file is usually missing: a
   * synchronous `existsSync` (one stat, no error object) answers that case for a few microseconds, where a failed
   * asynchronous read cost ten times as much on every batch of a busy writer.
   */
  async #someoneWaits(): Promise<boolean> {
    const now = Date.now();
    if (now - this.#checkedWaiters < 1) return false;
    this.#checkedWaiters = now;
    if (!existsSync(this.#waitPath)) return false;
    const waiter = await readPid(this.#waitPath);
    return waiter !== undefined && waiter !== process.pid && isAlive(waiter);
  }

  /** Releases the lock. A lock already gone (removed by hand) is not an error. */
  async release(): Promise<void> {
    await removeOwn(this.path);
  }

  /**
   * Creates `path` holding this process's pid, or returns false if it exists. The pid is written to a file of this
   * process's own first and linked into place (`link` fails if the name exists), so the lock never exists without
   * its pid: a process killed between creating the lock and writing it left an empty lock that no one could tell
   * from one being written, and every later writer waited for it until its timeout.
   */
  async #tryCreate(path: string): Promise<boolean> {
    const own = `${path}.${process.pid}`;
    await writeFile(own, `${process.pid}\n`, { mode: 0o600 });
    try {
      removeAtExit();
      createdHere.add(path);
      await link(own, path);
      return true;
    } catch (err) {
      createdHere.delete(path);
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      await unlink(own).catch(() => undefined);
    }
  }

  /**
   * Removes a dead holder's lock, after reading it once more: between the two reads another process may have
   * removed it and taken the lock itself. A narrow window remains (two processes removing the same dead lock at
   * the same instant); it needs a crash and two contenders within microseconds, and a fork it caused would be
   * reported by `cofre audit verify` (two records with the same seq).
   */
  async #removeStale(pid: number): Promise<void> {
    if ((await readPid(this.path)) !== pid) return;
    await removeOwn(this.path);
  }
}

/** How long a busy process keeps the lock across batches at most, before letting others have a turn. */
const MAX_HOLD_MS = 50;

/** How long an idle process keeps the lock, in case another batch follows at once. */
const IDLE_MS = 5;

/** How long a process about to take the lock gives way to a waiting one, at most, per batch. */
const YIELD_MS = 100;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The pid in a lock file; undefined while it is being written or when it is gone. */
async function readPid(path: string): Promise<number | undefined> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const pid = Number.parseInt(text, 10);
  return text.endsWith('\n') && Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Lock and wait files this process created and has not removed. A file holding this process's own pid that is not
 * here was left by an earlier process with the same pid: a container's cofre restarted as pid 1 after a crash
 * finds its own pid in the lock and would otherwise wait for itself.
 */
const createdHere = new Set<string>();

let exitHook = false;

/** A process that exits (normally, or by `process.exit`) while it holds a lock leaves none behind. */
function removeAtExit(): void {
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const path of createdHere) {
      try {
        unlinkSync(path);
      } catch {
        // gone already; a crash leaves a lock of a dead pid, removed by the next process
      }
    }
  });
}

function isStale(path: string, pid: number): boolean {
  return pid === process.pid ? !createdHere.has(path) : !isAlive(pid);
}

async function removeOwn(path: string): Promise<void> {
  createdHere.delete(path);
  await unlink(path).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
