import { CofreError } from '../errors.js';
import type { RequestRecord } from './state-store.js';

/**
 * The rows of requests that hold no idempotency key and were not stored while they ran (reads, cancels), collected
 * during one turn of the event loop and written together: one commit for many (issue 11). Both stores use it
 * (`StateStore.recordFinished`); each gives the write of a batch, synchronous (SQLite: written on return) or not
 * (PostgreSQL). Batches are written one after another, in order; a batch that cannot be written goes to `onError`
 * (the audit log has those requests).
 */
export class FinishedRows {
  readonly #write: (rows: readonly RequestRecord[]) => unknown;
  readonly #onError: (err: unknown) => void;
  /** Rows given to {@link add} and not yet written. */
  #pending: RequestRecord[] = [];
  /** The batch being written now; {@link find} still finds its rows. */
  #writing: readonly RequestRecord[] = [];
  #running: Promise<void> | undefined;

  constructor(write: (rows: readonly RequestRecord[]) => unknown, onError: (err: unknown) => void) {
    this.#write = write;
    this.#onError = onError;
  }

  /** Queues `request`'s finished row for the write at the end of this turn. */
  add(request: RequestRecord): void {
    if (request.idempotencyKey !== undefined) {
      throw new CofreError(
        'COFRE_INTERNAL',
        'a request with an idempotency key is claimed, not recorded later',
      );
    }
    this.#pending.push(request);
    if (this.#pending.length === 1) {
      setImmediate(() => {
        void this.flush();
      });
    }
  }

  /** A row queued or being written, which the store does not show yet. */
  find(requestId: string): RequestRecord | undefined {
    return (
      this.#pending.find((r) => r.requestId === requestId) ??
      this.#writing.find((r) => r.requestId === requestId)
    );
  }

  /**
   * Writes the queued rows, after any batch still being written. With a synchronous writer and nothing running,
   * they are written when this returns (SQLite's `close()` relies on it).
   */
  flush(): Promise<void> {
    if (this.#running !== undefined) return this.#running.then(() => this.flush());
    const rows = this.#pending;
    if (rows.length === 0) return Promise.resolve();
    this.#pending = [];
    this.#writing = rows;
    const done = (): void => {
      this.#writing = [];
      this.#running = undefined;
    };
    let written: unknown;
    try {
      written = this.#write(rows);
    } catch (err) {
      this.#onError(err);
      done();
      return Promise.resolve();
    }
    if (!(written instanceof Promise)) {
      done();
      return Promise.resolve();
    }
    this.#running = (written as Promise<unknown>)
      .then(
        () => undefined,
        (err: unknown) => {
          this.#onError(err);
        },
      )
      .finally(done);
    return this.#running;
  }
}
