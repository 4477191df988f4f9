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
  #writesInFlight = 0;
  #drained: (() => void)[] = [];

  constructor(store: Pick<ControlStore, 'halted'>) {
    this.#store = store;
  }

  /** The halt in force, if any: this process's own, or one persisted by any process. */
  current(): HaltState | undefined {
    return this.#local ?? this.#store.halted();
  }

  /** Throws `COFRE_HALTED` while halted. */
  check(): void {
    const halt = this.current();
    if (halt !== undefined) throw haltedError(halt);
  }

  /**
   * Runs one venue write unless halted; the check and the count are one synchronous step, so a halt either sees
   * this write in flight or this write sees the halt. `send` gets `recheck`, to call when the write leaves any queue
   * on its way to the venue (`VenueCallRecord.beforeWrite`): a write still waiting in cofre's account queue when the
   * halt comes is refused there with `COFRE_HALTED` instead of being sent while the halt waits for it.
   */
  async write<T>(send: (recheck: () => void) => Promise<T>): Promise<T> {
    this.check();
    this.#writesInFlight++;
    try {
      return await send(() => {
        this.check();
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
  }
}

function haltedError(halt: HaltState): CofreError {
  return new CofreError('COFRE_HALTED', `trading is halted since ${halt.at.toISOString()}: ${halt.reason}`);
}
