/**
 * The tamper-evident audit log in PostgreSQL (issue 16): one hash chain for every replica, in the tables of
 * migration 0004 (`audit_records`, `audit_head`), each record a line in the file log's format (`audit-format.ts`),
 * so one verifier checks both. docs/audit.md describes the guarantees.
 */
import { type KeyObject, randomBytes } from 'node:crypto';

import { CofreError } from '../errors.js';
import type { PgDb } from '../state/postgres/pg-db.js';
import { AUDIT_SCHEMA_VERSION, type AuditRecordKind, recordHash, recordLine } from './audit-format.js';
import type { AppendOptions, AuditEvent, AuditSink } from './audit-log.js';
import type { AuditLogReporter } from './chained-audit-log.js';
import { CheckpointSigner, unsignedCheckpoint } from './checkpoint-signer.js';
import { type ChainHead, lockHead, writeBatch } from './postgres-audit-head.js';
import type { WitnessSink } from './witness-sink.js';

/** Options of {@link PostgresAuditLog}. */
export interface PostgresAuditLogOptions {
  /** Ed25519 private key (`KeyObject` or PKCS#8 PEM) signing checkpoints; without it checkpoints are `unsigned`. */
  readonly signingKey?: KeyObject | Buffer | undefined;
  /** `audit.checkpoint`: a checkpoint after `every` records of the chain (any replica's), and `interval` ms. */
  readonly checkpoint: { readonly every: number; readonly interval: number };
  /** Copies of the checkpoints this writer writes (see `createWitnesses`). */
  readonly witnesses?: readonly WitnessSink[];
  /** Default: process warnings (stderr). */
  readonly reporter?: AuditLogReporter;
  /** The writing replica (`StateStore.replicaId`), recorded in each of its records as `replica`. */
  readonly replica?: string | undefined;
  /**
   * How long a batch's transaction may sit idle (its process frozen or cut off) holding the head row's lock before
   * the server ends its session and frees the lock for the other replicas. Default {@link DEFAULT_IDLE_HOLD_MS}.
   */
  readonly idleHoldMs?: number;
  readonly now?: () => Date;
}

/** A batch's transaction does a few quick statements; idle this long with the lock held, its writer is gone. */
export const DEFAULT_IDLE_HOLD_MS = 5_000;

interface Pending {
  readonly event: AuditEvent | undefined; // undefined: a checkpoint asked for (timer, close)
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** What one batch writes, rendered from the head it locked. */
interface RenderedBatch {
  readonly seqs: number[];
  readonly lines: string[];
  readonly checkpoints: string[];
  readonly head: ChainHead;
  readonly unwritable: Map<Pending, unknown>;
  /** Whether the chain is covered by a checkpoint up to a point of this batch (written now, or not needed). */
  readonly covered: boolean;
  /** Events written after that point (all of the batch's when not covered). */
  readonly afterCheckpoint: number;
}

const CHAIN_KINDS: ReadonlySet<string> = new Set(['genesis', 'continue', 'checkpoint']);

/** What a replica id may look like in a record (`StateStore.replicaId` is `r-<16 hex>`). */
const REPLICA = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * An {@link AuditSink} writing the hash-chained log into PostgreSQL, shared by every replica.
 *
 * - Group commit: the appends made while a batch is in flight form the next batch, written in one transaction that
 *   locks the head row (`FOR UPDATE`), renders the records with consecutive seqs and prev hashes from it, inserts
 *   them, moves the head and commits. `append` resolves after the COMMIT (`wait: 'written'` waits as long). Batches
 *   of all replicas queue on the head row's lock, so their records interleave into one chain.
 * - Nothing about the chain is cached between batches: the head is read inside each transaction, so a writer that
 *   failed, or lost the server, can never fork the chain. A failed batch rejects its appends with
 *   `COFRE_AUDIT_UNAVAILABLE` (retryable); the next batch tries again. When the COMMIT itself is lost with the
 *   connection, its records may be in the chain although their appends were rejected (the broker refused those
 *   actions), as with the file log.
 * - Checkpoints: when the chain (any replica) reaches `every` records since the last one; every `interval` ms and
 *   at `close` when this writer wrote since its last one (and the chain has records since the last checkpoint).
 *   Each checkpoint this writer writes is copied to its witnesses after the COMMIT.
 * - Safe to call concurrently; `close` waits for queued appends and writes a final checkpoint. It does not close
 *   the `PgDb` (the state store shares it).
 *
 * SECURITY: records hold what the caller gives (the broker HMACs references; no value ever reaches an event) plus
 * the chain's own fields and `replica`: nothing secret is added; the signing key stays in {@link CheckpointSigner}.
 */
export class PostgresAuditLog implements AuditSink {
  readonly #db: PgDb;
  readonly #every: number;
  readonly #signer: CheckpointSigner | undefined;
  readonly #witnesses: readonly WitnessSink[];
  readonly #reporter: AuditLogReporter;
  readonly #replica: string | undefined;
  readonly #now: () => Date;
  readonly #idleHold: string;
  readonly #timer: NodeJS.Timeout;
  #queue: Pending[] = [];
  #running: Promise<void> | undefined;
  /** Records this writer wrote that no checkpoint is known to cover yet (its own, or another replica's). */
  #since = 0;
  #closed: Promise<void> | undefined;

