// Issue 12, what hot reload and the overlap window rely on in the resolver: the version it has cached, and a TTL
// counted from when the backend was asked.
import { describe, expect, it } from 'vitest';

import { MemoryBackend } from '../testing/memory-backend.js';
import type { SecretRecord } from './secret-backend.js';
import type { VersionSelector } from './secret-reference.js';
import { SecretValue } from './secret-value.js';
import { resolverWithClock, TEST_CACHE_POLICY } from './testdata/resolver-with-clock.js';

const policy = TEST_CACHE_POLICY;

/** A backend whose reads answer as it stood when asked, then wait for `slow` (a slow network) if set. */
class SlowBackend extends MemoryBackend {
  slow: Promise<void> | undefined;

  override async read(path: string, selector: VersionSelector): Promise<SecretRecord> {
    const record = await super.read(path, selector);
    await this.slow;
    return record;
  }
}

async function setup(): Promise<ReturnType<typeof resolverWithClock<SlowBackend>>> {
  const backend = new SlowBackend('local');
  await backend.write('k', SecretValue.fromText('old'));
  return resolverWithClock(backend);
}

describe('SecretResolver and rotation', () => {
  it('tells the version it has cached for a reference (any field of it), and nothing once invalidated', async () => {
    const { backend, resolver } = await setup();
    expect(resolver.cachedVersion('local:k')).toBeUndefined();
    await resolver.resolve('local:k');
    expect(resolver.cachedVersion('local:k')).toBe('1');
    expect(resolver.cachedVersion('local:k#field')).toBe('1');
    expect(resolver.cachedVersion('local:k@1')).toBeUndefined();
    await backend.write('k', SecretValue.fromText('new'));
    expect(resolver.cachedVersion('local:k')).toBe('1');
    resolver.invalidate('local:k');
    expect(resolver.cachedVersion('local:k')).toBeUndefined();
  });

  it('counts the TTL from when the backend was asked: a slow read of the old version is not served longer', async () => {
    const { backend, resolver, clock } = await setup();
    let answer = (): void => undefined;
    backend.slow = new Promise((resolve) => {
      answer = resolve;
    });
    const asked = clock.now;
    const reading = resolver.resolve('local:k');
    // The promotion lands while the answer (the old version) is on its way, which takes most of the TTL.
    const version = await backend.write('k', SecretValue.fromText('new'), { stage: 'pending' });
    await backend.moveStage('k', 'current', version);
    clock.now = asked + policy.ttlMs - 1;
    answer();
    expect((await reading).text()).toBe('old');
    backend.slow = undefined;
    expect((await resolver.resolve('local:k')).text()).toBe('old');
    // One TTL after the read was asked for (before the promotion), the new version is read.
    clock.now = asked + policy.ttlMs;
    expect((await resolver.resolve('local:k')).text()).toBe('new');
  });
});
