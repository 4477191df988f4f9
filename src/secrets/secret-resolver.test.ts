import { describe, expect, it } from 'vitest';

import { isCofreError } from '../errors.js';
import { MemoryBackend } from '../testing/memory-backend.js';
import { type SecretChange, SecretResolver } from './secret-resolver.js';
import { SecretValue } from './secret-value.js';
import { resolverWithClock, TEST_CACHE_POLICY } from './testdata/resolver-with-clock.js';

const policy = TEST_CACHE_POLICY;

async function setup(): Promise<ReturnType<typeof resolverWithClock<MemoryBackend>>> {
  const backend = new MemoryBackend('local');
  await backend.write('exchanges/binance', SecretValue.fromText('{"apiKey":"k-1","secret":"s-1"}'));
  return resolverWithClock(backend);
}

describe('SecretResolver', () => {
  it('resolves a whole value and a #field', async () => {
    const { resolver } = await setup();
    expect((await resolver.resolve('local:exchanges/binance')).text()).toBe(
      '{"apiKey":"k-1","secret":"s-1"}',
    );
    expect((await resolver.resolve('local:exchanges/binance#secret')).text()).toBe('s-1');
  });

  it('serves from cache within the TTL and asks the backend again after it', async () => {
    const { backend, resolver, clock } = await setup();
    await resolver.resolve('local:exchanges/binance#apiKey');
    await resolver.resolve('local:exchanges/binance#secret'); // same cache entry, other field
    expect(backend.reads).toBe(1);
    clock.now += policy.ttlMs;
    await resolver.resolve('local:exchanges/binance#apiKey');
    expect(backend.reads).toBe(2);
  });

  it('single-flight: 1,000 concurrent reads of a cold secret cause exactly one backend read', async () => {
    const { backend, resolver } = await setup();
    backend.readDelayMs = 20;
    const values = await Promise.all(
      Array.from({ length: 1_000 }, () => resolver.resolve('local:exchanges/binance#secret')),
    );
    expect(backend.reads).toBe(1);
    expect(new Set(values.map((v) => v.text()))).toEqual(new Set(['s-1']));
  });

  it('hands each caller its own copy: zeroing one leaves the cache intact', async () => {
    const { resolver } = await setup();
    const first = await resolver.resolve('local:exchanges/binance');
    first.zero();
    expect((await resolver.resolve('local:exchanges/binance#apiKey')).text()).toBe('k-1');
  });

  it('serves a stale value while the backend is unavailable, but not past the stale bound', async () => {
    const { backend, resolver, clock } = await setup();
    await resolver.resolve('local:exchanges/binance#secret');
    backend.unavailable = true;
    clock.now += policy.ttlMs + policy.staleIfErrorMs - 1;
    expect((await resolver.resolve('local:exchanges/binance#secret')).text()).toBe('s-1');
    clock.now += 1;
    const err = await resolver.resolve('local:exchanges/binance#secret').catch((e: unknown) => e);
    expect(isCofreError(err, 'COFRE_BACKEND_UNAVAILABLE')).toBe(true);
    expect((err as { retryable: boolean }).retryable).toBe(true);
  });

  it('recovers when the backend comes back', async () => {
    const { backend, resolver, clock } = await setup();
    await resolver.resolve('local:exchanges/binance');
    backend.unavailable = true;
    clock.now += policy.ttlMs + policy.staleIfErrorMs;
    await expect(resolver.resolve('local:exchanges/binance')).rejects.toThrow(/unavailable/);
    backend.unavailable = false;
    expect((await resolver.resolve('local:exchanges/binance#apiKey')).text()).toBe('k-1');
  });

  it('never serves stale after the backend says the secret is gone (fail closed)', async () => {
    const { backend, resolver, clock } = await setup();
    await resolver.resolve('local:exchanges/binance');
    await backend.remove('exchanges/binance');
    clock.now += policy.ttlMs;
    const err = await resolver.resolve('local:exchanges/binance').catch((e: unknown) => e);
    expect(isCofreError(err, 'COFRE_SECRET_NOT_FOUND')).toBe(true);
    backend.unavailable = true;
    const again = await resolver.resolve('local:exchanges/binance').catch((e: unknown) => e);
    expect(isCofreError(again, 'COFRE_BACKEND_UNAVAILABLE')).toBe(true);
  });

  it('never serves a record past its own expiry, stale or not', async () => {
    const backend = new MemoryBackend('db');
    await backend.write('creds', SecretValue.fromText('lease-1'));
    const clock = { now: 0 };
    // A leased backend: the record carries expiresAt.
    const leased: MemoryBackend = Object.assign(Object.create(backend) as MemoryBackend, {
      read: async (...args: Parameters<MemoryBackend['read']>) => ({
        ...(await backend.read(...args)),
        expiresAt: new Date(500),
      }),
    });
    const resolver = new SecretResolver({
      backends: [leased],
      defaultCache: { ttlMs: 10_000, staleIfErrorMs: 10_000 },
      now: () => clock.now,
    });
    await resolver.resolve('db:creds');
    backend.unavailable = true;
    clock.now = 499;
    expect((await resolver.resolve('db:creds')).text()).toBe('lease-1');
    clock.now = 500;
    await expect(resolver.resolve('db:creds')).rejects.toThrow(/unavailable/);
  });

  it('invalidates one reference, a whole backend, or everything, and tells listeners', async () => {
    const { backend, resolver } = await setup();
    const changes: SecretChange[] = [];
    resolver.onChange((c) => changes.push(c));
    await resolver.resolve('local:exchanges/binance#secret');
    resolver.invalidate('local:exchanges/binance#apiKey');
    expect(changes).toEqual([
      { reference: 'local:exchanges/binance', previousVersion: '1', version: undefined },
    ]);
    await resolver.resolve('local:exchanges/binance');
    expect(backend.reads).toBe(2);
    resolver.invalidate({ backend: 'local' });
    await resolver.resolve('local:exchanges/binance');
    resolver.invalidate();
    await resolver.resolve('local:exchanges/binance');
    expect(backend.reads).toBe(4);
  });

  it('emits a change when a refresh finds a new version', async () => {
    const { backend, resolver, clock } = await setup();
    const changes: SecretChange[] = [];
    resolver.onChange((c) => changes.push(c));
    await resolver.resolve('local:exchanges/binance');
    await backend.write('exchanges/binance', SecretValue.fromText('{"apiKey":"k-2","secret":"s-2"}'));
    clock.now += policy.ttlMs;
    expect((await resolver.resolve('local:exchanges/binance#apiKey')).text()).toBe('k-2');
    expect(changes).toEqual([{ reference: 'local:exchanges/binance', previousVersion: '1', version: '2' }]);
  });

  it('caches versions and stages separately', async () => {
    const { backend, resolver } = await setup();
    await backend.write('exchanges/binance', SecretValue.fromText('{"apiKey":"k-2"}'), { stage: 'pending' });
    expect((await resolver.resolve('local:exchanges/binance#apiKey@stage=pending')).text()).toBe('k-2');
    expect((await resolver.resolve('local:exchanges/binance#apiKey')).text()).toBe('k-1');
    expect((await resolver.resolve('local:exchanges/binance#apiKey@1')).text()).toBe('k-1');
  });

  it('names the reference, never the value, when a field is missing or the value is not JSON', async () => {
    const { backend, resolver } = await setup();
    const missing = await resolver.resolve('local:exchanges/binance#password').catch((e: unknown) => e);
    expect(isCofreError(missing, 'COFRE_SECRET_NOT_FOUND')).toBe(true);
    expect(String(missing)).toContain('local:exchanges/binance#password');
    expect(String(missing)).not.toContain('s-1');
    await backend.write('plain', SecretValue.fromText('not-json-canary-value'));
    const notJson = await resolver.resolve('local:plain#x').catch((e: unknown) => e);
    expect(isCofreError(notJson, 'COFRE_SECRET_FIELD_INVALID')).toBe(true);
    expect(String(notJson)).not.toContain('canary');
  });

  it('rejects an unknown backend and a malformed reference', async () => {
    const { resolver } = await setup();
    await expect(resolver.resolve('vault:secret/x')).rejects.toMatchObject({ code: 'COFRE_BACKEND_UNKNOWN' });
    await expect(resolver.resolve('local:')).rejects.toMatchObject({ code: 'COFRE_REFERENCE_INVALID' });
  });

  it('empties its cache on close', async () => {
    const { backend, resolver } = await setup();
    const record = await resolver.resolveRecord('local:exchanges/binance');
    expect(record.version).toBe('1');
    await resolver.close();
    await resolver.resolve('local:exchanges/binance');
    expect(backend.reads).toBe(2);
  });
});
