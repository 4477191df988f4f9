import type { CofreConfig } from '../config/config-schema.js';
import { isCofreError } from '../errors.js';
import { type BackendLog, silentLog } from './backend-log.js';
import { formatSecretReference, parseSecretReference, type SecretReference } from './secret-reference.js';
import type { SecretResolver } from './secret-resolver.js';

/** A `current` pointer that moved since the watcher last looked, and so was reloaded. Holds no value. */
export interface CurrentVersionChange {
  /** `<backend>:<path>`, without field or selector. */
  readonly reference: string;
  /** The version last seen current (or cached), undefined when none was known. */
  readonly previousVersion: string | undefined;
  readonly version: string;
}

/** What the watcher needs of the resolver: the backends, what is cached, and dropping it. */
export type WatchedResolver = Pick<SecretResolver, 'backend' | 'cachedVersion' | 'invalidate'>;

/** Options of {@link CurrentVersionWatcher}. */
export interface CurrentVersionWatcherOptions {
  readonly resolver: WatchedResolver;
  /**
   * The references to follow (e.g. every account's credentials, {@link accountCredentialReferences}). Those pinned
   * to a version or to the `pending`/`previous` stage are ignored: their value never follows a promotion.
   */
  readonly references: readonly string[];
  /** Time between the end of one poll and the start of the next, in ms (`rotation.pollInterval`); 0: no polling. */
  readonly intervalMs: number;
  /** Where promotions seen and failed polls are reported (references, versions and error codes only). */
  readonly log?: BackendLog;
  /**
   * Hears each change once the resolver's values are dropped (the broker judges the account's key scope again:
   * a new key may be allowed more than the old one). Must not throw.
   */
  readonly onChange?: (change: CurrentVersionChange) => void;
}

/** One secret path the watcher asks about, with the references that read it. */
interface WatchedPath {
  /** `<backend>:<path>`. */
  readonly key: string;
  readonly backend: string;
  readonly path: string;
  /** The followed references to this path, as the resolver caches them (without field). */
  readonly refs: readonly SecretReference[];
}

/**
 * Hot reload of promoted credentials (issue 12): asks each backend, every `intervalMs`, which version of each
 * followed secret holds `current` (`describe`, one call per distinct path however many references read it), and
 * when that is not the version last seen or the version the resolver has cached, drops the resolver's cached
 * values of that path, so the next request reads the new version. A promotion done anywhere — `cofre rotate` in
 * another process or on another host, a cloud console — reaches every running broker within one interval, without
 * a restart. Requests already holding the old key finish with it (they read their credentials once, before the
 * intent): the operator revokes the old key only after the overlap window (`rotation/overlap-window.ts`).
 *
 * Bounded and harmless: polls never overlap (the next is scheduled when one ends), a failed `describe` is logged
 * and asked again next interval, nothing here throws into the broker or waits in a request's path. A backend that
 * cannot describe a path (`COFRE_BACKEND_UNSUPPORTED`, e.g. a dynamic secret, which the backend's own `watch`
 * reloads) is asked once and then left alone.
 *
 * {@link CurrentVersionWatcher.checkNow} runs a poll at once: a promotion made in this process calls it so the
 * change takes effect immediately rather than at the next interval.
 *
 * SECURITY: reads metadata only (`describe`), never a value; logs references, versions and error codes only.
 */
export class CurrentVersionWatcher {
  readonly #resolver: WatchedResolver;
  readonly #paths: readonly WatchedPath[];
  readonly #intervalMs: number;
  readonly #log: BackendLog;
  readonly #onChange: ((change: CurrentVersionChange) => void) | undefined;
  /** The version last seen holding `current`, per path key. */
  readonly #seen = new Map<string, string>();
  /** Paths whose backend cannot describe them: not asked again. */
  readonly #unsupported = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  /** The poll running now, if any. */
  #running: Promise<readonly CurrentVersionChange[]> | undefined;
  /** The poll queued behind the running one by {@link checkNow}, shared by every caller that asked meanwhile. */
  #queued: Promise<readonly CurrentVersionChange[]> | undefined;
  #started = false;
  #closed = false;

  constructor(options: CurrentVersionWatcherOptions) {
    this.#resolver = options.resolver;
    this.#paths = watchedPaths(options.references);
    this.#intervalMs = options.intervalMs;
    this.#log = options.log ?? silentLog;
    this.#onChange = options.onChange;
  }

  /** The distinct `<backend>:<path>` this watcher asks about, sorted. */
  get paths(): readonly string[] {
    return this.#paths.map((p) => p.key);
  }

  /**
   * Starts polling every `intervalMs` (nothing when it is 0 or nothing is followed), the first poll one interval
   * from now: a short-lived process (a CLI command) never polls, and none is needed to learn the versions in use,
   * since each poll compares with what the resolver has cached. Idempotent.
   */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    if (this.#intervalMs <= 0 || this.#paths.length === 0) return;
    this.#scheduleNext();
  }

