import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { isCofreError } from '../errors.js';
import { SqliteStateStore } from '../state/sqlite/sqlite-state-store.js';
import { createNonceManager, type NonceOutcome } from './nonce-manager.js';

// The nonce manager's choices against a chain reduced to its pending count (the ganache property test,
// nonce-manager.integration.test.ts, runs the same rules against a real node).
const W = '1337:0x00000000000000000000000000000000000000aa';

let state: SqliteStateStore;
beforeEach(() => {
  state = new SqliteStateStore(':memory:');
});
afterEach(() => {
  state.close();
});

/** A chain that only counts: `land` makes a nonce used. */
function chain() {
  const used = new Set<number>();
  return {
    used,
    pending: () => {
      let n = 0;
      while (used.has(n)) n++;
      return Promise.resolve(n);
    },
  };
}

const outcome = <T>(o: NonceOutcome, value: T) => Promise.resolve({ outcome: o, value });

describe('createNonceManager', () => {
  it('starts at the chain pending count and advances past each broadcast, even before the chain shows it', async () => {
    const nonces = createNonceManager(state);
    const c = chain();
    c.used.add(0).add(1);
    // The RPC does not show the broadcast ones yet (another node): the stored next keeps them from reuse.
    expect(await nonces.withNextNonce(W, c.pending, (n) => outcome('broadcast', n))).toBe(2);
    expect(await nonces.withNextNonce(W, c.pending, (n) => outcome('broadcast', n))).toBe(3);
  });

  it('gives the same nonce again after not-sent: no gap', async () => {
    const nonces = createNonceManager(state);
    const c = chain();
    expect(await nonces.withNextNonce(W, c.pending, (n) => outcome('not-sent', n))).toBe(0);
    expect(await nonces.withNextNonce(W, c.pending, (n) => outcome('broadcast', n))).toBe(0);
  });

  it('after unknown, lets the chain decide: skipped when it landed, reused when it did not', async () => {
    const nonces = createNonceManager(state);
    const c = chain();
    expect(
      await nonces.withNextNonce(W, c.pending, (n) => {
        c.used.add(n); // it reached the node, then the answer timed out
        return outcome('unknown', n);
      }),
    ).toBe(0);
    expect(await nonces.withNextNonce(W, c.pending, (n) => outcome('unknown', n))).toBe(1);
    expect(await nonces.withNextNonce(W, c.pending, (n) => outcome('broadcast', n))).toBe(1);
  });

  it('runs sends of one wallet one at a time, each with its own nonce, in the order asked', async () => {
    const nonces = createNonceManager(state);
    const c = chain();
    let running = 0;
    let most = 0;
    const sends = Array.from({ length: 8 }, () =>
      nonces.withNextNonce(W, c.pending, async (n) => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 1));
        running--;
        return { outcome: 'broadcast' as const, value: n };
      }),
    );
    expect(await Promise.all(sends)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(1);
  });

  it('counts a send that throws as unknown, rethrows, and frees the wallet for the next send', async () => {
    const nonces = createNonceManager(state);
    const c = chain();
    const failing = nonces.withNextNonce(W, c.pending, () => Promise.reject(new Error('rpc hung up')));
    const next = nonces.withNextNonce(W, c.pending, (n) => outcome('broadcast', n));
    await expect(failing).rejects.toThrow('rpc hung up');
    expect(await next).toBe(0);
  });

  it('makes another process wait for the lease, and gives up with COFRE_STATE_UNAVAILABLE after waitMs', async () => {
    const c = chain();
    const first = createNonceManager(state, { holder: 'p1' });
    const second = createNonceManager(state, { holder: 'p2', pollMs: 5, waitMs: 60_000 });
    const third = createNonceManager(state, { holder: 'p3', pollMs: 5, waitMs: 20 });
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inFirst = new Promise<void>((resolve) => (entered = resolve));
    const one = first.withNextNonce(W, c.pending, async (n) => {
      entered();
      await held;
      return { outcome: 'broadcast' as const, value: n };
    });
    await inFirst;
    const two = second.withNextNonce(W, c.pending, (n) => outcome('broadcast', n));
    const error = await third
      .withNextNonce(W, c.pending, (n) => outcome('broadcast', n))
      .catch((e: unknown) => e);
    expect(isCofreError(error, 'COFRE_STATE_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toContain(W);
    release();
    expect(await one).toBe(0);
    expect(await two).toBe(1);
  });

  it('takes over a lease whose holder died, and lets the chain say whether its send landed', async () => {
    let clock = 1_000_000;
    const now = () => new Date(clock);
    const c = chain();
    // A holder that took the lease and never came back (the process died mid-send).
    state.claimNonce(W, 'dead', now(), new Date(clock + 1_000));
    c.used.add(0);
    const nonces = createNonceManager(state, { now, pollMs: 1, waitMs: 10_000 });
    const sending = nonces.withNextNonce(W, c.pending, (n) => outcome('broadcast', n));
    clock += 1_000;
    expect(await sending).toBe(1);
  });

  it('returns what the send did even when the lease cannot be given back, and says so', async () => {
    const c = chain();
    const failed: string[] = [];
    // The state store fails between the claim and the release (a PostgreSQL failover, say).
    const flaky = new Proxy(state, {
      get(target, name) {
        if (name === 'releaseNonce') return () => Promise.reject(new Error('connection lost'));
        const value = Reflect.get(target, name, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const nonces = createNonceManager(flaky, { onReleaseFailed: (wallet) => failed.push(wallet) });
    expect(await nonces.withNextNonce(W, c.pending, (n) => outcome('broadcast', `sent ${n}`))).toBe('sent 0');
    expect(failed).toEqual([W]);
  });
});
