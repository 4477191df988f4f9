import { CofreError } from '../errors.js';
import type { WitnessSink } from './witness-sink.js';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * An HTTP witness: each checkpoint line POSTed as the JSON body (`content-type: application/json`), in call order,
 * retried with backoff (`attempts` tries, each bounded by `timeoutMs`). Runs in the background of the writer: a slow
 * or down endpoint delays only later checkpoint copies, never an append.
 *
 * SECURITY: plain http only to loopback, since a checkpoint copy in transit could be dropped or altered unseen.
 */
export class HttpWitness implements WitnessSink {
  readonly name: string;
  readonly #url: URL;
  readonly #timeoutMs: number;
  readonly #attempts: number;
  readonly #backoffMs: number;
  #tail: Promise<void> = Promise.resolve();

  /** `attempts` (default 5) tries, waiting `backoffMs` (default 200) doubling, at most 5 s, between them. */
  constructor(url: string, options: { timeoutMs: number; attempts?: number; backoffMs?: number }) {
    this.#url = new URL(url);
    if (this.#url.protocol === 'http:' && !LOOPBACK.has(this.#url.hostname)) {
      throw new CofreError(
        'COFRE_CONFIG_INVALID',
        `audit witness ${this.#url.origin}: plain http is allowed only to loopback; use https`,
      );
    }
    this.name = `http ${this.#url.origin}${this.#url.pathname}`;
    this.#timeoutMs = options.timeoutMs;
    this.#attempts = options.attempts ?? 5;
    this.#backoffMs = options.backoffMs ?? 200;
  }

  write(line: string): Promise<void> {
    const next = this.#tail.then(() => this.#post(line));
    this.#tail = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.#tail;
  }

  async #post(line: string): Promise<void> {
    let last: unknown;
    for (let attempt = 0; attempt < this.#attempts; attempt++) {
      if (attempt > 0)
        await new Promise((r) => setTimeout(r, Math.min(5_000, this.#backoffMs * 2 ** (attempt - 1))));
      try {
        const res = await fetch(this.#url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: line,
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return;
        last = new Error(`HTTP ${res.status}`);
      } catch (err) {
        last = err;
      }
    }
    throw new Error(`${this.name} did not take the checkpoint after ${this.#attempts} attempts`, {
      cause: last,
    });
  }
}
