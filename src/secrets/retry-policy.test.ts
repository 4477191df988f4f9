import { describe, expect, it } from 'vitest';

import { backoffDelay, NO_RETRY, type RetryPolicy, withRetry } from './retry-policy.js';

const policy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000, maxElapsedMs: 10_000 };

/** A fake clock that sleep advances; no real time passes. */
function fakeTime(): { now: () => number; sleep: (ms: number) => Promise<void>; slept: number[] } {
  let t = 0;
  const slept: number[] = [];
  return {
    now: () => t,
    sleep: (ms) => {
      slept.push(ms);
      t += ms;
      return Promise.resolve();
    },
    slept,
  };
}

class Transient extends Error {}

describe('backoffDelay', () => {
  it('is uniform below an exponentially growing ceiling (full jitter)', () => {
    const almostOne = (): number => 0.999_999;
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n, almostOne))).toEqual([99, 199, 399, 799, 999]);
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(200);
  });

  it('never exceeds maxDelayMs however many retries', () => {
    expect(backoffDelay(policy, 60, () => 0.999_999)).toBeLessThan(policy.maxDelayMs);
  });
});

describe('withRetry', () => {
  it('retries transient errors and returns the first success', async () => {
    const time = fakeTime();
    let calls = 0;
    const result = await withRetry(
      policy,
      (e) => e instanceof Transient,
      (attempt) => {
        calls++;
        return attempt < 3 ? Promise.reject(new Transient()) : Promise.resolve('ok');
      },
      { ...time, random: () => 0.5 },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(time.slept).toEqual([50, 100]);
  });

  it('does not retry an error the predicate rejects', async () => {
    const time = fakeTime();
    let calls = 0;
    const denied = new Error('denied');
    const err = await withRetry(
      policy,
      (e) => e instanceof Transient,
      () => {
        calls++;
        return Promise.reject(denied);
      },
      time,
    ).catch((e: unknown) => e);
    expect(err).toBe(denied);
    expect(calls).toBe(1);
    expect(time.slept).toEqual([]);
  });

  it('stops after maxAttempts and rethrows the last error', async () => {
    const time = fakeTime();
    let calls = 0;
    const err = await withRetry(
      policy,
      () => true,
      () => Promise.reject(new Transient(`call ${++calls}`)),
      { ...time, random: () => 0 },
    ).catch((e: unknown) => e);
    expect((err as Error).message).toBe('call 5');
    expect(time.slept).toHaveLength(4);
  });

  it('stops when the next backoff would end past the time budget', async () => {
    const time = fakeTime();
    let calls = 0;
    const tight: RetryPolicy = { ...policy, maxAttempts: 100, maxElapsedMs: 450 };
    await withRetry(
      tight,
      () => true,
      () => {
        calls++;
        return Promise.reject(new Transient());
      },
      { ...time, random: () => 0.999_999 },
    ).catch(() => undefined);
    // Backoffs 99 + 199 = 298 fit in 450 ms; the next (399) would end at 697.
    expect(time.slept).toEqual([99, 199]);
    expect(calls).toBe(3);
  });

  it('NO_RETRY makes exactly one attempt', async () => {
    let calls = 0;
    await withRetry(
      NO_RETRY,
      () => true,
      () => Promise.reject(new Transient(String(++calls))),
    ).catch(() => undefined);
    expect(calls).toBe(1);
  });

  it('reports each retry to onRetry', async () => {
    const time = fakeTime();
    const seen: number[] = [];
    await withRetry(
      policy,
      () => true,
      () => Promise.reject(new Transient()),
      {
        ...time,
        random: () => 0,
        onRetry: (info) => seen.push(info.attempt),
      },
    ).catch(() => undefined);
    expect(seen).toEqual([1, 2, 3, 4]);
  });
});
