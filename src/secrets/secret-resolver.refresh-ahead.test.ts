import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { isCofreError } from '../errors.js';
import { MemoryBackend } from '../testing/memory-backend.js';
import type { BackendLogFields, BackendLogLevel } from './backend-log.js';
import type { SecretRecord } from './secret-backend.js';
import type { VersionSelector } from './secret-reference.js';
import { type CachePolicy, type SecretChange, SecretResolver } from './secret-resolver.js';
import { SecretValue } from './secret-value.js';

// Refresh-ahead (issue 11): a value read in the last part of its TTL is served from cache while one background read
// replaces it. Time is the injected clock; "does not wait" is observed as "settled while the backend read is held".

const TTL = 1_000;
const WINDOW = 200; // the default: a fifth of the TTL
const REF = 'local:exchanges/binance#secret';
const V1 = '{"apiKey":"k-1","secret":"s-1"}';
const V2 = '{"apiKey":"k-2","secret":"s-2"}';

/**
 * The project's MemoryBackend with reads that can be held: a held read has already read the store (it carries the
 * value of that moment, like a slow response in flight) and returns when released. Counts and names every read,
 * and keeps every value it handed out to check who zeroes them.
 */
class HeldBackend extends MemoryBackend {
  readonly paths: string[] = [];
  readonly handedOut: SecretValue[] = [];
  #holding = false;
  /** Openers of the reads held now, oldest first. */
  #held: (() => void)[] = [];
  #pending: Promise<unknown>[] = [];

  get started(): number {
    return this.paths.length;
  }

  /** Holds every read that starts from now on, until released. */
  hold(): void {
    this.#holding = true;
  }

