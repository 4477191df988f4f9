// What the e2e tests that need orders in flight at the exchange share: a gate that holds order POSTs at the paper
// exchange until released (the paper exchange's `holdRequest` fault), a count of intents in the audit log, and a
// wait that turns the event loop until a condition holds.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * While holding, order POSTs (up to `limit` of them, counted by `held`) wait at the exchange, unprocessed, until
 * {@link HeldOrders.release}: the writes in flight at the venue. Give {@link HeldOrders.holdRequest} to
 * `startServedBroker` as its `holdRequest`.
 */
export class HeldOrders {
  held = 0;
  limit: number;
  #holding = false;
  #released: Promise<void> = Promise.resolve();
  #release: () => void = () => undefined;

  constructor(limit = Infinity) {
    this.limit = limit;
  }

  /** Holds the order POSTs that arrive from now on, `held` counted from 0. */
  hold(): void {
    this.#released = new Promise((resolve) => {
      this.#release = resolve;
    });
    this.held = 0;
    this.#holding = true;
  }

  /** Lets every held order through, and holds none after it. Safe to call twice. */
  release(): void {
    this.#holding = false;
    this.#release();
  }

  readonly holdRequest = (request: {
    readonly method: string;
    readonly path: string;
  }): Promise<void> | undefined => {
    if (!this.#holding || this.held >= this.limit) return undefined;
    if (request.method !== 'POST' || request.path !== '/api/v3/order') return undefined;
    this.held++;
    return this.#released;
  };
}

/** Intent lines in the audit log `audit.jsonl` of `dir`: requests past policy and audit. */
export function intentCount(dir: string): number {
  return readFileSync(join(dir, 'audit.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"kind":"intent"')).length;
}

/**
 * Waits, turn by turn of the event loop (no timer), until `done` holds; fails, saying what it saw, after 8 s (before
 * an order held at the exchange meets ccxt's 10 s timeout and the test would fail for that instead).
 */
export async function until(done: () => boolean, what: () => string): Promise<void> {
  const started = Date.now();
  while (!done()) {
    if (Date.now() - started > 8_000) throw new Error(`waited 8 s for ${what()}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
