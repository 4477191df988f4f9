/**
 * The tamper-evident audit log (issue 10): hash-chained records in the format of `audit-format.ts`, written with
 * group commit, signed checkpoints copied to witnesses, rotation, crash recovery, and several processes on one log.
 * docs/audit.md describes the guarantees for operators and auditors.
 */
import type { KeyObject } from 'node:crypto';
import { fstatSync, statSync } from 'node:fs';
import { type FileHandle, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

import type { AuditConfig } from '../config/config-schema.js';
import { ensurePrivateFolder, type PrivateFileFixed, securePrivateFile } from '../config/private-file.js';
import { CofreError } from '../errors.js';
import { type AuditFileOps, nodeFileOps } from './audit-file-ops.js';
import {
  AUDIT_SCHEMA_VERSION,
  type AuditRecordKind,
  recordHash,
  recordLine,
  rotatedPath,
} from './audit-format.js';
import { AuditLock } from './audit-lock.js';
import type { AppendOptions, AuditEvent, AuditSink } from './audit-log.js';
import { listRotated, pruneRotated } from './audit-rotation.js';
import { type ChainCursor, type ChainLead, locateChainEnd } from './chain-position.js';
import { CheckpointSigner, unsignedCheckpoint } from './checkpoint-signer.js';
import type { WitnessSink } from './witness-sink.js';

/** Where the writer reports what an operator must see (a pino logger fits). Never given a secret. */
export interface AuditLogReporter {
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

/** Options of {@link ChainedAuditLog}. */
export interface ChainedAuditLogOptions {
  /** Ed25519 private key (`KeyObject` or PKCS#8 PEM) signing checkpoints; without it checkpoints are `unsigned`. */
  readonly signingKey?: KeyObject | Buffer | undefined;
  readonly now?: () => Date;
  readonly onModeFixed?: (fixed: PrivateFileFixed) => void;
  /** Copies of every checkpoint line outside the log (see `createWitnesses`). */
  readonly witnesses?: readonly WitnessSink[];
  /** Default: process warnings (stderr). */
  readonly reporter?: AuditLogReporter;
  /** Test seam for the write and the sync of a batch. */
  readonly fileOps?: AuditFileOps;
  readonly lockTimeoutMs?: number;
}

/** The parts of the `audit` config section the writer uses. */
export type ChainedAuditLogConfig = Pick<AuditConfig, 'path' | 'checkpoint' | 'rotate'>;

interface Pending {
  readonly event: AuditEvent | undefined; // undefined: a checkpoint asked for (timer, close), or a flush
  /** Settle once written, before the sync (`AppendOptions.wait: 'written'`). */
  readonly written: boolean;
  /** A deferred sync of earlier written-only batches, asked for by the flush timer; writes no record. */
  readonly flush: boolean;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

interface Head extends ChainCursor {
  readonly ino: number;
}

const CHAIN_KINDS: ReadonlySet<string> = new Set(['genesis', 'continue', 'checkpoint']);

/**
 * How long written-only records may wait for their sync when no durable record comes along. They are already in
 * the file (a killed process loses nothing); only a power failure within this window can lose them, and what they
 * record is repaired from the durable intent before them (`broker/restore-from-audit.ts`, then the reconciliation).
 */
const FLUSH_DELAY_MS = 10;

/**
 * An {@link AuditSink} writing the hash-chained log.
 *
 * - `append` resolves once the record is durable (written and fdatasync'ed); concurrent appends share one write and
 *   one sync (a batch is everything queued while the previous batch was written). An append with
 *   `{ wait: 'written' }` resolves once written; a batch of such appends alone is not synced at once but by the
 *   next batch that is, or by a flush at most {@link FLUSH_DELAY_MS} later, so a request path that needs one
 *   durable record (its intent) pays one fdatasync, not one per record. A batch holding a checkpoint is always
 *   synced (witnesses must never hold a checkpoint the log could lose). Records take seq numbers in the
 *   order `append` was called. A failed write or sync rejects every append of its batch with
 *   `COFRE_AUDIT_UNAVAILABLE`; the batch's bytes are truncated away, and if that too fails the next batch cuts a torn
 *   line (whole records of a failed batch may then stay in the chain, unacknowledged: the broker refused their
 *   actions). Later appends retry: the log recovers when the disk does.
 * - Each batch runs under `<path>.lock`; when the file changed since this process's last batch (another process
 *   wrote), the chain head is re-read from the file's last record.
 * - Safe to call concurrently; `close` waits for queued appends and writes a final checkpoint.
 *
 * SECURITY: files are created 600 in folders created 700 and re-checked at each (re)open (`config/private-file.ts`);
 * the handle is reopened when the path no longer names it (deleted, rotated by another process).
 */
export class ChainedAuditLog implements AuditSink {
  readonly #path: string;
  readonly #config: ChainedAuditLogConfig;
  readonly #now: () => Date;
  readonly #onModeFixed: ((fixed: PrivateFileFixed) => void) | undefined;
  readonly #signer: CheckpointSigner | undefined;
  readonly #witnesses: readonly WitnessSink[];
  readonly #reporter: AuditLogReporter;
  readonly #ops: AuditFileOps;
  readonly #lock: AuditLock;
  readonly #timer: NodeJS.Timeout;
  #queue: Pending[] = [];
  #running: Promise<void> | undefined;
  #file: Promise<FileHandle> | undefined;
  #head: Head | undefined;
  #logId: string | undefined;
  /** Records this process wrote since its last checkpoint. */
  #since = 0;
  /** Written-only batches not yet synced, and the timer that will sync them. */
  #dirty = false;
  #flushTimer: NodeJS.Timeout | undefined;
  #closed: Promise<void> | undefined;

  constructor(config: ChainedAuditLogConfig, options: ChainedAuditLogOptions = {}) {
    this.#path = config.path;
    this.#config = config;
    this.#now = options.now ?? (() => new Date());
    this.#onModeFixed = options.onModeFixed;
    this.#signer = options.signingKey === undefined ? undefined : new CheckpointSigner(options.signingKey);
    this.#witnesses = options.witnesses ?? [];
    this.#reporter = options.reporter ?? processReporter;
    this.#ops = options.fileOps ?? nodeFileOps;
    this.#lock = new AuditLock(
      this.#path,
      options.lockTimeoutMs === undefined ? {} : { timeoutMs: options.lockTimeoutMs },
    );
    // A log left readable by an older version is restricted before anything else; other I/O errors surface at the
    // first append, as COFRE_AUDIT_UNAVAILABLE.
    try {
      this.#secure(false);
    } catch (err) {
      if (err instanceof CofreError) throw err;
    }
    this.#timer = setInterval(() => {
      if (this.#since > 0) this.checkpoint().catch(() => undefined); // reported by #commit
    }, config.checkpoint.interval);
    this.#timer.unref();
  }

  append(event: AuditEvent, options?: AppendOptions): Promise<void> {
    // SECURITY: records of the chain's own kinds come only from the writer, never from a caller.
    if (CHAIN_KINDS.has(event.kind)) {
      return Promise.reject(new Error(`an audit event cannot be of the chain's own kind ${event.kind}`));
    }
    return this.#enqueue(event, { written: options?.wait === 'written' });
  }

  /** Writes a checkpoint now if records were written since the last one; resolves once it is durable. */
  checkpoint(): Promise<void> {
    return this.#enqueue(undefined);
  }

  /** Waits for queued appends, writes a final checkpoint (if records were written since the last), closes. */
  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    clearInterval(this.#timer);
    clearTimeout(this.#flushTimer);
    let failure: Error | undefined;
    // A final checkpoint only when this process wrote since its last one: closing a log it never wrote to (a CLI
    // command that had nothing to record) leaves the file untouched.
    await this.#settled();
    if (this.#since > 0 || this.#dirty) {
      await this.#enqueue(undefined, { closing: true }).catch(
        (err: unknown) => (failure = err instanceof Error ? err : new Error(String(err))),
      );
      await this.#settled();
    }
    await this.#lock.letGo().catch(() => undefined);
    const file = this.#file;
    this.#file = undefined;
    await file?.then((f) => f.close()).catch(() => undefined);
    await Promise.allSettled(this.#witnesses.map((w) => w.close()));
    if (failure !== undefined) throw failure;
  }

  /** Resolves when no batch is queued or being written. */
  async #settled(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  #enqueue(
    event: AuditEvent | undefined,
    how: { readonly closing?: boolean; readonly written?: boolean; readonly flush?: boolean } = {},
  ): Promise<void> {
    if (this.#closed !== undefined && how.closing !== true) {
      return Promise.reject(
        new CofreError('COFRE_AUDIT_UNAVAILABLE', `the audit log ${this.#path} is closed`),
      );
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ event, written: how.written === true, flush: how.flush === true, resolve, reject });
      this.#running ??= this.#drain();
    });
  }

  /** Syncs written-only batches within {@link FLUSH_DELAY_MS}, unless a durable batch does it first. */
  #armFlush(): void {
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = undefined;
      if (this.#dirty && this.#closed === undefined) {
        this.#enqueue(undefined, { flush: true }).catch(() => undefined); // reported by #commit
      }
    }, FLUSH_DELAY_MS);
    this.#flushTimer.unref();
  }

  async #drain(): Promise<void> {
    // Start on a later tick, so that appends made in the same tick share the first batch too.
    await Promise.resolve();
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      await this.#commit(batch);
    }
    this.#running = undefined;
    this.#lock.idle();
  }

  /** Writes one batch under the lock; settles every item of it. Never throws. */
  async #commit(batch: readonly Pending[]): Promise<void> {
    let ok = false;
    try {
      // The folder may be new or gone; the lock file lives in it. Once the chain is known, it is there.
      if (this.#head === undefined) ensurePrivateFolder(this.#path);
      await this.#lock.hold();
      const { file, start, lead, ino } = await this.#prepare();
      const out = this.#render(start, lead, batch);
      const rotating = out.cursor.end >= this.#config.rotate.maxSize;
      const sync =
        lead !== undefined ||
        rotating ||
        out.checkpoints.length > 0 ||
        batch.some((item) => (item.flush ? this.#dirty : !item.written));
      try {
        await this.#ops.write(file, out.data);
        if (sync) {
          // Written-only items need not wait for the sync: settle them now.
          for (const item of batch) if (item.written && !out.unwritable.has(item)) item.resolve();
          await this.#ops.sync(file);
          this.#dirty = false;
          clearTimeout(this.#flushTimer);
          this.#flushTimer = undefined;
        } else {
          this.#dirty = true;
          this.#armFlush();
        }
        // A new file: its name in the folder must be as durable as its first records.
        if (lead !== undefined) await syncFolder(dirname(this.#path));
      } catch (err) {
        // Leave no partial batch for the next writer to find; if this fails too, the next batch cuts a torn line.
        await file.truncate(start.end).catch(() => undefined);
        throw err;
      }
      this.#head = { ...out.cursor, ino };
      this.#since = out.since;
      for (const item of batch) {
        const bad = out.unwritable.get(item);
        if (bad === undefined) item.resolve();
        else
          item.reject(
            new CofreError('COFRE_AUDIT_UNAVAILABLE', 'the audit event is not JSON', { cause: bad }),
          );
      }
      ok = true;
      this.#toWitnesses(out.checkpoints);
      if (rotating) await this.#rotate();
    } catch (err) {
      await this.#dropHandle();
      const failure = new CofreError(
        'COFRE_AUDIT_UNAVAILABLE',
        `cannot append to the audit log ${this.#path}`,
        {
          cause: err,
        },
      );
      this.#reporter.error({ path: this.#path, err: String(err) }, failure.message);
      for (const item of batch) item.reject(failure);
    } finally {
      await this.#lock.afterBatch(ok).catch(() => undefined);
    }
  }

  /** The file and the chain's end in it, re-read when another process (or a failure) changed the file. */
  async #prepare(): Promise<{
    file: FileHandle;
    start: ChainCursor;
    lead: ChainLead | undefined;
    ino: number;
  }> {
    const { file, ino, size } = await this.#current();
    const head = this.#head;
    if (head !== undefined && head.ino === ino && head.end === size)
      return { file, start: head, lead: undefined, ino };
    this.#head = undefined;
    const found = await locateChainEnd(file, this.#path, size, {
      logId: this.#logId,
      publicKeyPem: this.#signer?.publicKeyPem,
    });
    if (found === 'legacy') {
      await this.#setAsideLegacy();
      return this.#prepare();
    }
    if (found.torn > 0) {
      this.#reporter.warn(
        { path: this.#path, bytes: found.torn },
        `cut a torn last line (${found.torn} bytes) from the audit log ${this.#path}: a write was interrupted before it was acknowledged`,
      );
    }
    if (head !== undefined && found.cursor.seq < head.seq) {
      this.#reporter.error(
        { path: this.#path, expected: head.seq, found: found.cursor.seq },
        `the audit log ${this.#path} went back from seq ${head.seq} to ${found.cursor.seq}: records were removed behind cofre's back; run \`cofre audit verify\``,
      );
    }
    this.#logId = found.logId;
    if (this.#signer !== undefined && this.#logId === undefined) {
      throw new Error(`the first record of ${this.#path} names no logId, so checkpoints cannot be signed`);
    }
    return { file, start: found.cursor, lead: found.lead, ino };
  }

  /** The lines of one batch, with seq and prev assigned, and checkpoints where due. Changes no state. */
  #render(start: ChainCursor, lead: ChainLead | undefined, batch: readonly Pending[]) {
    const ts = this.#now().toISOString();
    const lines: string[] = [];
    const checkpoints: string[] = [];
    let { seq, prev } = start;
    let since = this.#since;
    const unwritable = new Map<Pending, unknown>();
    const add = (kind: AuditRecordKind, fields: Readonly<Record<string, unknown>>): string => {
      const line = recordLine({ v: AUDIT_SCHEMA_VERSION, seq, ts, prev, kind }, fields);
      lines.push(line);
      prev = recordHash(line);
      seq += 1;
      return line;
    };
    const checkpoint = (): void => {
      const fields =
        this.#signer === undefined
          ? unsignedCheckpoint({ seq, head: prev })
          : this.#signer.fields({ logId: this.#logId ?? '', seq, head: prev, ts });
      checkpoints.push(add('checkpoint', { ...fields }));
      since = 0;
    };
    if (lead !== undefined) add(lead.kind, lead.fields);
    for (const item of batch) {
      const { event } = item;
      if (item.flush) continue;
      if (event === undefined) {
        if (since > 0) checkpoint();
        continue;
      }
      try {
        add(event.kind, event as unknown as Readonly<Record<string, unknown>>);
      } catch (err) {
        unwritable.set(item, err); // not JSON (a BigInt, a cycle): refuse this event alone
        continue;
      }
      since += 1;
      if (since >= this.#config.checkpoint.every) checkpoint();
    }
    const data = Buffer.from(lines.length === 0 ? '' : `${lines.join('\n')}\n`, 'utf8');
    return { data, checkpoints, since, unwritable, cursor: { seq, prev, end: start.end + data.length } };
  }

  #toWitnesses(lines: readonly string[]): void {
    for (const line of lines) {
      for (const witness of this.#witnesses) {
        // Through a promise even if `write` throws at once: a witness never fails the batch.
        Promise.resolve(line)
          .then((l) => witness.write(l))
          .catch((err: unknown) => {
            this.#reporter.error(
              { witness: witness.name, err: String(err) },
              `AUDIT WITNESS FAILED: ${witness.name} did not get a checkpoint; the log itself is intact, but truncation after this checkpoint is not detectable from that witness until it recovers`,
            );
          });
      }
    }
  }

  /**
   * Moves the full file to the next rotated number and starts a new one with a `continue` record. After a crash
   * between the two, the next batch (of whichever process comes first) writes that record: an empty current file
   * next to rotated ones always continues the newest.
   */
  async #rotate(): Promise<void> {
    try {
      const n = ((await listRotated(this.#path)).at(-1)?.n ?? 0) + 1;
      await rename(this.#path, rotatedPath(this.#path, n));
      await this.#dropHandle();
      const { file, start, lead, ino } = await this.#prepare();
      const out = this.#render(start, lead, []);
      await this.#ops.write(file, out.data);
      await this.#ops.sync(file);
      this.#head = { ...out.cursor, ino };
      await syncFolder(dirname(this.#path));
      await pruneRotated(this.#path, {
        keep: this.#config.rotate.keep,
        maxAgeMs: this.#config.rotate.maxAge,
        now: this.#now(),
      });
    } catch (err) {
      // The batch is durable; rotation is retried after the next batch.
      this.#reporter.error(
        { path: this.#path, err: String(err) },
        `could not rotate the audit log ${this.#path}`,
      );
    }
  }

  /** Renames a log of the format before issue 10 to `<path>.unchained-<time>`; the new chain starts after it. */
  async #setAsideLegacy(): Promise<void> {
    const aside = `${this.#path}.unchained-${this.#now().toISOString().replace(/[:.]/g, '-')}`;
    await rename(this.#path, aside);
    await this.#dropHandle();
    this.#reporter.warn(
      { path: this.#path, movedTo: aside },
      `the audit log ${this.#path} was in the format before hash chaining; moved it to ${aside} and started a new chain`,
    );
  }

  /** The open handle (read + append), reopened when the path no longer names the file it refers to. */
  async #current(): Promise<{ file: FileHandle; ino: number; size: number }> {
    for (let attempt = 0; ; attempt++) {
      const file = await this.#open();
      // Synchronous on purpose: two stats of cached metadata take 3 µs this way, against 30 µs of CPU through the
      // thread pool, on every batch.
      const held = fstatSync(file.fd);
      const named = statSync(this.#path, { throwIfNoEntry: false });
      if ((named?.ino === held.ino && named.dev === held.dev) || attempt > 0) {
        return { file, ino: held.ino, size: held.size };
      }
      await this.#dropHandle();
    }
  }

  #open(): Promise<FileHandle> {
    if (this.#file !== undefined) return this.#file;
    const opening = (async () => {
      ensurePrivateFolder(this.#path);
      this.#secure(true);
      return open(this.#path, 'a+', 0o600);
    })();
    this.#file = opening;
    // A failed open is not kept: the next batch tries again.
    opening.catch(() => {
      if (this.#file === opening) this.#file = undefined;
    });
    return opening;
  }

  async #dropHandle(): Promise<void> {
    const file = this.#file;
    this.#file = undefined;
    this.#head = undefined;
    await file?.then((f) => f.close()).catch(() => undefined);
  }

  #secure(create: boolean): void {
    securePrivateFile(this.#path, {
      create,
      ...(this.#onModeFixed === undefined ? {} : { onFixed: this.#onModeFixed }),
    });
  }
}

/** fsync of a folder, so that a rename in it survives a crash. */
async function syncFolder(path: string): Promise<void> {
  const folder = await open(path, 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

const processReporter: AuditLogReporter = {
  warn: (_details, message) => {
    process.emitWarning(message, { code: 'COFRE_AUDIT_WARNING' });
  },
  error: (_details, message) => {
    process.emitWarning(message, { code: 'COFRE_AUDIT_ERROR' });
  },
};
