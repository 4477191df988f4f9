import { type FileHandle, mkdir, open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

import { CofreError } from '../errors.js';

/** One audit line. Holds identifiers and decisions, never a secret value or token. */
export interface AuditEvent {
  /** `quota`: one summary per agent and minute of the requests its quotas refused (broker/agent-quotas.ts). */
  readonly kind: 'intent' | 'outcome' | 'quota';
  readonly requestId: string;
  readonly agent: string;
  readonly action: string;
  readonly account?: string | undefined;
  readonly decision?: 'allow' | 'deny' | 'approval';
  readonly rule?: string;
  readonly status?: string;
  /** The validated, scrubbed input (intent) or a short outcome summary. */
  readonly detail?: unknown;
}

/**
 * Where the broker records what it is about to do and what happened. `append` resolves only once the line is
 * durable; a failure is `COFRE_AUDIT_UNAVAILABLE`, and the broker then refuses the action (fail closed).
 * The tamper-evident hash-chained log replaces this sink behind the same interface.
 */
export interface AuditSink {
  append(event: AuditEvent): Promise<void>;
  close(): Promise<void>;
}

/**
 * Append-only JSON-lines audit file (mode 600). Each append is written and `fdatasync`ed before it resolves, so an
 * intent is on disk before the request leaves the process. Appends are serialised in order.
 */
export class JsonlAuditLog implements AuditSink {
  readonly #path: string;
  readonly #now: () => Date;
  #file: Promise<FileHandle> | undefined;
  #tail: Promise<void> = Promise.resolve();

  constructor(path: string, options: { now?: () => Date } = {}) {
    this.#path = path;
    this.#now = options.now ?? (() => new Date());
  }

  append(event: AuditEvent): Promise<void> {
    const line = `${JSON.stringify({ ts: this.#now().toISOString(), ...event })}\n`;
    const next = this.#tail.then(async () => {
      try {
        const file = await this.#current();
        await file.appendFile(line, 'utf8');
        await file.datasync();
      } catch (err) {
        // Reopen next time: the handle may be the problem (file removed, disk remounted).
        const file = this.#file;
        this.#file = undefined;
        await file?.then((f) => f.close()).catch(() => undefined);
        throw new CofreError('COFRE_AUDIT_UNAVAILABLE', `cannot append to the audit log ${this.#path}`, {
          cause: err,
        });
      }
    });
    this.#tail = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.#tail;
    const file = this.#file;
    this.#file = undefined;
    if (file !== undefined) await (await file).close();
  }

  /**
   * The open handle, reopened when the path no longer names the file it refers to (deleted, or moved away by log
   * rotation): appending to an unlinked file would lose every line without an error.
   */
  async #current(): Promise<FileHandle> {
    const file = await this.#open();
    const [held, named] = await Promise.all([file.stat(), stat(this.#path).catch(() => undefined)]);
    if (named?.ino === held.ino && named.dev === held.dev) return file;
    this.#file = undefined;
    await file.close().catch(() => undefined);
    return this.#open();
  }

  #open(): Promise<FileHandle> {
    this.#file ??= (async () => {
      await mkdir(dirname(this.#path), { recursive: true, mode: 0o700 });
      return open(this.#path, 'a', 0o600);
    })();
    return this.#file;
  }
}
