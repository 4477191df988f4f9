import { join } from 'node:path';

import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';

import { CofreError } from '../errors.js';
import { MemoryBackend } from '../testing/memory-backend.js';
import type { BackendLogFields, BackendLogLevel } from './backend-log.js';
import {
  accountCredentialReferences,
  CurrentVersionWatcher,
  type CurrentVersionWatcherOptions,
} from './current-version-watcher.js';
import { EmbeddedBackend } from './embedded/embedded-backend.js';
import { makeTempDir, removeTempDirs } from './embedded/testdata/temp-dirs.js';
import type { SecretBackend, SecretMetadata } from './secret-backend.js';
import { SecretResolver } from './secret-resolver.js';
import { SecretValue } from './secret-value.js';

afterAll(removeTempDirs);
afterEach(() => {
  vi.useRealTimers();
});

const KEY = 'local:exchanges/binance#apiKey';
const SECRET = 'local:exchanges/binance#secret';
/** A TTL no test reaches: only the watcher can make the resolver read again. */
const LONG_CACHE = { ttlMs: 3_600_000, staleIfErrorMs: 0 };

const bundle = (n: number): SecretValue =>
  SecretValue.fromText(JSON.stringify({ apiKey: `key-${n}`, secret: `secret-${n}` }));

/** Counts `describe` calls and how many run at once; `gate`, while set, holds each answer until it settles. */
class CountingBackend {
  describes = 0;
  running = 0;
  maxRunning = 0;
  gate: Promise<void> | undefined;
  failWith: CofreError | undefined;

  constructor(readonly inner: SecretBackend) {}

  asBackend(): SecretBackend {
    return Object.assign(Object.create(this.inner) as SecretBackend, {
      name: this.inner.name,
      describe: (path: string) => this.describe(path),
      read: this.inner.read.bind(this.inner),
      close: this.inner.close.bind(this.inner),
    });
  }

  async describe(path: string): Promise<SecretMetadata> {
    this.describes++;
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      if (this.failWith !== undefined) throw this.failWith;
      // Answered as the backend stood when asked, however long the answer then takes to arrive.
      const answer = await this.inner.describe(path);
      await this.gate;
      return answer;
    } finally {
      this.running--;
    }
  }
}

interface LogLine {
  readonly level: BackendLogLevel;
  readonly message: string;
  readonly fields: BackendLogFields | undefined;
}

function setup(
  backend: SecretBackend,
  options: Partial<CurrentVersionWatcherOptions> = {},
): { counting: CountingBackend; resolver: SecretResolver; watcher: CurrentVersionWatcher; logs: LogLine[] } {
  const counting = new CountingBackend(backend);
  const resolver = new SecretResolver({ backends: [counting.asBackend()], defaultCache: LONG_CACHE });
  const logs: LogLine[] = [];
  const watcher = new CurrentVersionWatcher({
    resolver,
    references: [KEY, SECRET],
    intervalMs: 0,
    log: (level, message, fields) => logs.push({ level, message, fields }),
    ...options,
  });
  return { counting, resolver, watcher, logs };
}

/** Two instances of one embedded store file: `ours` serves the broker, `theirs` is another process (the CLI). */
async function twoStoreInstances(): Promise<{ ours: EmbeddedBackend; theirs: EmbeddedBackend }> {
  const dir = await makeTempDir();
  const file = join(dir, 'store.cofre');
  const key = { kind: 'key-file', path: join(dir, 'store.key') } as const;
  const ours = await EmbeddedBackend.create(file, key);
  await ours.write('exchanges/binance', bundle(1));
  return { ours, theirs: await EmbeddedBackend.open(file, key) };
}

/** What another process does to rotate: the new key written as `pending`, then promoted to `current`. */
async function promote(backend: SecretBackend, n: number): Promise<string> {
  const version = await backend.write('exchanges/binance', bundle(n), { stage: 'pending' });
  await backend.moveStage('exchanges/binance', 'current', version);
  return version;
}

const apiKey = async (resolver: SecretResolver): Promise<string> => (await resolver.resolve(KEY)).text();