  constructor(db: PgDb, options: PostgresAuditLogOptions) {
    const { every, interval } = options.checkpoint;
    if (!Number.isSafeInteger(every) || every < 1 || !Number.isFinite(interval) || interval <= 0) {
      throw new CofreError(
        'COFRE_CONFIG_INVALID',
        `audit.checkpoint needs every ≥ 1 and interval > 0 (got every ${every}, interval ${interval})`,
      );
    }
    if (
      options.idleHoldMs !== undefined &&
      (!Number.isSafeInteger(options.idleHoldMs) || options.idleHoldMs < 1)
    ) {
      throw new CofreError(
        'COFRE_CONFIG_INVALID',
        `idleHoldMs must be a positive integer (got ${options.idleHoldMs})`,
      );
    }
    if (options.replica !== undefined && !REPLICA.test(options.replica)) {
      throw new CofreError(
        'COFRE_CONFIG_INVALID',
        'the replica id recorded in audit records must be 1–64 letters, digits, or . _ : -',
      );
    }
    this.#db = db;
    this.#every = every;
    this.#signer = options.signingKey === undefined ? undefined : new CheckpointSigner(options.signingKey);
    this.#witnesses = options.witnesses ?? [];
    this.#reporter = options.reporter ?? processReporter;
    this.#replica = options.replica;
    this.#now = options.now ?? (() => new Date());
    this.#idleHold = String(options.idleHoldMs ?? DEFAULT_IDLE_HOLD_MS);
    this.#timer = setInterval(() => {
      if (this.#since > 0) this.checkpoint().catch(() => undefined); // reported by #commit
    }, interval);
    this.#timer.unref();
  }

  append(event: AuditEvent, _options?: AppendOptions): Promise<void> {
    // SECURITY: records of the chain's own kinds come only from the writer, never from a caller.
    if (CHAIN_KINDS.has(event.kind)) {
      return Promise.reject(new Error(`an audit event cannot be of the chain's own kind ${event.kind}`));
    }
    return this.#enqueue(event);
  }

  /** Writes a checkpoint now if the chain has records after its last one; resolves once committed. */
  checkpoint(): Promise<void> {
    return this.#enqueue(undefined);
  }

  /** Waits for queued appends, writes a final checkpoint (if this writer wrote since its last), stops. */
  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    clearInterval(this.#timer);
    let failure: Error | undefined;
    await this.#settled();
    if (this.#since > 0) {
      await this.#enqueue(undefined, true).catch(
        (err: unknown) => (failure = err instanceof Error ? err : new Error(String(err))),
      );
      await this.#settled();
    }
    await Promise.allSettled(this.#witnesses.map((w) => w.close()));
    if (failure !== undefined) throw failure;
  }

