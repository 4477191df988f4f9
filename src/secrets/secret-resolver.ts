import { CofreError, isCofreError } from '../errors.js';
import type { SecretBackend, SecretRecord } from './secret-backend.js';
import { formatSecretReference, parseSecretReference, type SecretReference } from './secret-reference.js';
import { SecretValue } from './secret-value.js';

/** Cache policy of one backend. */
export interface CachePolicy {
  /** How long a value read from the backend is served without asking again (ms). 0 disables caching. */
  readonly ttlMs: number;
  /**
   * How long past its TTL a cached value may still be served while the backend is unavailable (ms). After that
   * the resolver fails closed. Only `unavailable` errors qualify: a denied or missing secret is never served stale.
   */
  readonly staleIfErrorMs: number;
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
}

interface CacheEntry {
  readonly record: SecretRecord;
  readonly fetchedAt: number;
}

const DEFAULT_CACHE: CachePolicy = { ttlMs: 5 * 60_000, staleIfErrorMs: 60_000 };

/**
 * The one way cofre reads secrets: parses references, routes them to their backend, and adds
 * - a TTL cache (per backend policy);
 * - single-flight: concurrent reads of one cold secret share one backend read;
 * - bounded stale-if-error: when the backend is unavailable, the last value is served until TTL + staleIfError,
 *   never past a record's own `expiresAt`, then the error surfaces (fail closed);
 * - explicit invalidation and a change hook for hot reload.
 *
 * Every value returned is a fresh copy the caller owns and should `zero()` when done; the cached copy is zeroed
 * when evicted. Safe to call concurrently.
 */
export class SecretResolver {
  readonly #backends = new Map<string, SecretBackend>();
  readonly #policies: Readonly<Record<string, CachePolicy>>;
  readonly #defaultPolicy: CachePolicy;
  readonly #now: () => number;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inflight = new Map<string, Promise<SecretRecord>>();
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
    const value = ref.field === undefined ? record.value.clone() : selectField(record.value, ref);
    this.#emitValue(ref, value);
    return value;
  }

  /** Like {@link SecretResolver.resolve} but also returns the version the value came from. */
  async resolveRecord(reference: string | SecretReference): Promise<SecretRecord> {
    const ref = typeof reference === 'string' ? parseSecretReference(reference) : reference;
    const record = await this.#record(ref);
    const value = ref.field === undefined ? record.value.clone() : selectField(record.value, ref);
    this.#emitValue(ref, value);
    return { ...record, value };
  }

  /**
   * Drops cached values so the next read asks the backend: one reference (any field/version form of it), every
   * reference of one backend (`{ backend }`), or everything (no argument). Listeners hear about each dropped entry.
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
    for (const key of [...this.#cache.keys()]) {
      if (matches(key)) this.#evict(key);
    }
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

  /** Zeroes every cached value and closes every backend. */
  async close(): Promise<void> {
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
    if (cached !== undefined && now < cached.fetchedAt + policy.ttlMs && !expired(cached.record, now)) {
      return cached.record;
    }

    let flight = this.#inflight.get(key);
    if (flight === undefined) {
      flight = this.#fetch(backend, ref, key).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, flight);
    }
    try {
      return await flight;
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

  async #fetch(backend: SecretBackend, ref: SecretReference, key: string): Promise<SecretRecord> {
    let record: SecretRecord;
    try {
      record = await backend.read(ref.path, ref.selector);
    } catch (err) {
      // Only `unavailable` keeps the cached entry for stale-if-error; a missing or denied secret evicts it, so it
      // can never be served again once the backend has said no.
      if (isCofreError(err) && err.category !== 'unavailable') this.#evict(key);
      throw err;
    }
    const previous = this.#cache.get(key);
    this.#cache.set(key, { record, fetchedAt: this.#now() });
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

function expired(record: SecretRecord, now: number): boolean {
  return record.expiresAt !== undefined && now >= record.expiresAt.getTime();
}

/**
 * Extracts `#field` from a JSON-object value. The parsed object holds the other fields as JS strings only for the
 * duration of this call.
 */
function selectField(value: SecretValue, ref: SecretReference): SecretValue {
  const where = formatSecretReference(ref);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.text());
  } catch {
    // SECURITY: the JSON parser's message quotes the input; drop it.
    throw new CofreError(
      'COFRE_SECRET_FIELD_INVALID',
      `${where}: the stored value is not a JSON object, so it has no fields`,
      {
        details: { reference: where },
      },
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CofreError(
      'COFRE_SECRET_FIELD_INVALID',
      `${where}: the stored value is not a JSON object, so it has no fields`,
      {
        details: { reference: where },
      },
    );
  }
  const fields = parsed as Record<string, unknown>;
  const field = ref.field ?? '';
  if (!Object.hasOwn(fields, field)) {
    throw new CofreError(
      'COFRE_SECRET_NOT_FOUND',
      `${where}: the secret has no field "${field}" (fields: ${Object.keys(fields).join(', ')})`,
      {
        details: { reference: where },
      },
    );
  }
  const selected = fields[field];
  if (typeof selected !== 'string') {
    throw new CofreError(
      'COFRE_SECRET_FIELD_INVALID',
      `${where}: field "${field}" is a ${typeof selected}, not a string`,
      {
        details: { reference: where },
      },
    );
  }
  return SecretValue.fromText(selected);
}
