import { CofreError, isCofreError } from '../errors.js';
import { type BackendLog, silentLog } from './backend-log.js';
import type { SecretBackend, SecretRecord } from './secret-backend.js';
import { selectSecretField } from './secret-field.js';
import { formatSecretReference, parseSecretReference, type SecretReference } from './secret-reference.js';
import type { SecretValue } from './secret-value.js';

/** Cache policy of one backend. */
export interface CachePolicy {
  /** How long a value read from the backend is served without asking again (ms). 0 disables caching. */
  readonly ttlMs: number;
  /**
   * How long past its TTL a cached value may still be served while the backend is unavailable (ms). After that
   * the resolver fails closed. Only `unavailable` errors qualify: a denied or missing secret is never served stale.
   */
  readonly staleIfErrorMs: number;
  /**
   * Refresh-ahead window (ms): a read of a cached value less than this long before it expires (its TTL, or the
   * record's own `expiresAt` when sooner) is served from cache at once and starts one background read of the
   * backend, so callers do not wait for the value's replacement. Undefined: one fifth of `ttlMs`
   * ({@link defaultRefreshAheadMs}); 0 disables it. Should be shorter than `ttlMs`.
   */
  readonly refreshAheadMs?: number;
}

/** The refresh-ahead window used when a policy sets none: the last fifth of the TTL. */
export function defaultRefreshAheadMs(ttlMs: number): number {
  return Math.floor(ttlMs / 5);
}

/** Emitted when the resolver sees a different version than the one it had, or on explicit invalidation. */
export interface SecretChange {
  /** Canonical reference without `#field` (the unit the resolver caches). */
  readonly reference: string;
  readonly previousVersion: string | undefined;
  /** Undefined when the change is an invalidation and the new version is not known yet. */
  readonly version: string | undefined;
}

export type SecretChangeListener = (change: SecretChange) => void;

/**
 * Hears every value the resolver hands out (`reference`: canonical, without `#field`, the unit of
 * {@link SecretChange}). The value belongs to the caller of `resolve`: a listener that keeps it must copy it.
 */
export type SecretValueListener = (reference: string, value: SecretValue) => void;

/** Options for {@link SecretResolver}. */
export interface SecretResolverOptions {
  readonly backends: readonly SecretBackend[];
  /** Per-backend policy by backend name; backends without one use `defaultCache`. */
  readonly cache?: Readonly<Record<string, CachePolicy>>;
  readonly defaultCache?: CachePolicy;
  /** Injected clock (ms since epoch) for tests. */
  readonly now?: () => number;
  /** Where a failed background refresh is reported (reference and error code only); nothing is logged without it. */
  readonly log?: BackendLog;
}

interface CacheEntry {
  readonly record: SecretRecord;
  /** When the backend was asked for it (not when it answered). */
  readonly fetchedAt: number;
  /** Set once this entry has started its refresh-ahead read (or needs none): one background read per entry. */
  refreshStarted: boolean;
}

/** One backend read of one cache key, shared by every caller that wants it (single-flight). */
interface Flight {
  readonly promise: Promise<SecretRecord>;
  /** Set by an invalidation or close after the read started: its result must not enter the cache. */
  cancelled: boolean;
}

const DEFAULT_CACHE: CachePolicy = { ttlMs: 5 * 60_000, staleIfErrorMs: 60_000 };

/**
 * The one way cofre reads secrets: parses references, routes them to their backend, and adds
 * - a TTL cache (per backend policy);
 * - single-flight: concurrent reads of one cold secret share one backend read;
 * - bounded stale-if-error: when the backend is unavailable, the last value is served until TTL + staleIfError,
 *   never past a record's own `expiresAt`, then the error surfaces (fail closed);
 * - refresh-ahead: a value read in the last `refreshAheadMs` before it expires is served at once while one
 *   background read replaces it, so no caller waits while a valid value exists. A refresh that finds the backend
 *   unavailable leaves the value in use until it expires (then the rules above apply); one that finds the secret
 *   missing or denied evicts it. Each entry starts at most one refresh, and only when read: unused secrets are
 *   never polled. Refreshes read through the backend, so its retries and circuit breaker apply;
 * - explicit invalidation and a change hook for hot reload. An invalidation wins over reads in flight: a read
 *   that started before it never puts its value in the cache.
 *
 * Every value returned is a fresh copy the caller owns and should `zero()` when done; the cached copy is zeroed
 * when evicted or replaced. Safe to call concurrently.
 */
