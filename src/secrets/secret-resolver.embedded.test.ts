import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EmbeddedBackend } from './embedded/embedded-backend.js';
import type { SecretBackend } from './secret-backend.js';
import { SecretResolver } from './secret-resolver.js';
import { SecretValue } from './secret-value.js';

// The same single-flight guarantee as secret-resolver.test.ts, on the real embedded store: its reads go to disk,
// so concurrent callers really overlap.
describe('SecretResolver over the embedded store', () => {
  let dir: string;
  let store: EmbeddedBackend;
  let reads = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cofre-resolver-'));
    store = await EmbeddedBackend.create(join(dir, 's.store'), {
      kind: 'key-file',
      path: join(dir, 's.key'),
    });
    await store.write('exchanges/binance', SecretValue.fromText('{"apiKey":"k","secret":"s"}'));
  });

  afterAll(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('turns 1,000 concurrent reads of a cold secret into exactly one store read', async () => {
    // Count reads at the contract boundary; every call still goes to the real store.
    const counted: SecretBackend = Object.create(store) as SecretBackend;
    counted.read = (...args) => {
      reads++;
      return store.read(...args);
    };
    const resolver = new SecretResolver({ backends: [counted] });
    const values = await Promise.all(
      Array.from({ length: 1_000 }, () => resolver.resolve('local:exchanges/binance#secret')),
    );
    expect(reads).toBe(1);
    expect(values.every((v) => v.text() === 's')).toBe(true);
  });
});
