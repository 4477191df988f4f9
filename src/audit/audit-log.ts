import { type FileHandle, open, stat } from 'node:fs/promises';

import { ensurePrivateFolder, type PrivateFileFixed, securePrivateFile } from '../config/private-file.js';
import { CofreError } from '../errors.js';

/** One audit line. Holds identifiers and decisions, never a secret value or token. */
export interface AuditEvent {
  /**
   * `quota`: one summary per agent and minute of the requests its quotas refused (broker/agent-quotas.ts);
   * `operator`: an operator's approve, deny, halt or resume (broker/operator-actions.ts), or the adding or revoking
   * of an agent's or operator's token (surfaces/cli: `detail` holds the token id, never the token);
   * `secret-access`: one read of a secret by cofre (broker/audited-secrets.ts), its reference HMAC'd;
   * `database`: a connection through the database broker refused, opened, failed or closed (issue 15,
   * surfaces/database); the credentials it used are its `secret-access` records, under the same request id;
   * `identity`: a token exchange at `POST /v1/token`, issued or refused (issue 17, identity/token-exchange.ts):
   * issuer, subject, rule, expiry, the issued token's id; never a token.
   */
  readonly kind: 'intent' | 'outcome' | 'quota' | 'operator' | 'secret-access' | 'database' | 'identity';
  readonly requestId: string;
  readonly agent: string;
  /**
   * Issue 17: the agents a delegated agent acts on behalf of, nearest first (its parent ... its chain's root), and
   * how it authenticated; absent for an agent acting for itself.
   */
  readonly onBehalfOf?: readonly string[] | undefined;
  readonly via?: string | undefined;
  readonly action: string;
  readonly account?: string | undefined;
  readonly decision?: 'allow' | 'deny' | 'approval' | 'confirm';
  readonly rule?: string;
  /** SHA-256 of the policy text that decided, so a decision can be traced to the exact policy. */
  readonly policyHash?: string;
  /** Shadow rules that would have decided otherwise (recorded, not enforced). */
  readonly shadow?: readonly unknown[];
  /** The operator whose approval let the request run. */
  readonly approvedBy?: string;
  readonly status?: string;
  /** The validated, scrubbed input (intent) or a short outcome summary. */
  readonly detail?: unknown;
  /**
   * `secret-access`: the HMAC of the reference read (`hmac-sha256:<hex>`, see audit-hmac.ts), or `[unavailable]`
   * without `audit.hmacKey`. SECURITY: never the reference itself, never anything of the value.
   */
  readonly reference?: string;
  /** `secret-access`: the version id the backend returned. */
  readonly version?: string;
  /** `secret-access`: what the secret was read for (`venue-credentials`, `approval-webhook`, `audit-hmac-key`, …). */
  readonly purpose?: string;
  /** `operator`: who acted (`local:<os user>` for the CLI). */
  readonly operator?: string;
}

/**
 * How long an append waits. `durable` (the default): until the line is `fdatasync`ed. `written`: until it is
 * written to the file (visible to readers, in the page cache), while the sync runs on without the caller — for
 * records whose loss on power failure is repaired from what is already durable (an outcome, after its intent:
 * see `broker/broker-reconcile.ts`). A sink may always wait longer than asked (treat `written` as `durable`).
 */
export interface AppendOptions {
  readonly wait?: 'durable' | 'written';
}

/**
 * Where the broker records what it is about to do and what happened. `append` resolves once the line is durable
 * (or written, when {@link AppendOptions.wait} says so); a failure is `COFRE_AUDIT_UNAVAILABLE`, and the broker
 * then refuses the action (fail closed). The tamper-evident hash-chained log replaces this sink behind the same
 * interface.
 */
export interface AuditSink {
  append(event: AuditEvent, options?: AppendOptions): Promise<void>;
  close(): Promise<void>;
}

/**
 * Append-only JSON-lines audit file (mode 600). Each append is written and `fdatasync`ed before it resolves, so an
 * intent is on disk before the request leaves the process. Appends are serialised in order.
 *
 * SECURITY: the file is created 600 in a folder created 700; an existing file readable beyond its owner is
 * restricted to 600 when the log is constructed and at each (re)open, reported to `onModeFixed`, or refused with
 * `COFRE_PRIVATE_FILE_INSECURE` when it is another user's (see `config/private-file.ts`).
 */
export class JsonlAuditLog implements AuditSink {
  readonly #path: string;
  readonly #now: () => Date;
  #file: Promise<FileHandle> | undefined;
  #tail: Promise<void> = Promise.resolve();

  readonly #onModeFixed: ((fixed: PrivateFileFixed) => void) | undefined;

  constructor(
    path: string,
    options: { now?: () => Date; onModeFixed?: (fixed: PrivateFileFixed) => void } = {},
  ) {
    this.#path = path;
    this.#now = options.now ?? (() => new Date());
    this.#onModeFixed = options.onModeFixed;
    // At start, not at the first append: a log left readable by an older version is restricted before anything else.
    // Other I/O errors surface at the first append, as COFRE_AUDIT_UNAVAILABLE.
    try {
      this.#secure(false);
    } catch (err) {
      if (err instanceof CofreError) throw err;
    }
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
      ensurePrivateFolder(this.#path);
      this.#secure(true);
      return open(this.#path, 'a', 0o600);
    })();
    return this.#file;
  }

  #secure(create: boolean): void {
    securePrivateFile(this.#path, {
      create,
      ...(this.#onModeFixed === undefined ? {} : { onFixed: this.#onModeFixed }),
    });
  }
}
