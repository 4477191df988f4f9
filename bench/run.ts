// cofre benchmarks (`npm run bench`). Not a test: nothing here asserts a timing. Each section measures
// alternatives side by side in one run and reports ratios, because the machines are shared and noisy.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { EmbeddedBackend } from '../src/secrets/embedded/embedded-backend.js';
import type { KeySource } from '../src/secrets/embedded/key-source.js';
import { SecretResolver } from '../src/secrets/secret-resolver.js';
import { SecretValue } from '../src/secrets/secret-value.js';

interface Sample {
  readonly label: string;
  readonly ops: number;
  readonly p50us: number;
  readonly p99us: number;
  readonly meanUs: number;
}

async function measure(label: string, iterations: number, op: () => Promise<unknown>): Promise<Sample> {
  for (let i = 0; i < Math.min(50, iterations); i++) await op(); // warm-up
  const times: number[] = [];
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    await op();
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  const total = Number(process.hrtime.bigint() - start) / 1e9;
  times.sort((a, b) => a - b);
  const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? NaN;
  return {
    label,
    ops: iterations / total,
    p50us: at(0.5),
    p99us: at(0.99),
    meanUs: (total * 1e6) / iterations,
  };
}

function report(title: string, samples: readonly Sample[]): void {
  const base = samples[0];
  console.log(`\n## ${title}\n`);
  console.log('| case | ops/s | p50 µs | p99 µs | mean vs first |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const s of samples) {
    const ratio = base === undefined ? 1 : s.meanUs / base.meanUs;
    console.log(
      `| ${s.label} | ${s.ops.toFixed(0)} | ${s.p50us.toFixed(1)} | ${s.p99us.toFixed(1)} | ${ratio.toFixed(2)}x |`,
    );
  }
}

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

const dir = await mkdtemp(join(tmpdir(), 'cofre-bench-'));
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

  report('Secret reads: resolver cache hit vs embedded store read (file read + AES-GCM of the whole store)', [
    await measure('resolver, cached (#field, copy per call)', 20_000, async () => {
      (await resolver.resolve(ref)).zero();
    }),
    await measure('embedded read, 10 secrets', 2_000, async () => {
      (await small.read('exchanges/venue-3', { kind: 'latest' })).value.zero();
    }),
    await measure('embedded read, 1,000 secrets', 500, async () => {
      (await large.read('exchanges/venue-3', { kind: 'latest' })).value.zero();
    }),
  ]);

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
  const { writeFile } = await import('node:fs/promises');
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
} finally {
  await rm(dir, { recursive: true, force: true });
}
