/**
 * Dynamic secrets of Vault / OpenBao: credentials a secrets engine creates on read and ties to a lease, such as
 * `database/creds/<role>` of the database engine (https://openbao.org/api-docs/secret/databases/). The lease is
 * renewed with `sys/leases/renew` and revoked with `sys/leases/revoke`
 * (https://openbao.org/api-docs/system/leases/).
 *
 * Recommended policy for the token cofre uses (read-only on the role, and the two lease endpoints):
 *
 * ```hcl
 * path "database/creds/app" { capabilities = ["read"] }
 * path "sys/leases/renew"   { capabilities = ["update"] }
 * path "sys/leases/revoke"  { capabilities = ["update"] }
 * ```
 */
import { createHmac, randomBytes } from 'node:crypto';

import { z } from 'zod';

import { CofreError, isCofreError } from '../../errors.js';
import { type BackendLog, silentLog } from '../backend-log.js';
import type { BackendCapabilities, SecretBackend, SecretMetadata, SecretRecord } from '../secret-backend.js';
import type { VersionSelector } from '../secret-reference.js';
import { SecretValue } from '../secret-value.js';
import {
  ignoredResponse,
  type VaultClient,
  type VaultMethod,
  type VaultRequestOptions,
} from './vault-client.js';
import type { VaultLoginEvent } from './vault-session.js';

/**
 * Where the lease manager gets its token. {@link VaultSession} fits as it is: `withToken` recovers from a token
 * Vault no longer accepts, `onLogin` tells the manager that leases of the previous token will die with it, and
 * `expiresAt` caps how long a record may be cached.
 */
export interface VaultTokenSource {
  withToken<T>(request: (token: string) => Promise<T>): Promise<T>;
  onLogin?(listener: (event: VaultLoginEvent) => void): () => void;
  /** When the current token expires (ms since epoch; Infinity if never), or undefined before the first login. */
  readonly expiresAt?: number | undefined;
}

