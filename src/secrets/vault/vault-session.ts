/**
 * The token lifecycle of one Vault / OpenBao connection: log in, renew before expiry, log in again when renewal
 * is refused or the max TTL is reached, revoke on close.
 */
import { z } from 'zod';

import { CofreError, isCofreError } from '../../errors.js';
import { type BackendLog, silentLog } from '../backend-log.js';
import type { VaultAuthMethod, VaultLogin } from './vault-auth.js';
import { ignoredResponse, vaultAuthSchema, type VaultClient } from './vault-client.js';

/** Options of a {@link VaultSession}. */
export interface VaultSessionOptions {
  readonly client: VaultClient;
  readonly auth: VaultAuthMethod;
  readonly log?: BackendLog;
  /**
   * Fraction of a token's TTL after which it is renewed (or replaced by a new login): default 2/3, so one failed
   * renewal still leaves a third of the TTL to retry in.
   */
  readonly renewFraction?: number;
  /** Milliseconds since the epoch; `Date.now` by default. Timers use the real `setTimeout`. */
  readonly now?: () => number;
}

/** What listeners of {@link VaultSession.onLogin} hear: a new token replaced the previous one. */
export interface VaultLoginEvent {
  readonly accessor: string;
  readonly previousAccessor: string | undefined;
  readonly ttlSeconds: number;
}

interface Current {
  readonly login: VaultLogin;
  /** When the token expires (ms since epoch), or Infinity. */
  readonly expiresAt: number;
  /** TTL of the login that created the token; a renewal returning less means the max TTL is near. */
  readonly loginTtlSeconds: number;
}

const renewResponse = z.object({ auth: vaultAuthSchema });

// Retry a failed renewal or re-login this soon (bounded by the token's remaining life).
const RETRY_SOON_MS = 5_000;

/**
 * One authenticated identity against one Vault server, shared by the KV backend and (later) the lease manager.
 *
 * - {@link VaultSession.token} logs in on first use (single-flight) and returns a token that has not expired by
 *   cofre's clock; {@link VaultSession.withToken} also recovers once from a token Vault no longer accepts.
 * - A timer (`unref`'d, so it never keeps the process alive) renews the token at `renewFraction` of its TTL
 *   (`auth/token/renew-self`). When a renewal comes back shorter than the login TTL the max TTL is near, so the
 *   next step is a fresh login instead; a refused renewal triggers a login at once; an unreachable Vault is
 *   retried while the token is still valid.
 * - {@link VaultSession.close} stops the timer and revokes the token (`auth/token/revoke-self`) when cofre created
 *   it; an operator's token (`token` auth) is never revoked.
 * - A previous token is not revoked when a new login replaces it: it expires on its own, and leases it created
 *   live until then.
 *
 * SECURITY: the token is held only here and passed per request; logs carry the accessor, never the token.
 * Safe to call concurrently.
 */