  /** Lets held reads return, and waits until every read started so far has settled and its caller has run. */
  async release(): Promise<void> {
    this.#holding = false;
    for (const open of this.#held.splice(0)) open();
    await Promise.allSettled(this.#pending);
    await macrotask();
  }

  /** Lets only the newest or the oldest held read return (responses need not arrive in order), and waits a turn. */
  async releaseOne(which: 'newest' | 'oldest'): Promise<void> {
    (which === 'newest' ? this.#held.pop() : this.#held.shift())?.();
    await macrotask();
  }

  override async read(path: string, selector: VersionSelector): Promise<SecretRecord> {
    this.paths.push(path);
    const gate = this.#holding ? new Promise<void>((resolve) => this.#held.push(resolve)) : undefined;
    const read = (async () => {
      const record = await super.read(path, selector);
      this.handedOut.push(record.value);
      if (gate !== undefined) await gate;
      return record;
    })();
    this.#pending.push(read);
    return read;
  }
}

/** One turn of the event loop: every microtask has run, and the resolver's deferred zeroing (setImmediate) too. */
function macrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface LogLine {
  readonly level: BackendLogLevel;
  readonly message: string;
  readonly fields: BackendLogFields | undefined;
}

async function setup(policy: Partial<CachePolicy> = {}): Promise<{
  backend: HeldBackend;
  resolver: SecretResolver;
  clock: { now: number };
  logs: LogLine[];
  start: number;
}> {
  const backend = new HeldBackend('local');
  await backend.write('exchanges/binance', SecretValue.fromText(V1));
  const clock = { now: 1_000_000 };
  const logs: LogLine[] = [];
  const resolver = new SecretResolver({
    backends: [backend],
    cache: { local: { ttlMs: TTL, staleIfErrorMs: 0, ...policy } },
    now: () => clock.now,
    log: (level, message, fields) => logs.push({ level, message, fields }),
  });
  const start = clock.now;
  expect((await resolver.resolve(REF)).text()).toBe('s-1'); // warm: backend read 1
  return { backend, resolver, clock, logs, start };
}

/** Starts the resolves and reports which settled within one turn of the event loop (no backend read returns). */
async function resolveAll(
  resolver: SecretResolver,
  count: number,
): Promise<{ settled: SecretValue[]; all: Promise<SecretValue[]> }> {
  const settled: SecretValue[] = [];
  const all = Promise.all(
    Array.from({ length: count }, () =>
      resolver.resolve(REF).then((value) => {
        settled.push(value);
        return value;
      }),
    ),
  );
  await macrotask();
  return { settled, all };
}

describe('SecretResolver refresh-ahead', () => {
  it('serves 100 callers just before expiry from cache at once, with exactly one backend read', async () => {
    const { backend, resolver, clock, start } = await setup();
    await backend.write('exchanges/binance', SecretValue.fromText(V2));
    clock.now = start + TTL - 1; // inside the window, 1 ms before expiry
    backend.hold();
    const { settled, all } = await resolveAll(resolver, 100);
    // Every caller has its value while the refresh is still held at the backend.
    expect(settled).toHaveLength(100);
    expect(new Set(settled.map((v) => v.text()))).toEqual(new Set(['s-1']));
    expect(backend.started).toBe(2); // the warm read and one refresh
    await backend.release();
    await all;
    // After the refresh, the new version is served, still before the old value's expiry, without another read.
    expect((await resolver.resolve(REF)).text()).toBe('s-2');
    expect(backend.started).toBe(2);
  });

  it('serves the new version after the refresh, tells listeners, and zeroes only the replaced cached copy', async () => {
    const { backend, resolver, clock, start } = await setup();
    const changes: SecretChange[] = [];
    resolver.onChange((c) => changes.push(c));
    await backend.write('exchanges/binance', SecretValue.fromText(V2));
    clock.now = start + TTL - WINDOW; // the first instant of the window
    const held = await resolver.resolve(REF);
    expect(held.text()).toBe('s-1');
    await backend.release();
    expect((await resolver.resolve(REF)).text()).toBe('s-2');
    expect(changes).toEqual([{ reference: 'local:exchanges/binance', previousVersion: '1', version: '2' }]);
    // SECURITY: the cache's copy of version 1 is zeroed once replaced; the copy the caller owns is the caller's.
    const [cachedV1, cachedV2] = backend.handedOut;
    expect(cachedV1?.zeroed).toBe(true);
    expect(cachedV2?.zeroed).toBe(false);
    expect(held.text()).toBe('s-1');
    clock.now = start + TTL + 1; // past the first value's TTL: the refreshed one is still fresh
    expect((await resolver.resolve(REF)).text()).toBe('s-2');
    expect(backend.started).toBe(2);
  });

  it('keeps the cached value until expiry when the refresh fails, asks once, logs no value, then fails', async () => {
    const { backend, resolver, clock, logs, start } = await setup();
    backend.unavailable = true;
    clock.now = start + TTL - WINDOW / 2;
    for (let i = 0; i < 100; i++) expect((await resolver.resolve(REF)).text()).toBe('s-1');
    await backend.release();
    // One refresh attempt for the entry, not one per read: a failing backend (or open circuit) is left alone.
    expect(backend.started).toBe(2);
    expect(logs).toEqual([
      {
        level: 'warn',
        message: 'background refresh of a cached secret failed; the cached value is used until it expires',
        fields: { reference: 'local:exchanges/binance', code: 'COFRE_BACKEND_UNAVAILABLE' },
      },
    ]);
    expect(JSON.stringify(logs)).not.toMatch(/s-1|k-1/);
    clock.now = start + TTL - 1;
    expect((await resolver.resolve(REF)).text()).toBe('s-1');
    clock.now = start + TTL; // expired, and staleIfError is 0: the backend's error, as without refresh-ahead
    const err = await resolver.resolve(REF).catch((e: unknown) => e);
    expect(isCofreError(err, 'COFRE_BACKEND_UNAVAILABLE')).toBe(true);
  });

  it('evicts at once when the refresh finds the secret gone (fail closed), without waiting for expiry', async () => {
    const { backend, resolver, clock, start } = await setup();
    await backend.remove('exchanges/binance');
    clock.now = start + TTL - WINDOW;
    expect((await resolver.resolve(REF)).text()).toBe('s-1'); // served; the refresh learns the secret is gone
    await backend.release();
    const err = await resolver.resolve(REF).catch((e: unknown) => e);
    expect(isCofreError(err, 'COFRE_SECRET_NOT_FOUND')).toBe(true);
  });

  it('invalidation wins over a refresh in flight: the old value it carries never returns to the cache', async () => {
    const { backend, resolver, clock, start } = await setup();
    clock.now = start + TTL - WINDOW;
    backend.hold();
    expect((await resolver.resolve(REF)).text()).toBe('s-1'); // starts a refresh, which reads version 1 and is held
    expect(backend.started).toBe(2);
    // A write through the resolver's owner, then the invalidation it triggers, while the refresh is in flight.
    await backend.write('exchanges/binance', SecretValue.fromText(V2));
    resolver.invalidate('local:exchanges/binance');
    await backend.release();
    expect((await resolver.resolve(REF)).text()).toBe('s-2');
    expect(backend.started).toBe(3); // the invalidation made the next read ask the backend
    // SECURITY: the refresh's stale value was dropped and zeroed, not cached.
    expect(backend.handedOut[1]?.zeroed).toBe(true);
    expect((await resolver.resolve(REF)).text()).toBe('s-2');
  });

  it('invalidation during a refresh also starts a fresh read for callers that arrive before it returns', async () => {
    const { backend, resolver, clock, start } = await setup();
    clock.now = start + TTL - WINDOW;
    backend.hold();
    (await resolver.resolve(REF)).zero(); // refresh in flight, carrying version 1
    await backend.write('exchanges/binance', SecretValue.fromText(V2));
    resolver.invalidate();
    const { all } = await resolveAll(resolver, 10); // must not join the refresh started before the invalidation
    await backend.release();
    expect(new Set((await all).map((v) => v.text()))).toEqual(new Set(['s-2']));
    expect(backend.started).toBe(3);
  });

  it('keeps single-flight across an invalidation: the abandoned read returning does not unseat the new one', async () => {
    const { backend, resolver, clock, start } = await setup();
    clock.now = start + TTL - WINDOW;
    backend.hold();
    (await resolver.resolve(REF)).zero(); // refresh A in flight
    resolver.invalidate();
    const first = resolver.resolve(REF); // read B in flight, A abandoned
    await backend.releaseOne('oldest'); // A returns while B is still out
    const second = resolver.resolve(REF); // must share B
    await backend.release();
    expect((await first).text()).toBe('s-1');
    expect((await second).text()).toBe('s-1');
    expect(backend.started).toBe(3); // warm, A, B
  });

  it('close wins over a refresh in flight: its value is zeroed, not cached', async () => {
    const { backend, resolver, clock, start } = await setup();
    clock.now = start + TTL - WINDOW;
    backend.hold();
    (await resolver.resolve(REF)).zero(); // the refresh is in flight
    await resolver.close();
    await backend.release();
    // SECURITY: nothing the closed resolver received stays in memory unzeroed.
    expect(backend.handedOut.map((v) => v.zeroed)).toEqual([true, true]);
    (await resolver.resolve(REF)).zero(); // the cache was left empty: a new backend read
    expect(backend.started).toBe(3);
  });

  it('refreshes only entries that are read: an unused secret is not polled', async () => {
    const { backend, resolver, clock, start } = await setup();
    await backend.write('exchanges/kraken', SecretValue.fromText('{"secret":"kr-1"}'));
    expect((await resolver.resolve('local:exchanges/kraken#secret')).text()).toBe('kr-1');
    clock.now = start + TTL - 1; // both entries are in their window; only binance is read
    await resolver.resolve(REF);
    await backend.release();
    clock.now = start + TTL + 10 * TTL; // kraken expires unread
    await macrotask();
    expect(backend.paths).toEqual(['exchanges/binance', 'exchanges/kraken', 'exchanges/binance']);
  });

  it('refreshAheadMs: 0 turns it off for one backend while another keeps it', async () => {
    const on = new HeldBackend('on');
    const off = new HeldBackend('off');
    for (const b of [on, off]) await b.write('k', SecretValue.fromText('v'));
    const clock = { now: 0 };
    const resolver = new SecretResolver({
      backends: [on, off],
      cache: { off: { ttlMs: TTL, staleIfErrorMs: 0, refreshAheadMs: 0 } },
      defaultCache: { ttlMs: TTL, staleIfErrorMs: 0, refreshAheadMs: 500 },
      now: () => clock.now,
    });
    await resolver.resolve('on:k');
    await resolver.resolve('off:k');
    clock.now = TTL - 500; // the start of the 500 ms window
    await resolver.resolve('on:k');
    await resolver.resolve('off:k');
    await on.release();
    expect([on.started, off.started]).toEqual([2, 1]);
  });

  it('refreshes ahead of a record’s own expiry, once per lease end that does not move', async () => {
    const backend = new HeldBackend('db');
    await backend.write('creds', SecretValue.fromText('lease-1'));
    const clock = { now: 0 };
    // A leased backend: the record ends at 500, long before the TTL.
    const leased = Object.assign(Object.create(backend) as HeldBackend, {
      read: async (...args: Parameters<HeldBackend['read']>) => ({
        ...(await backend.read(...args)),
        expiresAt: new Date(500),
      }),
    });
    const resolver = new SecretResolver({
      backends: [leased],
      defaultCache: { ttlMs: 10_000, staleIfErrorMs: 0, refreshAheadMs: 100 },
      now: () => clock.now,
    });
    await resolver.resolve('db:creds');
    clock.now = 399;
    await resolver.resolve('db:creds');
    expect(backend.started).toBe(1); // before the lease's window
    clock.now = 400;
    await resolver.resolve('db:creds');
    await backend.release();
    expect(backend.started).toBe(2); // refreshed ahead of the lease end
    // The refresh brought the same lease end: reading again does not refresh on every read.
    clock.now = 450;
    await resolver.resolve('db:creds');
    await backend.release();
    expect(backend.started).toBe(2);
    clock.now = 500;
    await expect(resolver.resolve('db:creds')).resolves.toBeDefined(); // expired: a blocking read, as before
    expect(backend.started).toBe(3);
  });
});

type Step =
  | { readonly kind: 'advance'; readonly ms: number }
  | {
      readonly kind:
        'read' | 'write' | 'write+invalidate' | 'hold' | 'release' | 'release-newest' | 'outage' | 'tick';
    };

const STEP = fc.oneof(
  // Steps of time that land before, in and past the refresh window and the TTL (plain integers bias towards 0).
  fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(0, 1, 50, 150, 300, 600, 1_000) }),
  fc.constantFrom<Step>(
    { kind: 'read' },
    { kind: 'read' },
    { kind: 'write' },
    { kind: 'write+invalidate' },
    { kind: 'hold' },
    { kind: 'release' },
    { kind: 'release-newest' },
    { kind: 'outage' },
    { kind: 'tick' },
  ),
);

describe('SecretResolver refresh-ahead under any interleaving (property)', () => {
  it('never serves a value older than the last invalidation, never hands out a zeroed value, leaks no copy', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(STEP, { maxLength: 40, size: 'medium' }), async (steps) => {
        const backend = new HeldBackend('local');
        await backend.write('k', SecretValue.fromText('v1'));
        let version = 1;
        let floor = 0; // the version every read started from now on must see, at least
        const clock = { now: 0 };
        const resolver = new SecretResolver({
          backends: [backend],
          cache: { local: { ttlMs: TTL, staleIfErrorMs: 500 } },
          now: () => clock.now,
        });
        const outcomes: Promise<void>[] = [];
        for (const step of steps) {
          switch (step.kind) {
            case 'advance':
              // Time passes: what is not held at the backend finishes first. Reads between two advances overlap.
              await macrotask();
              clock.now += step.ms;
              break;
            case 'read': {
              const atLeast = floor;
              outcomes.push(
                resolver.resolve('local:k').then(
                  (value) => {
                    // A zeroed value would throw here: the caller's copy must be live.
                    expect(Number(value.text().slice(1))).toBeGreaterThanOrEqual(atLeast);
                    value.zero();
                  },
                  (err: unknown) => {
                    expect(isCofreError(err, 'COFRE_BACKEND_UNAVAILABLE')).toBe(true);
                  },
                ),
              );
              break;
            }
            case 'write':
            case 'write+invalidate':
              if (backend.unavailable) break;
              await backend.write('k', SecretValue.fromText(`v${++version}`));
              if (step.kind === 'write+invalidate') {
                resolver.invalidate('local:k');
                floor = version;
              }
              break;
            case 'hold':
              backend.hold();
              break;
            case 'release':
              await backend.release();
              break;
            case 'release-newest':
              await backend.releaseOne('newest');
              break;
            case 'outage':
              backend.unavailable = !backend.unavailable;
              break;
            case 'tick':
              await macrotask();
              break;
          }
        }
        await backend.release();
        await Promise.all(outcomes);
        await resolver.close();
        await macrotask();
        // SECURITY: every copy the resolver took from the backend (cached, replaced, cancelled) is zeroed by now.
        expect(backend.handedOut.filter((v) => !v.zeroed)).toHaveLength(0);
      }),
      { numRuns: 300 },
    );
  });
});