/** Timer functions of the renewal loop; tests inject a manual scheduler. Timers must not keep the process alive. */
export interface LeaseTimers {
  set(callback: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

/** Options of a {@link VaultLeaseManager}. */
export interface VaultLeaseManagerOptions {
  /** Backend name, the part before `:` in references (`vault` → `vault:database/creds/app`). */
  readonly name: string;
  readonly client: VaultClient;
  /** A {@link VaultSession} (or anything shaped like one), or a function returning a valid token. */
  readonly auth: VaultTokenSource | (() => Promise<string>);
  /** Receives lease events: references, versions and reasons, never a lease id or a credential. */
  readonly log?: BackendLog;
  /**
   * Fraction of a lease's remaining time after which it is renewed, or, when it cannot be extended any more,
   * given up so the next read issues new credentials. Default 2/3.
   */
  readonly renewFraction?: number;
  /** `increment` asked for at each renewal (seconds). Default: the lease's duration when it was issued. */
  readonly incrementSeconds?: number;
  /**
   * Credentials closer than this to the end of their lease are not handed out, and each record's `expiresAt` is
   * this much before the lease ends, so a request in flight does not race the revocation. Capped at a tenth of
   * the lease duration. Default 1 000 ms.
   */
  readonly safetyMarginMs?: number;
  /** Milliseconds since the epoch; `Date.now` by default. */
  readonly now?: () => number;
  /** Default: `setTimeout` / `clearTimeout`, `unref`'d. */
  readonly timers?: LeaseTimers;
}

/** Why a lease stopped being the one handed out for its path. */
export type VaultLeaseEndReason =
  /** Vault capped the last renewal at the lease's max TTL; new credentials are due before it ends. */
  | 'max-ttl'
  /** The lease is not renewable; new credentials are due before it ends. */
  | 'not-renewable'
  /** Vault refused the renewal (lease gone, denied, invalid). */
  | 'renewal-refused'
  /** Vault stayed unreachable until the lease was about to end. */
  | 'renewal-failed'
  /** The lease is within its safety margin of the end (or past it). */
  | 'expiring'
  /** The session logged in again: the previous token, and every lease it created, dies at its own expiry. */
  | 'relogin';

/**
 * Heard by {@link VaultLeaseManager.onLeaseEnd} listeners: the credentials of `reference` are being replaced, so
 * cached copies should be dropped (`resolver.invalidate(event.reference)`). The old credentials stay valid until
 * their lease ends (or is revoked on close); the next read issues new ones.
 */
export interface VaultLeaseEvent {
  /** `<name>:<path>`, e.g. `vault:database/creds/app`: pass it to `SecretResolver.invalidate`. */
  readonly reference: string;
  readonly path: string;
  /** Version of the credentials being replaced (an HMAC of the lease id, not the id). */
  readonly version: string;
  readonly reason: VaultLeaseEndReason;
}

/** What the manager holds, without any credential or lease id (for `cofre doctor`, metrics and tests). */
export interface VaultLeaseInfo {
  readonly path: string;
  readonly version: string;
  readonly createdAt: Date;
  /** When the lease ends by cofre's clock (Vault's expiry, less the request's round trip). */
  readonly endsAt: Date;
  readonly renewable: boolean;
  /** False once the lease is given up: still valid in Vault until `endsAt`, but no longer handed out. */
  readonly live: boolean;
}

const credsResponse = z.object({
  lease_id: z.string(),
  lease_duration: z.number().int().nonnegative(),
  renewable: z.boolean(),
  data: z.record(z.string(), z.unknown()),
});

const renewResponse = z.object({
  lease_duration: z.number().int().nonnegative(),
  renewable: z.boolean(),
});

// Retry a failed renewal this soon (bounded by half the lease's remaining time).
const RETRY_SOON_MS = 5_000;
// Below this much usable time left, a failed renewal gives the lease up instead of retrying.
const MIN_RETRY_MS = 250;
const DEFAULT_SAFETY_MARGIN_MS = 1_000;

const LATEST: VersionSelector = Object.freeze({ kind: 'latest' });

const DEFAULT_TIMERS: LeaseTimers = {
  set: (callback, delayMs) => {
    const timer = setTimeout(callback, delayMs);
    timer.unref();
    return timer;
  },
  clear: (handle) => {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

interface Lease {
  readonly path: string;
  /** SECURITY: never logged, never in a message or a value; it can renew or revoke the credentials. */
  readonly leaseId: string;
  readonly version: string;
  readonly createdAt: Date;
  readonly incrementSeconds: number;
  readonly marginMs: number;
  renewable: boolean;
  /** The credentials as JSON; undefined once the lease is given up (zeroed). */
  value: SecretValue | undefined;
  /** Lease end by cofre's clock: request start + lease duration. */
  endsAt: number;
  /** True when the lease cannot be extended further (not renewable, or capped by its max TTL). */
  final: boolean;
  timer: unknown;
}

/**
 * Reads dynamic secrets and looks after their leases. See the module comment for the API it calls.
 *
 * - **One live lease per path.** A read returns the credentials of the live lease while it has more than its
 *   safety margin left; only the first read (or the first after the lease is given up) asks Vault, so the
 *   resolver's re-reads do not create a database user each time. Concurrent first reads share one request.
 * - **Renewal.** At `renewFraction` of the remaining time the lease is renewed (`sys/leases/renew` with
 *   `increment`). When Vault answers with less than asked (the max TTL caps it) or the lease is not renewable, it
 *   is given up at `renewFraction` of what is left: new credentials are issued on the next read while the old
 *   ones still work. A refused renewal (4xx) gives it up at once; an unreachable Vault is retried while the lease
 *   lasts. Giving up a lease emits a {@link VaultLeaseEvent}.
 * - **Never past the lease.** A record's `expiresAt` is the lease end less the safety margin (and no later than
 *   the token's expiry, since Vault revokes a token's leases with it), so the resolver never serves it later, stale
 *   or not; and the manager never hands out credentials of a lease within its margin of the end.
 * - **Close** stops the timers and revokes every lease it holds that has not ended, given-up ones included. Close
 *   the manager before the session whose token it uses.
 *
 * Wiring with the resolver: `manager.onLeaseEnd((e) => resolver.invalidate(e.reference))`, so cached copies are
 * dropped as soon as credentials are replaced (without it they are still never served past `expiresAt`).
 *
 * It is also a {@link SecretBackend} (read-only: `read` and `close`; the rest throw `COFRE_BACKEND_UNSUPPORTED`),
 * so it can be registered with a resolver on its own or be the delegate of the KV backend for dynamic mounts.
 * Paths are Vault API paths, mount included (`database/creds/app`). Dynamic credentials have no versions or
 * stages: `@<version>` matches only the live lease's version, and `@stage=current` is the same as latest.
 *
 * SECURITY: lease ids, usernames and passwords never appear in a log line, a message, a version or an event;
 * versions are an HMAC of the lease id under a key random per process. Safe to call concurrently.
 */
export class VaultLeaseManager implements SecretBackend {
  readonly name: string;
  readonly type = 'vault';
  readonly capabilities: BackendCapabilities = Object.freeze({
    binary: false,
    write: false,
    listVersions: false,
    stages: false,
    delete: false,
  });
  readonly #client: VaultClient;
  readonly #source: VaultTokenSource | undefined;
  readonly #withToken: <T>(request: (token: string) => Promise<T>) => Promise<T>;
  readonly #log: BackendLog;
  readonly #fraction: number;
  readonly #increment: number | undefined;
  readonly #margin: number;
  readonly #now: () => number;
  readonly #timers: LeaseTimers;
  readonly #versionKey = randomBytes(32);
  /** The lease handed out for each path. */
  readonly #live = new Map<string, Lease>();
  /** Every lease not known to have ended, live or given up: what close() revokes. */
  readonly #held = new Set<Lease>();
  readonly #issuing = new Map<string, Promise<Lease>>();
  readonly #listeners = new Set<(event: VaultLeaseEvent) => void>();
  readonly #unsubscribeLogin: (() => void) | undefined;
  /** Counts logins seen, so a lease issued across a re-login is known to belong to the previous token. */
  #generation = 0;
  #closing: Promise<void> | undefined;
  #closed = false;

  constructor(options: VaultLeaseManagerOptions) {
    this.name = options.name;
    this.#client = options.client;
    const auth = options.auth;
    if (typeof auth === 'function') {
      this.#source = undefined;
      this.#withToken = async (request) => request(await auth());
    } else {
      this.#source = auth;
      this.#withToken = (request) => auth.withToken(request);
    }
    this.#log = options.log ?? silentLog;
    this.#fraction = Math.min(0.95, Math.max(0.05, options.renewFraction ?? 2 / 3));
    this.#increment = options.incrementSeconds;
    this.#margin = Math.max(0, options.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS);
    this.#now = options.now ?? Date.now;
    this.#timers = options.timers ?? DEFAULT_TIMERS;
    this.#unsubscribeLogin = this.#source?.onLogin?.((event) => {
      if (event.previousAccessor === undefined) return; // the first login: no lease predates it
      this.#generation++;
      // Vault revokes a token's leases when the token ends: credentials of the old token must be replaced.
      for (const lease of [...this.#live.values()]) this.#giveUp(lease, 'relogin');
    });
  }

  /**
   * The credentials at `path` (a dynamic-secret endpoint such as `database/creds/app`) as a JSON object of the
   * engine's fields (`{"username":…,"password":…}`), from the live lease or a new one. The record's value is a
   * fresh copy the caller owns.
   *
   * Errors: those of {@link VaultClient.request} naming the reference (`COFRE_BACKEND_DENIED`,
   * `COFRE_BACKEND_UNAVAILABLE`, `COFRE_SECRET_NOT_FOUND`, `COFRE_VAULT_REQUEST_REJECTED` for an unknown role, …);
   * `COFRE_SECRET_NOT_FOUND` for a version or stage other than the live one; `COFRE_BACKEND_CLOSED` after close.
   */
  async read(path: string, selector: VersionSelector = LATEST): Promise<SecretRecord> {
    const clean = path.replace(/^\/+|\/+$/g, '');
    this.#assertOpen(clean);
    if (clean === '') {
      throw new CofreError(
        'COFRE_REFERENCE_INVALID',
        `backend "${this.name}": a dynamic secret needs a path`,
      );
    }
    if (selector.kind === 'stage' && selector.stage !== 'current') {
      throw this.#notFound(clean, `has no stage ${selector.stage} (dynamic credentials have no stages)`);
    }
    let lease = this.#live.get(clean);
    if (lease !== undefined && !this.#usable(lease)) {
      this.#giveUp(lease, 'expiring');
      lease = undefined;
    }
    if (selector.kind === 'version') {
      if (lease?.version !== selector.version) {
        throw this.#notFound(
          clean,
          `has no live credentials of version ${selector.version} (dynamic credentials have no versions; read without one)`,
        );
      }
      return this.#recordOf(lease);
    }
    if (lease !== undefined) return this.#recordOf(lease);
    let issued = await this.#issueOnce(clean);
    // Given up between the answer and here (a re-login): issue once more; after close(), #recordOf throws.
    if (issued.value === undefined && !this.#isClosed()) issued = await this.#issueOnce(clean);
    const record = this.#recordOf(issued);
    // A value without a lease is not kept (see #issue): its copy here is the last one.
    if (!this.#held.has(issued)) zeroLater(issued);
    return record;
  }

  /**
   * Subscribes to leases being given up (max TTL, refused renewal, re-login, …); returns an unsubscribe. Listeners
   * run synchronously inside the renewal loop and must not throw (a throw is logged and ignored).
   */
  onLeaseEnd(listener: (event: VaultLeaseEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** The leases held, live and given up, without ids or credentials. */
  leases(): readonly VaultLeaseInfo[] {
    return [...this.#held].map((lease) => ({
      path: lease.path,
      version: lease.version,
      createdAt: lease.createdAt,
      endsAt: new Date(lease.endsAt),
      renewable: lease.renewable,
      live: this.#live.get(lease.path) === lease,
    }));
  }

  describe(path: string): Promise<SecretMetadata> {
    return Promise.reject(this.#unsupported(path, 'describe'));
  }

  list(): Promise<readonly string[]> {
    return Promise.reject(this.#unsupported('', 'list'));
  }

  write(path: string): Promise<string> {
    return Promise.reject(this.#unsupported(path, 'write'));
  }

  moveStage(path: string): Promise<void> {
    return Promise.reject(this.#unsupported(path, 'stages'));
  }

  clearStage(path: string): Promise<void> {
    return Promise.reject(this.#unsupported(path, 'stages'));
  }

  remove(path: string): Promise<void> {
    return Promise.reject(this.#unsupported(path, 'remove'));
  }

  /**
   * Stops renewing and revokes every lease that has not ended (`sys/leases/revoke`, which by default waits for
   * the engine to drop the credentials). Failures are logged, not thrown: a lease that cannot be revoked ends on
   * its own. Call it before closing the session whose token it uses. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribeLogin?.();
    // Reads in flight revoke what they were issued when they find the manager closed.
    await Promise.allSettled([...this.#issuing.values()]);
    const leases = [...this.#held];
    this.#held.clear();
    this.#live.clear();
    for (const lease of leases) {
      this.#clearTimer(lease);
      lease.value?.zero();
      lease.value = undefined;
    }
    const now = this.#now();
    await Promise.all(leases.filter((lease) => now < lease.endsAt).map((lease) => this.#revoke(lease)));
  }

  // -- issuing ----------------------------------------------------------------------------------------------

  #issueOnce(path: string): Promise<Lease> {
    let flight = this.#issuing.get(path);
    if (flight === undefined) {
      flight = this.#issue(path).finally(() => this.#issuing.delete(path));
      this.#issuing.set(path, flight);
    }
    return flight;
  }

  async #issue(path: string, attempt = 1): Promise<Lease> {
    let generation = this.#generation;
    const started = this.#now();
    const answer = await this.#withToken((token) => {
      // The login generation of the token actually sent (withToken may log in again and call this twice).
      generation = this.#generation;
      return this.#client.request('GET', path, { schema: credsResponse, subject: this.#ref(path), token });
    });
    const lease: Lease = {
      path,
      leaseId: answer.lease_id,
      version: this.#versionOf(answer.lease_id),
      createdAt: new Date(started),
      incrementSeconds: this.#increment ?? answer.lease_duration,
      marginMs: Math.min(this.#margin, answer.lease_duration * 100),
      renewable: answer.renewable,
      value: SecretValue.fromText(JSON.stringify(answer.data)),
      endsAt: answer.lease_duration === 0 ? Infinity : started + answer.lease_duration * 1_000,
      final: !answer.renewable || answer.lease_duration === 0,
      timer: undefined,
    };
    if (this.#isClosed()) {
      lease.value?.zero();
      if (lease.leaseId !== '') await this.#revoke(lease);
      throw this.#closedError(path);
    }
    if (lease.leaseId === '') {
      // Not a lease (a static secret read through this route): nothing to renew or revoke, and nothing to keep.
      this.#log('warn', 'Vault answered without a lease; the value is not cached or renewed', {
        reference: this.#ref(path),
      });
      return lease;
    }
    if (generation !== this.#generation && attempt === 1) {
      // Issued with a token that was replaced while the request was in flight: the lease would die with that
      // token, so it is revoked and issued again with the new one.
      lease.value?.zero();
      await this.#revoke(lease);
      return this.#issue(path, attempt + 1);
    }
    this.#live.set(path, lease);
    this.#held.add(lease);
    this.#log('info', 'Vault lease issued', {
      reference: this.#ref(path),
      version: lease.version,
      ttlSeconds: answer.lease_duration,
      renewable: lease.renewable,
    });
    this.#schedule(lease);
    return lease;
  }

  #recordOf(lease: Lease): SecretRecord {
    const value = lease.value;
    if (value === undefined) {
      this.#assertOpen(lease.path);
      throw new CofreError(
        'COFRE_BACKEND_UNAVAILABLE',
        `${this.#ref(lease.path)}: the credentials were replaced while they were being read; read again`,
        { details: { reference: this.#ref(lease.path) } },
      );
    }
    const tokenEnd = this.#source?.expiresAt ?? Infinity;
    const end = Math.min(lease.endsAt, tokenEnd);
    return {
      value: value.clone(),
      version: lease.version,
      createdAt: lease.createdAt,
      ...(end === Infinity ? {} : { expiresAt: new Date(end - lease.marginMs) }),
    };
  }

  #usable(lease: Lease): boolean {
    return lease.value !== undefined && this.#now() < lease.endsAt - lease.marginMs;
  }

  // -- renewal loop -----------------------------------------------------------------------------------------

  /** Schedules the lease's next step at `renewFraction` of its remaining time. */
  #schedule(lease: Lease, delayMs?: number): void {
    this.#clearTimer(lease);
    if (this.#closed || lease.endsAt === Infinity) return;
    const delay = delayMs ?? (lease.endsAt - this.#now()) * this.#fraction;
    lease.timer = this.#timers.set(
      () => {
        lease.timer = undefined;
        this.#step(lease).catch((err: unknown) => {
          this.#log('error', 'Vault lease step failed', {
            reference: this.#ref(lease.path),
            version: lease.version,
            code: isCofreError(err) ? err.code : 'unknown',
          });
        });
      },
      Math.max(0, delay),
    );
  }

  /** What is due for a lease now: forget it when ended, give it up when final, else renew it. */
  async #step(lease: Lease): Promise<void> {
    if (this.#closed || !this.#held.has(lease)) return;
    if (this.#now() >= lease.endsAt) {
      this.#giveUp(lease, 'expiring');
      this.#forget(lease);
      return;
    }
    if (this.#live.get(lease.path) !== lease) {
      this.#schedule(lease, lease.endsAt - this.#now()); // given up: forget it when it ends
      return;
    }
    if (lease.final) {
      this.#giveUp(lease, lease.renewable ? 'max-ttl' : 'not-renewable');
      return;
    }
    await this.#renew(lease);
  }

  async #renew(lease: Lease): Promise<void> {
    const started = this.#now();
    let answer: z.infer<typeof renewResponse>;
    try {
      answer = await this.#request('PUT', 'sys/leases/renew', {
        body: { lease_id: lease.leaseId, increment: lease.incrementSeconds },
        schema: renewResponse,
        subject: `${this.#ref(lease.path)} (lease renewal)`,
      });
    } catch (err) {
      if (this.#isClosed() || this.#live.get(lease.path) !== lease) return;
      const code = isCofreError(err) ? err.code : 'unknown';
      if (isCofreError(err) && err.category === 'unavailable') {
        const left = lease.endsAt - this.#now() - lease.marginMs;
        if (left > MIN_RETRY_MS) {
          const delay = Math.min(RETRY_SOON_MS, left / 2);
          this.#log('warn', 'Vault lease renewal failed; retrying', {
            reference: this.#ref(lease.path),
            version: lease.version,
            code,
            delayMs: Math.round(delay),
          });
          this.#schedule(lease, delay);
          return;
        }
        this.#log('warn', 'Vault lease renewal failed and the lease is ending', {
          reference: this.#ref(lease.path),
          version: lease.version,
          code,
        });
        this.#giveUp(lease, 'renewal-failed');
        return;
      }
      this.#log('warn', 'Vault refused to renew a lease; new credentials will be issued', {
        reference: this.#ref(lease.path),
        version: lease.version,
        code,
      });
      this.#giveUp(lease, 'renewal-refused');
      return;
    }
    if (this.#isClosed() || this.#live.get(lease.path) !== lease) return;
    lease.endsAt = started + answer.lease_duration * 1_000;
    lease.renewable = answer.renewable;
    // Less than asked: the max TTL caps the lease, and renewing again cannot extend it.
    lease.final = !answer.renewable || answer.lease_duration < lease.incrementSeconds;
    this.#log(lease.final ? 'info' : 'debug', 'Vault lease renewed', {
      reference: this.#ref(lease.path),
      version: lease.version,
      ttlSeconds: answer.lease_duration,
      final: lease.final,
    });
    this.#schedule(lease);
  }

  /**
   * Stops handing the lease out: the next read issues new credentials. The lease stays held (and is revoked on
   * close) until it ends, because callers may still be using its credentials.
   */
  #giveUp(lease: Lease, reason: VaultLeaseEndReason): void {
    if (this.#live.get(lease.path) !== lease) return;
    this.#live.delete(lease.path);
    lease.value?.zero();
    lease.value = undefined;
    this.#log('info', 'Vault lease given up; the next read issues new credentials', {
      reference: this.#ref(lease.path),
      version: lease.version,
      reason,
    });
    if (this.#held.has(lease)) this.#schedule(lease, lease.endsAt - this.#now());
    const event: VaultLeaseEvent = {
      reference: this.#ref(lease.path),
      path: lease.path,
      version: lease.version,
      reason,
    };
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        this.#log('error', 'a lease listener threw', {
          reference: event.reference,
          code: isCofreError(err) ? err.code : 'unknown',
        });
      }
    }
  }

  #forget(lease: Lease): void {
    this.#clearTimer(lease);
    this.#held.delete(lease);
  }

  #clearTimer(lease: Lease): void {
    if (lease.timer !== undefined) this.#timers.clear(lease.timer);
    lease.timer = undefined;
  }

  async #revoke(lease: Lease): Promise<void> {
    try {
      await this.#request('PUT', 'sys/leases/revoke', {
        body: { lease_id: lease.leaseId },
        schema: ignoredResponse,
        subject: `${this.#ref(lease.path)} (lease revocation)`,
      });
      this.#log('info', 'Vault lease revoked', { reference: this.#ref(lease.path), version: lease.version });
    } catch (err) {
      this.#log('warn', 'could not revoke a Vault lease; it ends on its own', {
        reference: this.#ref(lease.path),
        version: lease.version,
        code: isCofreError(err) ? err.code : 'unknown',
      });
    }
  }

  // -- shared -----------------------------------------------------------------------------------------------

  #request<T>(method: VaultMethod, path: string, options: VaultRequestOptions<T>): Promise<T> {
    return this.#withToken((token) => this.#client.request(method, path, { ...options, token }));
  }

  /** A version id for a lease: HMAC under a per-process random key, so it reveals nothing about the lease id. */
  #versionOf(leaseId: string): string {
    return `l${createHmac('sha256', this.#versionKey).update(leaseId).digest('hex').slice(0, 24)}`;
  }

  // A method, not a field read, so the compiler does not narrow it across awaits.
  #isClosed(): boolean {
    return this.#closed;
  }

  #assertOpen(path: string): void {
    if (this.#closed) throw this.#closedError(path);
  }

  #closedError(path: string): CofreError {
    return new CofreError(
      'COFRE_BACKEND_CLOSED',
      `backend "${this.name}" used after close (${this.#ref(path)})`,
      {
        details: { reference: this.#ref(path) },
      },
    );
  }

  #ref(path: string): string {
    return `${this.name}:${path}`;
  }

  #notFound(path: string, what: string): CofreError {
    return new CofreError('COFRE_SECRET_NOT_FOUND', `secret ${this.#ref(path)} ${what}`, {
      details: { reference: this.#ref(path) },
    });
  }

  #unsupported(path: string, what: string): CofreError {
    return new CofreError(
      'COFRE_BACKEND_UNSUPPORTED',
      `backend "${this.name}" (Vault dynamic secrets${path === '' ? '' : `, ${this.#ref(path)}`}) does not support ${what}: credentials are issued by the secrets engine`,
    );
  }
}

/** Zeroes a lease's value once the current callers have copied it (they copy synchronously after their await). */
function zeroLater(lease: Lease): void {
  setImmediate(() => {
    lease.value?.zero();
    lease.value = undefined;
  });
}
