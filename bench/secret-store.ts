// Secret layer benchmarks: a cached read through the resolver (what the request path pays) against reads, writes
// and opens of the embedded store; and what callers wait when a cached value expires, with and without
// refresh-ahead (issue 11).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { EmbeddedBackend } from '../src/secrets/embedded/embedded-backend.js';
import type { KeySource } from '../src/secrets/embedded/key-source.js';
import { SecretResolver } from '../src/secrets/secret-resolver.js';
import { SecretValue } from '../src/secrets/secret-value.js';
import { MemoryBackend } from '../src/testing/memory-backend.js';
import { measure, quantile, report } from './measure.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';

async function storeWith(
  dir: string,
  name: string,
  secrets: number,
  key: KeySource,
): Promise<EmbeddedBackend> {
  const store = await EmbeddedBackend.create(join(dir, `${name}.store`), key);
  for (let i = 0; i < secrets; i++) {
    await store.write(
      `exchanges/venue-${i}`,
      SecretValue.fromText(JSON.stringify({ apiKey: `k${i}`, secret: `s${i}`.repeat(16) })),
    );
  }
  return store;
}

// The refresh-ahead case uses the default window (a fifth of the TTL); the traffic read falls inside it.
const EXPIRY = {
  backendMs: 50,
  ttlMs: 500,
  refreshAheadMs: 100,
  trafficBeforeExpiryMs: 80,
  callers: 100,
  rounds: 8,
} as const;

function sleepUntil(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - performance.now())));
}

/**
 * Each round: a value is fetched (the backend takes 50 ms), read once by ordinary traffic 80 ms before it expires,
 * then 100 callers ask for it together 1 ms after its TTL ends. Returns every caller's wait (ms) and the backend
 * reads per round. `refreshAheadMs: 0` is the behaviour before issue 11.
 */
async function expiryBurst(refreshAheadMs: number): Promise<{ waits: number[]; readsPerRound: number }> {
  const backend = new MemoryBackend('slow');
  await backend.write('exchanges/venue', SecretValue.fromText('{"secret":"s"}'));
  backend.readDelayMs = EXPIRY.backendMs;
  const resolver = new SecretResolver({
    backends: [backend],
    defaultCache: { ttlMs: EXPIRY.ttlMs, staleIfErrorMs: 0, refreshAheadMs },
    now: () => performance.now(),
  });
  const ref = 'slow:exchanges/venue#secret';
  const waits: number[] = [];
  for (let round = 0; round < EXPIRY.rounds; round++) {
    resolver.invalidate();
    (await resolver.resolve(ref)).zero();
    const fetchedAt = performance.now();
    await sleepUntil(fetchedAt + EXPIRY.ttlMs - EXPIRY.trafficBeforeExpiryMs);
    (await resolver.resolve(ref)).zero();
    await sleepUntil(fetchedAt + EXPIRY.ttlMs + 1);
    await Promise.all(
      Array.from({ length: EXPIRY.callers }, async () => {
        const t0 = performance.now();
        const value = await resolver.resolve(ref);
        waits.push(performance.now() - t0);
        value.zero();
      }),
    );
  }
  await resolver.close();
  return { waits: waits.sort((a, b) => a - b), readsPerRound: backend.reads / EXPIRY.rounds };
}

/** Prints the refresh-ahead side-by-side table. */
async function refreshAheadBench(): Promise<void> {
  const cases = [
    { label: 'refresh-ahead off (before issue 11)', refreshAheadMs: 0 },
    {
      label: `refresh-ahead ${EXPIRY.refreshAheadMs} ms (default: last fifth of the TTL)`,
      refreshAheadMs: EXPIRY.refreshAheadMs,
    },
  ];
  console.log(
    `\n## Secret refresh-ahead: ${EXPIRY.callers} callers at the moment a cached value expires ` +
      `(backend read ${EXPIRY.backendMs} ms, TTL ${EXPIRY.ttlMs} ms, ${EXPIRY.rounds} rounds)\n`,
  );
  console.log('| case | backend reads per round | p50 wait ms | p99 wait ms | max wait ms |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const c of cases) {
    const { waits, readsPerRound } = await expiryBurst(c.refreshAheadMs);
    const ms = (q: number): string => quantile(waits, q).toFixed(2);
    console.log(`| ${c.label} | ${readsPerRound} | ${ms(0.5)} | ${ms(0.99)} | ${ms(1)} |`);
  }
}

/** Prints the secret-layer tables. */
export async function secretStoreBench(): Promise<void> {
  const dir = await makeTempDir('cofre-bench-');
  try {
    const keyFile: KeySource = { kind: 'key-file', path: join(dir, 'bench.key') };
    const small = await storeWith(dir, 'small', 10, keyFile);
    const large = await storeWith(dir, 'large', 1000, keyFile);
    const resolver = new SecretResolver({
      backends: [small],
      defaultCache: { ttlMs: 60_000, staleIfErrorMs: 0 },
    });
    const ref = 'local:exchanges/venue-3#secret';
    (await resolver.resolve(ref)).zero();

    report(
      'Secret reads: resolver cache hit vs embedded store read (file read + AES-GCM of the whole store)',
      [
        await measure('resolver, cached (#field, copy per call)', 20_000, async () => {
          (await resolver.resolve(ref)).zero();
        }),
        await measure('embedded read, 10 secrets', 2_000, async () => {
          (await small.read('exchanges/venue-3', { kind: 'latest' })).value.zero();
        }),
        await measure('embedded read, 1,000 secrets', 500, async () => {
          (await large.read('exchanges/venue-3', { kind: 'latest' })).value.zero();
        }),
      ],
    );

    let n = 0;
    report('Secret writes (lock, re-read, encrypt, temp file, fsync, rename, fsync dir)', [
      await measure('embedded write, 10 secrets', 200, () =>
        small.write('exchanges/venue-1', SecretValue.fromText(`v${n++}`)),
      ),
      await measure('embedded write, 1,000 secrets', 100, () =>
        large.write('exchanges/venue-1', SecretValue.fromText(`v${n++}`)),
      ),
    ]);

    // Opening cost is dominated by the KDF: a key file needs none, a passphrase pays scrypt (N=2^17, r=8, p=1).
    const passFile = join(dir, 'pass.txt');
    await writeFile(passFile, 'correct horse battery staple\n', { mode: 0o600 });
    const passStore = await EmbeddedBackend.create(join(dir, 'pass.store'), {
      kind: 'passphrase-file',
      path: passFile,
    });
    await passStore.close();
    report('Opening a store (verifies the key and authenticates the whole file)', [
      await measure('key file, 10 secrets', 50, async () =>
        (await EmbeddedBackend.open(small.storePath, keyFile)).close(),
      ),
      await measure('passphrase (scrypt N=2^17), empty store', 5, async () =>
        (
          await EmbeddedBackend.open(join(dir, 'pass.store'), { kind: 'passphrase-file', path: passFile })
        ).close(),
      ),
    ]);

    const before = process.memoryUsage();
    const values = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => resolver.resolve(`local:exchanges/venue-${i % 10}`)),
    );
    const after = process.memoryUsage();
    console.log(
      `\n## Memory\n\n1,000 resolved values held at once: heap +${((after.heapUsed - before.heapUsed) / 1024).toFixed(0)} KiB, ` +
        `external (Buffers) +${((after.external - before.external) / 1024).toFixed(0)} KiB`,
    );
    for (const v of values) v.zero();
    await Promise.all([small.close(), large.close(), resolver.close()]);
    await refreshAheadBench();
  } finally {
    await removeTempDir(dir);
  }
}
