/**
 * Bounded retries with exponential backoff and full jitter, for backends that talk to a remote service (Vault,
 * AWS, Azure).
 *
 * Full jitter (sleep a uniform random time in `[0, min(maxDelay, base * 2^n))`) spreads the retries of many
 * clients that failed together, so a recovering server is not hit by a synchronized wave:
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 *
 * Pure apart from the injected clock, randomness and sleep; safe to call concurrently.
 */

/** How often and how long to retry one operation. */
export interface RetryPolicy {
  /** Attempts in total, the first included; 1 disables retries. */
  readonly maxAttempts: number;
  /** Upper bound of the first backoff (ms); each retry doubles it up to `maxDelayMs`. */
  readonly baseDelayMs: number;
  /** Upper bound of any single backoff (ms). */
  readonly maxDelayMs: number;
  /**
   * Budget for the whole operation, attempts and sleeps (ms): no retry starts when its backoff would end past
   * it. Bounds how long a caller waits on a failing backend.
   */
  readonly maxElapsedMs: number;
}

/** Three attempts within about two seconds: enough for a blip, short enough that a down server fails fast. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 3,
  baseDelayMs: 100,
  maxDelayMs: 1_000,
  maxElapsedMs: 2_000,
});

/** No retries at all. */
export const NO_RETRY: RetryPolicy = Object.freeze({
  maxAttempts: 1,
  baseDelayMs: 0,
  maxDelayMs: 0,
  maxElapsedMs: 0,
});

/**
 * The backoff before retry number `retry` (1 for the first retry): uniform in `[0, min(maxDelay, base * 2^(retry-1)))`.
 * `random` returns a number in `[0, 1)` like `Math.random`.
 */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/** Injected effects of {@link withRetry}, for tests. */
export interface RetryEffects {
  /** Milliseconds since an arbitrary origin; `Date.now` by default. */
  readonly now?: () => number;
  /** `[0, 1)`; `Math.random` by default (jitter needs no cryptographic randomness). */
  readonly random?: () => number;
  /** Resolves after `ms`; a `setTimeout` by default. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Called before each backoff with the error that caused it (for logs and metrics). */
  readonly onRetry?: (info: {
    readonly attempt: number;
    readonly delayMs: number;
    readonly error: unknown;
  }) => void;
}

/**
 * Runs `operation` until it succeeds, throws an error `isRetryable` rejects, or the policy's attempts or time
 * budget run out; then rethrows the last error unchanged. `operation` gets the 1-based attempt number.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  isRetryable: (error: unknown) => boolean,
  operation: (attempt: number) => Promise<T>,
  effects: RetryEffects = {},
): Promise<T> {
  const now = effects.now ?? Date.now;
  const random = effects.random ?? Math.random;
  const sleep = effects.sleep ?? defaultSleep;
  const started = now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= policy.maxAttempts || !isRetryable(error)) throw error;
      const delayMs = backoffDelay(policy, attempt, random);
      if (now() + delayMs - started > policy.maxElapsedMs) throw error;
      effects.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs);
    }
  }
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
