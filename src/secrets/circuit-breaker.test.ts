import { describe, expect, it } from 'vitest';

import { CircuitBreaker } from './circuit-breaker.js';

function breaker(threshold = 3, resetMs = 1_000): { cb: CircuitBreaker; advance: (ms: number) => void } {
  let t = 0;
  const cb = new CircuitBreaker({ failureThreshold: threshold, resetTimeoutMs: resetMs, now: () => t });
  return { cb, advance: (ms) => (t += ms) };
}

function fail(cb: CircuitBreaker, times: number): void {
  for (let i = 0; i < times; i++) cb.acquire()?.failure();
}

describe('CircuitBreaker', () => {
  it('stays closed below the threshold and a success resets the count', () => {
    const { cb } = breaker(3);
    fail(cb, 2);
    cb.acquire()?.success();
    fail(cb, 2);
    expect(cb.state).toBe('closed');
    expect(cb.acquire()).toBeDefined();
  });

  it('opens after threshold consecutive failures and then refuses at once', () => {
    const { cb } = breaker(3);
    fail(cb, 3);
    expect(cb.state).toBe('open');
    expect(cb.acquire()).toBeUndefined();
    expect(cb.retryAt).toBe(1_000);
  });

  it('lets exactly one probe through after the reset timeout (half-open)', () => {
    const { cb, advance } = breaker(1, 1_000);
    fail(cb, 1);
    advance(999);
    expect(cb.acquire()).toBeUndefined();
    advance(1);
    expect(cb.state).toBe('half-open');
    const probe = cb.acquire();
    expect(probe).toBeDefined();
    expect(cb.acquire()).toBeUndefined(); // the probe is in flight
    probe?.success();
    expect(cb.state).toBe('closed');
    expect(cb.acquire()).toBeDefined();
  });

  it('opens again for a full timeout when the probe fails', () => {
    const { cb, advance } = breaker(1, 1_000);
    fail(cb, 1);
    advance(1_000);
    cb.acquire()?.failure();
    expect(cb.state).toBe('open');
    advance(999);
    expect(cb.acquire()).toBeUndefined();
    advance(1);
    expect(cb.acquire()).toBeDefined();
  });

  it('ignores a late failure of a request issued before the circuit opened', () => {
    const { cb, advance } = breaker(1, 1_000);
    const early = cb.acquire();
    fail(cb, 1);
    advance(1_000);
    const probe = cb.acquire();
    probe?.success();
    early?.failure();
    expect(cb.state).toBe('closed');
  });

  it('counts a permit once however often it is settled', () => {
    const { cb } = breaker(2);
    const permit = cb.acquire();
    permit?.failure();
    permit?.failure();
    expect(cb.state).toBe('closed');
  });
});
