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

/** A worker asks the primary to append one event. */
export interface AuditAppendMessage {
  readonly type: 'cofre-audit-append';
  readonly id: number;
  readonly event: AuditEvent;
  readonly options?: AppendOptions;
}

/** The primary's answer to one {@link AuditAppendMessage}. */
export interface AuditAppendResult {
  readonly type: 'cofre-audit-result';
  readonly id: number;
  readonly ok: boolean;
  /** Why the append failed (a cofre error message: it names paths, never a secret). */
  readonly message?: string;
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
 * append resolves when the primary says the line is durable (or written, as {@link AppendOptions.wait} asks).
 *
 * SECURITY: fails closed. An append the primary could not write, one that cannot be sent, and every append waiting
 * when the channel closes reject with `COFRE_AUDIT_UNAVAILABLE`, so the broker refuses the action: nothing reaches a
 * venue without its intent in the log. Safe to call concurrently.
 */
export class IpcAuditSink implements AuditSink {
  readonly #channel: IpcChannel;
  readonly #waiting = new Map<number, Waiting>();
  readonly #pending = new Set<Promise<void>>();
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
    const message: AuditAppendMessage = {
      type: 'cofre-audit-append',
      id,
      event,
      ...(options === undefined ? {} : { options }),
    };
    const sent = new Promise<void>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      try {
        this.#channel.send(message, (error) => {
          if (error !== null) this.#settle(id, unavailable('cannot reach the audit writer', error));
        });
      } catch (err) {
        this.#settle(id, unavailable('cannot reach the audit writer', err));
      }
    });
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

  readonly #onMessage = (message: unknown): void => {
    if (!isResult(message)) return;
    this.#settle(
      message.id,
      message.ok ? undefined : unavailable(message.message ?? 'the audit writer could not append'),
    );
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
  const listener = (message: unknown): void => {
    if (!isAppend(message)) return;
    log.append(message.event, message.options).then(
      () => {
        answer(worker, { type: 'cofre-audit-result', id: message.id, ok: true });
      },
      (err: unknown) => {
        const text = err instanceof CofreError ? err.message : 'the audit writer could not append';
        answer(worker, { type: 'cofre-audit-result', id: message.id, ok: false, message: text });
      },
    );
  };
  worker.on('message', listener);
  return () => {
    worker.off('message', listener);
  };
}

/** A worker gone (crashed, stopped) has no one waiting for the answer. */
function answer(worker: IpcChannel, result: AuditAppendResult): void {
  if (!worker.connected) return;
  try {
    worker.send(result, () => undefined);
  } catch {
    // the channel closed between the check and the send
  }
}

function unavailable(message: string, cause?: unknown): CofreError {
  return new CofreError('COFRE_AUDIT_UNAVAILABLE', message, cause === undefined ? {} : { cause });
}

function isAppend(message: unknown): message is AuditAppendMessage {
  const m = message as Partial<AuditAppendMessage> | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    m.type === 'cofre-audit-append' &&
    typeof m.id === 'number' &&
    typeof m.event === 'object'
  );
}

function isResult(message: unknown): message is AuditAppendResult {
  const m = message as Partial<AuditAppendResult> | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    m.type === 'cofre-audit-result' &&
    typeof m.id === 'number' &&
    typeof m.ok === 'boolean'
  );
}