  /**
   * Polls now and resolves with what changed. A poll already running is not interrupted: this one starts when it
   * ends (the running one may have asked before the promotion the caller just made). Never rejects; after
   * {@link close} it resolves with no change.
   */
  checkNow(): Promise<readonly CurrentVersionChange[]> {
    if (this.#closed) return Promise.resolve([]);
    if (this.#running === undefined) return this.#run();
    this.#queued ??= this.#running.then(() => {
      this.#queued = undefined;
      return this.#closed ? [] : this.#run();
    });
    return this.#queued;
  }

  /** Stops polling and waits for a poll in flight. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#queued;
    await this.#running;
  }

  /** Polls one interval from now, then again one interval after that poll ends. */
  #scheduleNext(): void {
    if (this.#closed) return;
    // Unref'd: polling alone never keeps the process alive.
    this.#timer = setTimeout(() => {
      void this.checkNow().then(() => {
        this.#scheduleNext();
      });
    }, this.#intervalMs).unref();
  }

  #run(): Promise<readonly CurrentVersionChange[]> {
    const running = this.#poll().finally(() => {
      if (this.#running === running) this.#running = undefined;
    });
    this.#running = running;
    return running;
  }

  async #poll(): Promise<readonly CurrentVersionChange[]> {
    const asked = this.#paths.filter((p) => !this.#unsupported.has(p.key));
    const changes = await Promise.all(asked.map((p) => this.#check(p)));
    return changes.filter((c) => c !== undefined);
  }

  /** Asks one path's backend for its `current` version; drops the cached values when they are not it. */
  async #check(watched: WatchedPath): Promise<CurrentVersionChange | undefined> {
    let current: string | undefined;
    try {
      current = (await this.#resolver.backend(watched.backend).describe(watched.path)).stages.current;
    } catch (err) {
      this.#failed(watched, err);
      return undefined;
    }
    if (this.#closed || current === undefined) return undefined;
    const seen = this.#seen.get(watched.key);
    this.#seen.set(watched.key, current);
    // The cached version counts too: a value read before the first poll (or read by a request that raced the last
    // one) may already be older than what this poll found.
    const stale = watched.refs
      .map((ref) => this.#resolver.cachedVersion(ref))
      .find((version) => version !== undefined && version !== current);
    const moved = seen !== undefined && seen !== current ? seen : undefined;
    if (moved === undefined && stale === undefined) return undefined;
    this.#resolver.invalidate({
      backend: watched.backend,
      path: watched.path,
      field: undefined,
      selector: { kind: 'latest' },
    });
    const change = { reference: watched.key, previousVersion: moved ?? stale, version: current };
    this.#log('info', 'a new version of a credential is current; the next request reads it', {
      reference: change.reference,
      previousVersion: change.previousVersion,
      version: change.version,
    });
    this.#onChange?.(change);
    return change;
  }

  #failed(watched: WatchedPath, err: unknown): void {
    const code = isCofreError(err) ? err.code : 'unknown';
    if (code === 'COFRE_BACKEND_UNSUPPORTED') {
      this.#unsupported.add(watched.key);
      this.#log(
        'info',
        "this backend cannot tell which version is current; a promotion is picked up when the cached value's TTL ends",
        { reference: watched.key },
      );
      return;
    }
    if (this.#closed) return;
    // SECURITY: the reference and the error's code only; an error's message is not trusted to be value-free.
    this.#log('warn', 'could not ask which version of a credential is current; asking again next interval', {
      reference: watched.key,
      code,
    });
  }
}

/** Every secret reference of every account's venue credentials, as configured (deduplicated). */
export function accountCredentialReferences(config: Pick<CofreConfig, 'accounts'>): readonly string[] {
  const references = new Set<string>();
  for (const account of Object.values(config.accounts)) {
    for (const reference of Object.values(account.credentials)) {
      if (typeof reference === 'string') references.add(reference);
    }
  }
  return [...references];
}

/** The distinct paths of the references that follow `current` (latest or `@stage=current`), sorted. */
function watchedPaths(references: readonly string[]): readonly WatchedPath[] {
  const paths = new Map<string, { backend: string; path: string; refs: Map<string, SecretReference> }>();
  for (const text of references) {
    const ref = parseSecretReference(text);
    const follows =
      ref.selector.kind === 'latest' || (ref.selector.kind === 'stage' && ref.selector.stage === 'current');
    if (!follows) continue;
    const key = formatSecretReference({ ...ref, field: undefined, selector: { kind: 'latest' } });
    const entry = paths.get(key) ?? { backend: ref.backend, path: ref.path, refs: new Map() };
    const cached = { ...ref, field: undefined };
    entry.refs.set(formatSecretReference(cached), cached);
    paths.set(key, entry);
  }
  return [...paths.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, p]) => ({ key, backend: p.backend, path: p.path, refs: [...p.refs.values()] }));
}