  async #settled(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  #enqueue(event: AuditEvent | undefined, closing = false): Promise<void> {
    if (this.#closed !== undefined && !closing) {
      return Promise.reject(new CofreError('COFRE_AUDIT_UNAVAILABLE', 'the PostgreSQL audit log is closed'));
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ event, resolve, reject });
      this.#running ??= this.#drain();
    });
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
  }

  /** Writes one batch in one transaction; settles every item of it. Never throws. */
  async #commit(batch: readonly Pending[]): Promise<void> {
    let out: RenderedBatch;
    try {
      // Rendered inside the transaction, from the head it locked; run again from scratch if the transaction retries.
      out = await this.#db.transaction(async (tx) => {
        const rendered = this.#render(await lockHead(tx, this.#idleHold, this.#reporter), batch);
        await writeBatch(tx, rendered);
        return rendered;
      });
    } catch (err) {
      const failure = new CofreError(
        'COFRE_AUDIT_UNAVAILABLE',
        'cannot append to the audit log in the PostgreSQL state database',
        { cause: err },
      );
      this.#reporter.error({ err: String(err) }, failure.message);
      for (const item of batch) item.reject(failure);
      return;
    }
    for (const item of batch) {
      const bad = out.unwritable.get(item);
      if (bad === undefined) item.resolve();
      else
        item.reject(new CofreError('COFRE_AUDIT_UNAVAILABLE', 'the audit event is not JSON', { cause: bad }));
    }
    this.#since = (out.covered ? 0 : this.#since) + out.afterCheckpoint;
    this.#toWitnesses(out.checkpoints);
  }

  /** The lines of one batch after `head`, with checkpoints where due, and the head after them. Pure. */
  #render(head: ChainHead, batch: readonly Pending[]): RenderedBatch {
    const ts = this.#now().toISOString();
    const seqs: number[] = [];
    const lines: string[] = [];
    const checkpoints: string[] = [];
    const unwritable = new Map<Pending, unknown>();
    let { seq, hash: prev, logId, sinceCheckpoint: since } = head;
    let afterCheckpoint = 0;
    let covered = false;
    const replica = this.#replica === undefined ? {} : { replica: this.#replica };
    const add = (kind: AuditRecordKind, fields: Readonly<Record<string, unknown>>): string => {
      const line = recordLine({ v: AUDIT_SCHEMA_VERSION, seq, ts, prev, kind }, { ...replica, ...fields });
      seqs.push(seq);
      lines.push(line);
      prev = recordHash(line);
      seq += 1;
      return line;
    };
    const checkpoint = (): void => {
      const fields =
        this.#signer === undefined
          ? unsignedCheckpoint({ seq, head: prev })
          : this.#signer.fields({ logId: logId ?? '', seq, head: prev, ts });
      checkpoints.push(add('checkpoint', { ...fields }));
      since = 0;
    };
    if (seq === 0) {
      logId = randomBytes(16).toString('hex');
      add('genesis', { logId, publicKey: this.#signer?.publicKeyPem });
    }
    for (const item of batch) {
      if (item.event === undefined) {
        if (since > 0) checkpoint();
        covered = true; // by this checkpoint, or by one another replica already wrote
        afterCheckpoint = 0;
        continue;
      }
      try {
        add(item.event.kind, item.event as unknown as Readonly<Record<string, unknown>>);
      } catch (err) {
        unwritable.set(item, err); // not JSON (a BigInt, a cycle): refuse this event alone
        continue;
      }
      since += 1;
      afterCheckpoint += 1;
      if (since >= this.#every) {
        checkpoint();
        covered = true;
        afterCheckpoint = 0;
      }
    }
    return {
      seqs,
      lines,
      checkpoints,
      unwritable,
      covered,
      afterCheckpoint,
      head: { seq, hash: prev, logId, sinceCheckpoint: since },
    };
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
              `AUDIT WITNESS FAILED: ${witness.name} did not get a checkpoint; the log itself is intact, but a rewrite of the chain after this checkpoint is not detectable from that witness until it recovers`,
            );
          });
      }
    }
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
