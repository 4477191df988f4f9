import { TokenBucket } from '../../services/token-bucket.js';

/** Client addresses tracked at most; past it the table starts over (an attacker with many addresses gains a burst). */
const TRACKED_ADDRESSES = 10_000;

/**
 * A token bucket per client address, for unauthenticated routes that audit every refusal (`POST /v1/token`, the
 * console's login): without a bound, anyone who can reach them could fill the audit log. The table of addresses is
 * bounded too. `now` (ms) is injectable. Safe to use from concurrent requests (each call is synchronous).
 */
export class AddressRateLimiter {
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #now: () => number;

  constructor(perSecond: number, burst: number, now: () => number = Date.now) {
    this.#perSecond = perSecond;
    this.#burst = burst;
    this.#now = now;
  }

  /** Takes one request from `address`'s bucket; false when it is empty (refuse the request). */
  admit(address: string): boolean {
    let bucket = this.#buckets.get(address);
    if (bucket === undefined) {
      if (this.#buckets.size >= TRACKED_ADDRESSES) this.#buckets.clear();
      bucket = new TokenBucket(this.#perSecond, this.#burst, this.#now());
      this.#buckets.set(address, bucket);
    }
    return bucket.take(this.#now());
  }
}