describe('CurrentVersionWatcher', () => {
  it('reloads a version another instance of the embedded store promoted; a pending one is not served', async () => {
    const { ours, theirs } = await twoStoreInstances();
    const { counting, resolver, watcher, logs } = setup(ours);
    expect(await apiKey(resolver)).toBe('key-1');
    expect(await watcher.checkNow()).toEqual([]);

    // Written as pending only: nothing changes for the broker.
    const pending = await theirs.write('exchanges/binance', bundle(2), { stage: 'pending' });
    expect(await watcher.checkNow()).toEqual([]);
    expect(await apiKey(resolver)).toBe('key-1');

    await theirs.moveStage('exchanges/binance', 'current', pending);
    // The cache still holds the old version until the watcher looks (the TTL is an hour).
    expect(await apiKey(resolver)).toBe('key-1');
    expect(await watcher.checkNow()).toEqual([
      { reference: 'local:exchanges/binance', previousVersion: '1', version: '2' },
    ]);
    expect(await apiKey(resolver)).toBe('key-2');
    expect((await resolver.resolve(SECRET)).text()).toBe('secret-2');
    // One describe per distinct path and poll, however many references read it.
    expect(counting.describes).toBe(3);
    expect(logs).toEqual([
      {
        level: 'info',
        message: 'a new version of a credential is current; the next request reads it',
        fields: { reference: 'local:exchanges/binance', previousVersion: '1', version: '2' },
      },
    ]);
    expect(JSON.stringify(logs)).not.toMatch(/key-|secret-/);
    // Seen once: the next poll changes nothing.
    expect(await watcher.checkNow()).toEqual([]);
    await theirs.close();
    await resolver.close();
  });

  it('drops a cached value older than current on its first poll (read before the watcher first looked)', async () => {
    const backend = new MemoryBackend('local');
    await backend.write('exchanges/binance', bundle(1));
    const { resolver, watcher } = setup(backend);
    expect(await apiKey(resolver)).toBe('key-1');
    await promote(backend, 2);
    expect(await watcher.checkNow()).toEqual([
      { reference: 'local:exchanges/binance', previousVersion: '1', version: '2' },
    ]);
    expect(await apiKey(resolver)).toBe('key-2');
  });

  it('follows latest and @stage=current only; pinned references are never polled', () => {
    const { watcher } = setup(new MemoryBackend('local'), {
      references: [
        KEY,
        SECRET,
        'local:a@stage=current',
        'local:b@3',
        'local:c#x@stage=previous',
        'local:d@stage=pending',
        'other:e',
      ],
    });
    expect(watcher.paths).toEqual(['local:a', 'local:exchanges/binance', 'other:e']);
  });

  it('logs a failed poll with the reference and code only, keeps serving, and catches up on the next one', async () => {
    const backend = new MemoryBackend('local');
    await backend.write('exchanges/binance', bundle(1));
    const { counting, resolver, watcher, logs } = setup(backend);
    expect(await apiKey(resolver)).toBe('key-1');
    await watcher.checkNow();
    await promote(backend, 2);
    counting.failWith = new CofreError('COFRE_BACKEND_UNAVAILABLE', 'backend down; key-2 must not be logged');
    expect(await watcher.checkNow()).toEqual([]);
    expect(logs).toEqual([
      {
        level: 'warn',
        message: 'could not ask which version of a credential is current; asking again next interval',
        fields: { reference: 'local:exchanges/binance', code: 'COFRE_BACKEND_UNAVAILABLE' },
      },
    ]);
    expect(await apiKey(resolver)).toBe('key-1');
    counting.failWith = undefined;
    expect(await watcher.checkNow()).toHaveLength(1);
    expect(await apiKey(resolver)).toBe('key-2');
  });

  it('asks a backend that cannot describe a path once, then leaves it alone', async () => {
    const { counting, watcher, logs } = setup(new MemoryBackend('local'));
    counting.failWith = new CofreError('COFRE_BACKEND_UNSUPPORTED', 'no describe here');
    await watcher.checkNow();
    await watcher.checkNow();
    expect(counting.describes).toBe(1);
    expect(logs.map((l) => [l.level, l.fields])).toEqual([
      ['info', { reference: 'local:exchanges/binance' }],
    ]);
  });

  it('never runs two polls at once: checks asked during a poll share one poll after it', async () => {
    const backend = new MemoryBackend('local');
    await backend.write('exchanges/binance', bundle(1));
    const { counting, resolver, watcher } = setup(backend);
    expect(await apiKey(resolver)).toBe('key-1');
    let open = (): void => undefined;
    counting.gate = new Promise((resolve) => {
      open = resolve;
    });
    const first = watcher.checkNow();
    // A promotion lands while the first poll is asking: the checks asked after it must see it.
    await promote(backend, 2);
    const later = [watcher.checkNow(), watcher.checkNow(), watcher.checkNow()];
    expect(counting.describes).toBe(1);
    counting.gate = undefined;
    open();
    expect(await first).toEqual([]);
    const [a, b, c] = await Promise.all(later);
    expect(counting.describes).toBe(2);
    expect(counting.maxRunning).toBe(1);
    expect(a).toEqual([{ reference: 'local:exchanges/binance', previousVersion: '1', version: '2' }]);
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(await apiKey(resolver)).toBe('key-2');
  });

  it('polls every intervalMs once started, the first one interval after start; stops on close; 0 never polls', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const backend = new MemoryBackend('local');
    await backend.write('exchanges/binance', bundle(1));
    const { counting, resolver, watcher } = setup(backend, { intervalMs: 30_000 });
    expect(await apiKey(resolver)).toBe('key-1');
    watcher.start();
    watcher.start();
    await vi.advanceTimersByTimeAsync(29_999);
    expect(counting.describes).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(counting.describes).toBe(1);
    await promote(backend, 2);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(counting.describes).toBe(1);
    expect(await apiKey(resolver)).toBe('key-1');
    await vi.advanceTimersByTimeAsync(1);
    expect(counting.describes).toBe(2);
    expect(await apiKey(resolver)).toBe('key-2');
    await watcher.close();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(counting.describes).toBe(2);

    const off = setup(backend, { intervalMs: 0 });
    off.watcher.start();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(off.counting.describes).toBe(0);
  });

  it('lists every account credential reference once', () => {
    const credentials = { apiKey: KEY, secret: SECRET };
    expect(
      accountCredentialReferences({
        accounts: {
          a: { credentials },
          b: { credentials: { ...credentials, password: 'vault:p' } },
        },
      } as unknown as Parameters<typeof accountCredentialReferences>[0]),
    ).toEqual([KEY, SECRET, 'vault:p']);
  });
});