export class SecretResolver {
  readonly #backends = new Map<string, SecretBackend>();
  readonly #policies: Readonly<Record<string, CachePolicy>>;
  readonly #defaultPolicy: CachePolicy;
  readonly #now: () => number;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inflight = new Map<string, Flight>();
  readonly #log: BackendLog;
  readonly #listeners = new Set<SecretChangeListener>();
  readonly #valueListeners = new Set<SecretValueListener>();

  constructor(options: SecretResolverOptions) {
    for (const backend of options.backends) {
      this.#backends.set(backend.name, backend);
      backend.watch?.((path) => {
        this.invalidate({ backend: backend.name, path, field: undefined, selector: { kind: 'latest' } });
      });
    }
    this.#policies = options.cache ?? {};
    this.#defaultPolicy = options.defaultCache ?? DEFAULT_CACHE;
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? silentLog;
  }

  /** The backend a name refers to, or `COFRE_BACKEND_UNKNOWN`. */
  backend(name: string): SecretBackend {
    const backend = this.#backends.get(name);
    if (backend === undefined) {
      const known = [...this.#backends.keys()].join(', ') || 'none';
      throw new CofreError(
        'COFRE_BACKEND_UNKNOWN',
        `secret backend "${name}" is not configured (configured: ${known})`,
        {
          details: { backend: name },
        },
      );
    }
    return backend;
  }

  /** Resolves a reference (text or parsed) to a value the caller owns; `#field` selects a JSON string field. */
  async resolve(reference: string | SecretReference): Promise<SecretValue> {
    const ref = typeof reference === 'string' ? parseSecretReference(reference) : reference;
    const record = await this.#record(ref);
    const value = ref.field === undefined ? record.value.clone() : selectSecretField(record.value, ref);
    this.#emitValue(ref, value);
    return value;
  }

  /** Like {@link SecretResolver.resolve} but also returns the version the value came from. */
  async resolveRecord(reference: string | SecretReference): Promise<SecretRecord> {
    const ref = typeof reference === 'string' ? parseSecretReference(reference) : reference;
    const record = await this.#record(ref);
    const value = ref.field === undefined ? record.value.clone() : selectSecretField(record.value, ref);
    this.#emitValue(ref, value);
    return { ...record, value };
  }

  /**
   * Drops cached values so the next read asks the backend: one reference (any field/version form of it), every
   * reference of one backend (`{ backend }`), or everything (no argument). Listeners hear about each dropped entry.
   *
   * SECURITY: backend reads of those references already in flight (a refresh-ahead, a cold read) are abandoned:
   * their callers still get what they asked for before the invalidation, but the value never enters the cache, and
   * reads from now on start a new backend read.
   */
  invalidate(target?: string | SecretReference | { readonly backend: string }): void {
    let matches: (key: string) => boolean;
    if (target === undefined) {
      matches = () => true;
    } else if (typeof target === 'object' && !('path' in target)) {
      const prefix = `${target.backend}:`;
      matches = (key) => key.startsWith(prefix);
    } else {
      const wanted = cacheKey(typeof target === 'string' ? parseSecretReference(target) : target);
      const base = wanted.replace(/@[^@]*$/, '');
      // Any selector of the same path: a new `current` also changes what `@stage=previous` means.
      matches = (key) => key === wanted || key === base || key.startsWith(`${base}@`);
    }
    for (const key of [...this.#inflight.keys()]) {
      if (matches(key)) this.#cancelFlight(key);
    }
    for (const key of [...this.#cache.keys()]) {
      if (matches(key)) this.#evict(key);
    }
  }

  /**
   * The version of the value cached for `reference` (any `#field` of it; the selector counts), or undefined when
   * nothing is cached. Tells a watcher of the backend's `current` pointer (`current-version-watcher.ts`) whether
   * the value in use is still the current one. Holds no value.
   */
  cachedVersion(reference: string | SecretReference): string | undefined {
    const ref = typeof reference === 'string' ? parseSecretReference(reference) : reference;
    return this.#cache.get(cacheKey(ref))?.record.version;
  }

  /** Registers a change listener; returns a function that removes it. Listeners must not throw. */
  onChange(listener: SecretChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Registers a listener for every value handed out, before the caller gets it (the log redactor's feed:
   * `secrets/log-redactor.ts`); returns a function that removes it. Listeners must not throw.
   */
  onValue(listener: SecretValueListener): () => void {
    this.#valueListeners.add(listener);
    return () => this.#valueListeners.delete(listener);
  }

  /** Zeroes every cached value and closes every backend; reads still in flight are not cached. */
  async close(): Promise<void> {
    for (const key of [...this.#inflight.keys()]) this.#cancelFlight(key);
    for (const entry of this.#cache.values()) entry.record.value.zero();
    this.#cache.clear();
    await Promise.all([...this.#backends.values()].map((b) => b.close()));
  }

  async #record(ref: SecretReference): Promise<SecretRecord> {
    const backend = this.backend(ref.backend);
    const policy = this.#policies[backend.name] ?? this.#defaultPolicy;
    const key = cacheKey(ref);
    const now = this.#now();
    const cached = this.#cache.get(key);
    if (cached !== undefined && now < validUntil(cached, policy)) {
      if (!cached.refreshStarted && now >= validUntil(cached, policy) - refreshAheadOf(policy)) {
        this.#refreshAhead(backend, ref, key, cached, policy);
      }
      return cached.record;
    }

    // Joins a refresh-ahead read already in flight: the value it replaces has just expired.
    const flight = this.#inflight.get(key) ?? this.#startFlight(backend, ref, key, policy);
    try {
      return await flight.promise;
    } catch (err) {
      const stale = this.#cache.get(key);
      const staleUntil = stale === undefined ? 0 : stale.fetchedAt + policy.ttlMs + policy.staleIfErrorMs;
      if (
        stale !== undefined &&
        isCofreError(err) &&
        err.category === 'unavailable' &&
        this.#now() < staleUntil &&
        !expired(stale.record, this.#now())
      ) {
        return stale.record;
      }
      throw err;
    }
  }

  /**
   * Starts the one background read that replaces `entry` (the caller is served `entry` meanwhile). Its failure is
   * logged, never thrown: the entry stays in use until it expires, and the next read after that asks again.
   */
  #refreshAhead(
    backend: SecretBackend,
    ref: SecretReference,
    key: string,
    entry: CacheEntry,
    policy: CachePolicy,
  ): void {
    // One attempt per entry: a failing backend (or an open circuit) is not asked again on every read.
    entry.refreshStarted = true;
    if (this.#inflight.has(key)) return;
    this.#startFlight(backend, ref, key, policy).promise.catch((err: unknown) => {
      // SECURITY: the reference and the error's code only; an error's message is not trusted to be value-free.
      this.#log(
        'warn',
        'background refresh of a cached secret failed; the cached value is used until it expires',
        {
          reference: key,
          code: isCofreError(err) ? err.code : 'unknown',
        },
      );
    });
  }

  #startFlight(backend: SecretBackend, ref: SecretReference, key: string, policy: CachePolicy): Flight {
    const token = { cancelled: false };
    const flight: Flight = Object.assign(token, {
      promise: this.#fetch(backend, ref, key, policy, token).finally(() => {
        // A cancelled flight may already have been replaced by a newer one under the same key.
        if (this.#inflight.get(key) === flight) this.#inflight.delete(key);
      }),
    });
    this.#inflight.set(key, flight);
    return flight;
  }

  #cancelFlight(key: string): void {
    const flight = this.#inflight.get(key);
    if (flight === undefined) return;
    flight.cancelled = true;
    this.#inflight.delete(key);
  }

  async #fetch(
    backend: SecretBackend,
    ref: SecretReference,
    key: string,
    policy: CachePolicy,
    flight: Pick<Flight, 'cancelled'>,
  ): Promise<SecretRecord> {
    // SECURITY: the TTL counts from when the backend was asked, not from when it answered: a value read just before
    // a promotion is never served longer than the TTL after it, however slow the read (the overlap window,
    // rotation/overlap-window.ts, relies on it).
    const askedAt = this.#now();
    let record: SecretRecord;
    try {
      record = await backend.read(ref.path, ref.selector);
    } catch (err) {
      // Only `unavailable` keeps the cached entry for stale-if-error; a missing or denied secret evicts it, so it
      // can never be served again once the backend has said no.
      if (!flight.cancelled && isCofreError(err) && err.category !== 'unavailable') this.#evict(key);
      throw err;
    }
    if (flight.cancelled) {
      // SECURITY: invalidated (or closed) while in flight: the value may be the one the invalidation replaced, so it
      // never enters the cache. The callers that shared this read copy it in the microtasks that follow; then it is
      // zeroed.
      zeroLater(record.value);
      return record;
    }
    const previous = this.#cache.get(key);
    const entry: CacheEntry = { record, fetchedAt: askedAt, refreshStarted: false };
    // A record whose own expiry did not move (a lease near its end) would otherwise be refreshed on every read.
    if (previous !== undefined && validUntil(entry, policy) <= validUntil(previous, policy)) {
      entry.refreshStarted = true;
    }
    this.#cache.set(key, entry);
    if (previous !== undefined) {
      const changed =
        previous.record.version !== record.version || !previous.record.value.equals(record.value);
      zeroLater(previous.record.value);
      if (changed)
        this.#emit({ reference: key, previousVersion: previous.record.version, version: record.version });
    }
    return record;
  }

  #evict(key: string): void {
    const entry = this.#cache.get(key);
    if (entry === undefined) return;
    this.#cache.delete(key);
    zeroLater(entry.record.value);
    this.#emit({ reference: key, previousVersion: entry.record.version, version: undefined });
  }

  #emitValue(ref: SecretReference, value: SecretValue): void {
    if (this.#valueListeners.size === 0) return;
    const key = cacheKey(ref);
    for (const listener of this.#valueListeners) listener(key, value);
  }

  #emit(change: SecretChange): void {
    for (const listener of this.#listeners) listener(change);
  }
}

/**
 * Zeroes a value that just left the cache, one macrotask later: callers that already hold the record from this
 * cache entry copy it in the microtasks that follow their `await`, and a zeroed value there would be a spurious
 * failure. Nothing can pick the record up after it left the map.
 */
function zeroLater(value: SecretValue): void {
  setImmediate(() => {
    value.zero();
  });
}

function cacheKey(ref: SecretReference): string {
  return formatSecretReference({ ...ref, field: undefined });
}

/** When an entry stops being served from cache: its TTL, or the record's own expiry when sooner. */
function validUntil(entry: CacheEntry, policy: CachePolicy): number {
  const ttlEnd = entry.fetchedAt + policy.ttlMs;
  const recordEnd = entry.record.expiresAt?.getTime();
  return recordEnd === undefined ? ttlEnd : Math.min(ttlEnd, recordEnd);
}

function refreshAheadOf(policy: CachePolicy): number {
  return policy.refreshAheadMs ?? defaultRefreshAheadMs(policy.ttlMs);
}

function expired(record: SecretRecord, now: number): boolean {
  return record.expiresAt !== undefined && now >= record.expiresAt.getTime();
}
