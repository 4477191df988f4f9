/**
 * A circuit breaker for a remote secret backend, so a server that is down costs one fast failure per request
 * instead of a full round of timeouts and retries.
 *
 * - **closed**: requests pass; `failureThreshold` consecutive failures open the circuit.
 * - **open**: requests are refused at once until `resetTimeoutMs` has passed since it opened.
 * - **half-open**: one probe request passes (others are refused while it runs); its success closes the circuit,
 *   its failure opens it again for another `resetTimeoutMs`.
 *
 * Only failures that say "the server is not there" should be recorded (connection errors, timeouts, 5xx, 429); a
 * 403 or 404 is a healthy server answering and counts as a success. The clock is injected for tests.
 *
 * Safe to use from concurrent async callers (single-threaded JS: every transition is synchronous).
 */

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  readonly failureThreshold: number;
  /** How long the circuit stays open before one probe is let through (ms). */
  readonly resetTimeoutMs: number;
  /** Milliseconds since an arbitrary origin; `Date.now` by default. */
  readonly now?: () => number;
}

/** Five failures in a row open the circuit for ten seconds. */
export const DEFAULT_CIRCUIT_BREAKER: CircuitBreakerOptions = Object.freeze({
  failureThreshold: 5,
  resetTimeoutMs: 10_000,
});

/** A permit to make one request; report how it ended exactly once. */
export interface CircuitPermit {
  success(): void;
  failure(): void;
}

/** See the module comment. */
export class CircuitBreaker {
  readonly #threshold: number;
  readonly #resetMs: number;
  readonly #now: () => number;
  #state: CircuitState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #probeInFlight = false;
  // Bumped on every transition, so a permit issued before one cannot change the state after it.
  #generation = 0;

  constructor(options: CircuitBreakerOptions = DEFAULT_CIRCUIT_BREAKER) {
    this.#threshold = Math.max(1, options.failureThreshold);
    this.#resetMs = Math.max(0, options.resetTimeoutMs);
    this.#now = options.now ?? Date.now;
  }

  /** The state now (an open circuit whose timeout has passed reads as half-open). */
  get state(): CircuitState {
    if (this.#state === 'open' && this.#now() >= this.#openedAt + this.#resetMs) return 'half-open';
    return this.#state;
  }

  /** When an open circuit lets the next probe through (ms, same clock), or undefined when not open. */
  get retryAt(): number | undefined {
    return this.#state === 'open' ? this.#openedAt + this.#resetMs : undefined;
  }

  /** Milliseconds until an open circuit lets a probe through (by the breaker's clock); 0 when not open. */
  get msUntilProbe(): number {
    return this.#state === 'open' ? Math.max(0, this.#openedAt + this.#resetMs - this.#now()) : 0;
  }

  /** A permit for one request, or undefined when the circuit refuses it (fail fast). */
  acquire(): CircuitPermit | undefined {
    if (this.#state === 'open') {
      if (this.#now() < this.#openedAt + this.#resetMs) return undefined;
      this.#transition('half-open');
    }
    if (this.#state === 'half-open') {
      if (this.#probeInFlight) return undefined;
      this.#probeInFlight = true;
      return this.#permit(true);
    }
    return this.#permit(false);
  }

  #permit(probe: boolean): CircuitPermit {
    const generation = this.#generation;
    let settled = false;
    const settle = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      if (probe) this.#probeInFlight = false;
      if (generation !== this.#generation) {
        // Issued in an earlier state: a late success still proves the server is back; a late failure is old news.
        if (ok && this.#state !== 'closed') this.#close();
        return;
      }
      if (ok) {
        this.#close();
      } else if (this.#state === 'half-open' || ++this.#failures >= this.#threshold) {
        this.#open();
      }
    };
    return {
      success: () => {
        settle(true);
      },
      failure: () => {
        settle(false);
      },
    };
  }

  #close(): void {
    this.#failures = 0;
    if (this.#state !== 'closed') this.#transition('closed');
  }

  #open(): void {
    this.#openedAt = this.#now();
    this.#failures = 0;
    this.#transition('open');
  }

  #transition(state: CircuitState): void {
    this.#state = state;
    this.#generation++;
    if (state !== 'half-open') this.#probeInFlight = false;
  }
}
