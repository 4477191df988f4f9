import { CofreError } from '../errors.js';
import type { ControlStore, HaltState } from '../state/control-store.js';

/**
 * The kill switch as the request path sees it. Every request is checked when it starts, and every venue write again
 * when it is handed to the venue (`enterWrite`); a halt is acknowledged only once the writes already past that
 * second check have finished, so after `halt` resolves the venue receives no new order from this process.
 *
 * The persisted halt (the state store) is read on every check, so a `cofre halt` run by another process on the same
 * state file stops this one too, from its next check on; what that process cannot know is which writes this one has
 * in flight — the operator API (`/v1/operator/halt`), served by the broker process itself, can wait for them.
 */
export class HaltGate {
  readonly #store: Pick<ControlStore, 'halted'>;
  #local: HaltState | undefined;
  /** The store's halt as last read, for the checks that cannot wait (see {@link write}). */
  #persisted: HaltState | undefined;
  #writesInFlight = 0;
  #drained: (() => void)[] = [];

  constructor(store: Pick<ControlStore, 'halted'>) {
    this.#store = store;
  }

  /**
   * The halt in force, if any: this process's own, or one persisted by any process (read from the store each time:
   * on PostgreSQL that is how a halt through one replica reaches every other before its next request, issue 16).
   */
  async current(): Promise<HaltState | undefined> {
    if (this.#local !== undefined) return this.#local;
    this.#persisted = await this.#store.halted();
    return this.#persisted;
  }

  /** Throws `COFRE_HALTED` while halted. */
  async check(): Promise<void> {
    const halt = await this.current();
    if (halt !== undefined) throw haltedError(halt);
  }

  /** Throws `COFRE_HALTED` if this process is halted or the store was halted when last read; never waits. */
  #checkKnown(): void {
    const halt = this.#local ?? this.#persisted;
    if (halt !== undefined) throw haltedError(halt);
  }

  /**
   * Runs one venue write unless halted. The store is read first; then the check of this process's own halt and the
   * count are one synchronous step, so a halt here either sees this write in flight or this write sees the halt.
   * `send` gets `recheck`, to call when the write leaves any queue on its way to the venue
   * (`VenueCallRecord.beforeWrite`): a write still waiting in cofre's account queue when the halt comes is refused
   * there with `COFRE_HALTED` instead of being sent while the halt waits for it (a halt persisted by another process
   * is seen there as this process last read it).
   */
  async write<T>(send: (recheck: () => void) => Promise<T>): Promise<T> {
    await this.check();
    this.#checkKnown();
    this.#writesInFlight++;
    try {
      return await send(() => {
        this.#checkKnown();
      });
    } finally {
      this.#writesInFlight--;
      if (this.#writesInFlight === 0) for (const resolve of this.#drained.splice(0)) resolve();
    }
  }

  /** Refuses new actions in this process at once; resolves when no write that passed the gate is in flight. */
  halt(state: HaltState): Promise<void> {
    this.#local = state;
    if (this.#writesInFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /** Lifts this process's own halt; a persisted halt is lifted in the store (`cofre resume`). */
  resume(): void {
    this.#local = undefined;
    this.#persisted = undefined;
  }
}

function haltedError(halt: HaltState): CofreError {
  return new CofreError('COFRE_HALTED', `trading is halted since ${halt.at.toISOString()}: ${halt.reason}`);
}
