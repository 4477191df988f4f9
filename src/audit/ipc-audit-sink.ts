/**
 * The audit log across the processes of `cofre serve --workers N`: one process (the primary) writes the log, the
 * workers send it their events over the IPC channel node gives a forked child. Both ends of that small protocol
 * live here: {@link IpcAuditSink} (a worker's sink) and {@link serveAuditOverIpc} (the primary's side).
 *
 * One writer keeps one group commit for every worker (their intents share a write and an fdatasync) and one chain,
 * which `cofre audit verify` checks as before.
 */
import { CofreError } from '../errors.js';
import type { AppendOptions, AuditEvent, AuditSink } from './audit-log.js';

/** One event a worker asks the primary to append. */
export interface AuditAppendRequest {
  readonly id: number;
  readonly event: AuditEvent;
  readonly options?: AppendOptions;
}

/**
 * A worker asks the primary to append events: those its process appended within one turn of its event loop, sent
 * as one message (fewer IPC writes and reads than one message an event).
 */
export interface AuditAppendMessage {
  readonly type: 'cofre-audit-append';
  readonly appends: readonly AuditAppendRequest[];
}

/** The primary's answer to one {@link AuditAppendRequest}. */
export interface AuditAppendResult {
  readonly id: number;
  readonly ok: boolean;
  /** Why the append failed (a cofre error message: it names paths, never a secret). */
  readonly message?: string;
}

/** The primary's answers ready within one turn of its event loop, as one message. */
export interface AuditResultMessage {
  readonly type: 'cofre-audit-result';
  readonly results: readonly AuditAppendResult[];
}

/**
 * The IPC channel of a forked process as seen from either end: `process` in a worker, a `cluster.Worker` (or a
 * `ChildProcess`) in the primary.
 */
export interface IpcChannel {
  readonly connected: boolean;
  send(message: unknown, callback?: (error: Error | null) => void): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'disconnect', listener: () => void): unknown;
}

interface Waiting {
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * A worker's {@link AuditSink}: each append goes to the primary, which writes it to the one log and answers; the
 * append resolves when the primary says the line is durable (or written, as {@link AppendOptions.wait} asks). The
 * appends of one turn of the event loop travel as one message, and the primary answers a group commit's at once.
 *
 * SECURITY: fails closed. An append the primary could not write, one that cannot be sent, and every append waiting
 * when the channel closes reject with `COFRE_AUDIT_UNAVAILABLE`, so the broker refuses the action: nothing reaches a
 * venue without its intent in the log. Safe to call concurrently.
 */
export class IpcAuditSink implements AuditSink {
  readonly #channel: IpcChannel;
  readonly #waiting = new Map<number, Waiting>();
  readonly #pending = new Set<Promise<void>>();
  #outbox: AuditAppendRequest[] = [];
  #next = 1;
  #closed = false;

  constructor(channel: IpcChannel) {
    this.#channel = channel;
    channel.on('message', this.#onMessage);
    channel.on('disconnect', this.#onDisconnect);
  }

  append(event: AuditEvent, options?: AppendOptions): Promise<void> {
    if (this.#closed || !this.#channel.connected) {
      return Promise.reject(unavailable('the channel to the audit writer (the primary process) is closed'));
    }
    const id = this.#next++;
    const sent = new Promise<void>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
    });
    this.#outbox.push({ id, event, ...(options === undefined ? {} : { options }) });
    // Sent once this turn's other appends have joined it: one IPC message for all of them.
    if (this.#outbox.length === 1) setImmediate(this.#flush);
    this.#pending.add(sent);
    const done = (): void => {
      this.#pending.delete(sent);
    };
    sent.then(done, done);
    return sent;
  }

  /** Waits for the answers to the appends already sent; later appends are refused. The primary closes the log. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled(this.#pending);
    this.#stop();
  }

  readonly #flush = (): void => {
    const appends = this.#outbox;
    this.#outbox = [];
    const failed = (err: unknown): void => {
      for (const { id } of appends) this.#settle(id, unavailable('cannot reach the audit writer', err));
    };
    if (!this.#channel.connected) {
      failed(undefined);
      return;
    }
    const message: AuditAppendMessage = { type: 'cofre-audit-append', appends };
    try {
      this.#channel.send(message, (error) => {
        if (error !== null) failed(error);
      });
    } catch (err) {
      failed(err);
    }
  };

  readonly #onMessage = (message: unknown): void => {
    if (!isResults(message)) return;
    for (const result of message.results) {
      this.#settle(
        result.id,
        result.ok ? undefined : unavailable(result.message ?? 'the audit writer could not append'),
      );
    }
  };

  readonly #onDisconnect = (): void => {
    for (const id of [...this.#waiting.keys()]) {
      this.#settle(id, unavailable('the channel to the audit writer (the primary process) closed'));
    }
  };

  #settle(id: number, error: CofreError | undefined): void {
    const waiting = this.#waiting.get(id);
    if (waiting === undefined) return;
    this.#waiting.delete(id);
    if (error === undefined) waiting.resolve();
    else waiting.reject(error);
  }

  #stop(): void {
    this.#channel.off('message', this.#onMessage);
    this.#channel.off('disconnect', this.#onDisconnect);
  }
}

/**
 * The primary's side: appends each event a worker sends to `log` (forwarding its {@link AppendOptions}) and answers
 * ok or the error's message per event id. Returns a function that stops listening. Messages of other types are
 * left to other listeners. The worker is trusted (it runs cofre's own code); the log still refuses events of the
 * chain's own kinds.
 */
export function serveAuditOverIpc(log: AuditSink, worker: IpcChannel): () => void {
  let outbox: AuditAppendResult[] = [];
  const flush = (): void => {
    const results = outbox;
    outbox = [];
    if (!worker.connected) return; // a worker gone (crashed, stopped) has no one waiting for the answers
    const message: AuditResultMessage = { type: 'cofre-audit-result', results };
    try {
      worker.send(message, () => undefined);
    } catch {
      // the channel closed between the check and the send
    }
  };
  const answer = (result: AuditAppendResult): void => {
    outbox.push(result);
    // The answers of one group commit resolve together: sent as one message.
    if (outbox.length === 1) setImmediate(flush);
  };
  const listener = (message: unknown): void => {
    if (!isAppend(message)) return;
    for (const { id, event, options } of message.appends) {
      log.append(event, options).then(
        () => {
          answer({ id, ok: true });
        },
        (err: unknown) => {
          const text = err instanceof CofreError ? err.message : 'the audit writer could not append';
          answer({ id, ok: false, message: text });
        },
      );
    }
  };
  worker.on('message', listener);
  return () => {
    worker.off('message', listener);
  };
}

function unavailable(message: string, cause?: unknown): CofreError {
  return new CofreError('COFRE_AUDIT_UNAVAILABLE', message, cause === undefined ? {} : { cause });
}

function isAppend(message: unknown): message is AuditAppendMessage {
  const m = message as Partial<AuditAppendMessage> | null;
  return typeof m === 'object' && m !== null && m.type === 'cofre-audit-append' && Array.isArray(m.appends);
}

function isResults(message: unknown): message is AuditResultMessage {
  const m = message as Partial<AuditResultMessage> | null;
  return typeof m === 'object' && m !== null && m.type === 'cofre-audit-result' && Array.isArray(m.results);
}