export class VaultSession {
  readonly client: VaultClient;
  readonly #auth: VaultAuthMethod;
  readonly #log: BackendLog;
  readonly #fraction: number;
  readonly #now: () => number;
  readonly #listeners = new Set<(event: VaultLoginEvent) => void>();
  #current: Current | undefined;
  #loggingIn: Promise<Current> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: VaultSessionOptions) {
    this.client = options.client;
    this.#auth = options.auth;
    this.#log = options.log ?? silentLog;
    this.#fraction = Math.min(0.95, Math.max(0.05, options.renewFraction ?? 2 / 3));
    this.#now = options.now ?? Date.now;
  }

  /** The auth method, for messages (`token`, `approle`, …). */
  get method(): string {
    return this.#auth.method;
  }

  /** Accessor of the current token, or undefined before the first login; safe to log. */
  get accessor(): string | undefined {
    return this.#current?.login.accessor;
  }

  /** When the current token expires (ms since epoch; Infinity if never), or undefined before the first login. */
  get expiresAt(): number | undefined {
    return this.#current?.expiresAt;
  }

  /** A valid token, logging in first when there is none or it has expired. Throws after {@link VaultSession.close}. */
  async token(): Promise<string> {
    return (await this.#valid()).login.token;
  }

  /**
   * Runs `request` with the current token. When it fails with `COFRE_BACKEND_DENIED` and the session can log in
   * again, checks whether the token itself is still accepted (`auth/token/lookup-self`); if not (revoked or
   * expired behind cofre's back) logs in once more and runs `request` again. A denial by policy is rethrown
   * unchanged and the request is not repeated.
   */
  async withToken<T>(request: (token: string) => Promise<T>): Promise<T> {
    const current = await this.#valid();
    try {
      return await request(current.login.token);
    } catch (err) {
      if (!isCofreError(err, 'COFRE_BACKEND_DENIED')) throw err;
      if (await this.#stillAccepted(current.login.token)) throw err;
      this.#log('warn', 'Vault no longer accepts the token; logging in again', {
        accessor: current.login.accessor,
      });
      if (this.#current === current) this.#current = undefined;
      const fresh = await this.#valid();
      return request(fresh.login.token);
    }
  }

  /** Subscribes to new logins (the lease manager re-reads leases tied to an old token). Returns an unsubscribe. */
  onLogin(listener: (event: VaultLoginEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Renews the token now (`auth/token/renew-self`), or logs in again when renewal is refused. For tests and ops. */
  async renewNow(): Promise<void> {
    await this.#renewOrRelogin();
  }

  /** Stops renewing and revokes the token if cofre created it. Safe to call twice; later calls to `token()` throw. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearTimer();
    const current = await (this.#loggingIn ?? Promise.resolve(this.#current)).catch(() => this.#current);
    this.#current = undefined;
    if (current === undefined || !current.login.ownedByCofre || this.#now() >= current.expiresAt) return;
    try {
      await this.client.request('POST', 'auth/token/revoke-self', {
        token: current.login.token,
        schema: ignoredResponse,
        subject: 'auth/token/revoke-self',
      });
      this.#log('info', 'Vault token revoked', { accessor: current.login.accessor });
    } catch (err) {
      this.#log('warn', 'could not revoke the Vault token; it expires on its own', {
        accessor: current.login.accessor,
        code: isCofreError(err) ? err.code : 'unknown',
      });
    }
  }

  async #valid(): Promise<Current> {
    if (this.#closed) {
      throw new CofreError('COFRE_BACKEND_CLOSED', `Vault session (${this.#auth.method}) used after close`);
    }
    const current = this.#current;
    // A token within a second of expiry is as good as gone: a request in flight would race it.
    if (current !== undefined && this.#now() < current.expiresAt - 1_000) return current;
    return this.#login();
  }

  #login(): Promise<Current> {
    this.#loggingIn ??= (async () => {
      try {
        const login = await this.#auth.login(this.client);
        if (this.#closed) {
          // Closed while logging in: the new token is not needed.
          if (login.ownedByCofre) {
            await this.client
              .request('POST', 'auth/token/revoke-self', { token: login.token, schema: ignoredResponse })
              .catch(() => undefined);
          }
          throw new CofreError(
            'COFRE_BACKEND_CLOSED',
            `Vault session (${this.#auth.method}) closed during login`,
          );
        }
        const previous = this.#current?.login.accessor;
        const current: Current = {
          login,
          expiresAt: login.ttlSeconds === 0 ? Infinity : this.#now() + login.ttlSeconds * 1_000,
          loginTtlSeconds: login.ttlSeconds,
        };
        this.#current = current;
        this.#log('info', 'logged in to Vault', {
          method: this.#auth.method,
          accessor: login.accessor,
          ttlSeconds: login.ttlSeconds,
          renewable: login.renewable,
        });
        this.#schedule(current, login.ttlSeconds);
        const event = { accessor: login.accessor, previousAccessor: previous, ttlSeconds: login.ttlSeconds };
        for (const listener of this.#listeners) listener(event);
        return current;
      } finally {
        this.#loggingIn = undefined;
      }
    })();
    return this.#loggingIn;
  }

  /** Schedules the next renewal or login at `fraction` of `ttlSeconds` from now (nothing for a token without TTL). */
  #schedule(current: Current, ttlSeconds: number): void {
    this.#clearTimer();
    if (this.#closed || ttlSeconds === 0) return;
    this.#setTimerFor(current, ttlSeconds * 1_000 * this.#fraction, () => this.#renewOrRelogin());
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #renewOrRelogin(): Promise<void> {
    const current = this.#current;
    if (current === undefined || this.#closed) return;
    const { login } = current;
    // Every method can log in again; for `token` that re-reads the file (an agent may have rotated it).
    if (!login.renewable) {
      await this.#relogin(current, 'token is not renewable');
      return;
    }
    let leaseSeconds: number;
    try {
      const renewed = await this.client.request('POST', 'auth/token/renew-self', {
        token: login.token,
        body: {},
        schema: renewResponse,
        subject: 'auth/token/renew-self',
      });
      leaseSeconds = renewed.auth.lease_duration;
    } catch (err) {
      if (isCofreError(err) && err.category !== 'unavailable') {
        await this.#relogin(current, `renewal refused (${err.code})`);
      } else {
        this.#retrySoon(current, 'renewal failed; Vault unavailable');
      }
      return;
    }
    if (this.#current !== current || this.#isClosed()) return;
    const renewedCurrent: Current = {
      ...current,
      expiresAt: leaseSeconds === 0 ? Infinity : this.#now() + leaseSeconds * 1_000,
    };
    this.#current = renewedCurrent;
    this.#log('debug', 'Vault token renewed', { accessor: login.accessor, ttlSeconds: leaseSeconds });
    if (leaseSeconds < current.loginTtlSeconds) {
      // Vault capped the renewal at the token's max TTL: the next step is a fresh login before it ends.
      this.#log('info', 'Vault token nears its max TTL; a new login is scheduled', {
        accessor: login.accessor,
        ttlSeconds: leaseSeconds,
      });
      this.#clearTimer();
      this.#setTimerFor(renewedCurrent, leaseSeconds * 1_000 * this.#fraction, () =>
        this.#relogin(renewedCurrent, 'max TTL reached'),
      );
      return;
    }
    this.#schedule(renewedCurrent, leaseSeconds);
  }

  #setTimerFor(current: Current, delayMs: number, action: () => Promise<void>): void {
    this.#clearTimer();
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        if (this.#current !== current || this.#closed) return;
        action().catch((err: unknown) => {
          this.#log('error', 'Vault token renewal failed', {
            code: isCofreError(err) ? err.code : 'unknown',
          });
        });
      },
      Math.max(0, delayMs),
    );
    this.#timer.unref();
  }

  async #relogin(current: Current, reason: string): Promise<void> {
    if (this.#current !== current || this.#closed) return;
    this.#log('info', 'logging in to Vault again', { reason, accessor: current.login.accessor });
    try {
      if (this.#current === current) this.#current = undefined;
      await this.#login();
    } catch (err) {
      // Keep the old token while it lasts; try again soon.
      if (this.#current === undefined && this.#now() < current.expiresAt) this.#current = current;
      if (this.#isClosed()) return;
      this.#log('warn', 'Vault re-login failed; retrying', {
        code: isCofreError(err) ? err.code : 'unknown',
      });
      this.#retrySoon(current, 're-login failed', () => this.#relogin(current, reason));
    }
  }

  #retrySoon(current: Current, why: string, action?: () => Promise<void>): void {
    const left = current.expiresAt - this.#now();
    if (this.#current !== current || left <= 0 || this.#closed) return;
    const delay = Math.min(RETRY_SOON_MS, left / 2);
    this.#log('warn', `Vault token: ${why}; retrying`, {
      accessor: current.login.accessor,
      delayMs: Math.round(delay),
    });
    this.#setTimerFor(current, delay, action ?? (() => this.#renewOrRelogin()));
  }

  // A method, not a field read, so the compiler does not narrow it across awaits.
  #isClosed(): boolean {
    return this.#closed;
  }

  async #stillAccepted(token: string): Promise<boolean> {
    try {
      await this.client.request('GET', 'auth/token/lookup-self', {
        token,
        schema: ignoredResponse,
        subject: 'auth/token/lookup-self',
      });
      return true;
    } catch (err) {
      // Denied: the token is dead. Anything else (unavailable): assume it lives, and let the denial stand.
      return !isCofreError(err, 'COFRE_BACKEND_DENIED');
    }
  }
}
