import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

import type { AuthenticatedOperator } from '../../../broker/operator-tokens.js';
import { CofreError } from '../../../errors.js';
import type { ControlStore } from '../../../state/control-store.js';

/** One console session, as kept in memory. The session id itself is never kept, only its SHA-256. */
export interface ConsoleSession {
  readonly operator: string;
  /** The operator token the session was opened with (its public id); re-checked on every request. */
  readonly tokenId: string;
  /** Sent back by the page as `x-cofre-csrf` on every state-changing request. Random, per session. */
  readonly csrfToken: string;
  readonly createdAt: Date;
  lastSeen: Date;
  /** The session's absolute end: its lifetime after login, or the operator token's expiry if sooner. */
  readonly expiresAt: Date;
}

/** Options of {@link ConsoleSessions}. */
export interface ConsoleSessionsOptions {
  /** Where the operator records are re-read (a revoked operator's sessions end at their next request). */
  readonly store: ControlStore;
  readonly idleTimeoutMs: number;
  readonly lifetimeMs: number;
  readonly now: () => Date;
  /** Sessions kept at most; past it the least recently used one ends. Default 10,000. */
  readonly max?: number;
}

const UNAUTHENTICATED =
  'no console session, or it ended (idle, lifetime, logout or a revoked operator); log in again';

/**
 * The console's sessions, in this process's memory (a restart logs everyone out, which is the safe direction).
 *
 * SECURITY:
 * - a session id is 256 random bits; only its SHA-256 is kept, so a memory dump does not yield usable cookies, and
 *   the lookup by hash gives no timing hint about a guessed id;
 * - a session ends when unused for `idleTimeoutMs`, `lifetimeMs` after login, and never after its operator token
 *   expires; an operator whose token was revoked loses the session at its next request (one lookup of the
 *   operator's record by token id per request).
 *
 * Safe for concurrent requests: every method is synchronous but {@link ConsoleSessions.resume}, whose only await is
 * the operator lookup.
 */
export class ConsoleSessions {
  readonly #options: ConsoleSessionsOptions;
  readonly #sessions = new Map<string, ConsoleSession>();

  constructor(options: ConsoleSessionsOptions) {
    this.#options = options;
  }

  get idleTimeoutMs(): number {
    return this.#options.idleTimeoutMs;
  }

  /** Opens a session for an operator who just authenticated; returns the id for the cookie (shown only here). */
  create(operator: AuthenticatedOperator): { readonly id: string; readonly session: ConsoleSession } {
    const now = this.#options.now();
    this.#sweep(now);
    const id = randomBytes(32).toString('base64url');
    const lifetimeEnd = now.getTime() + this.#options.lifetimeMs;
    const session: ConsoleSession = {
      operator: operator.id,
      tokenId: operator.tokenId,
      csrfToken: randomBytes(32).toString('base64url'),
      createdAt: now,
      lastSeen: now,
      expiresAt: new Date(Math.min(lifetimeEnd, operator.expiresAt.getTime())),
    };
    this.#sessions.set(hashOf(id), session);
    return { id, session };
  }

  /**
   * The live session a cookie names, or `COFRE_UNAUTHENTICATED` (401). An ended session (idle, past its end, or
   * its operator revoked or expired) is removed on the way. Does not count as use: see {@link ConsoleSessions.touch}.
   */
  async resume(id: string | undefined): Promise<ConsoleSession> {
    const key = id === undefined || id === '' ? undefined : hashOf(id);
    const session = key === undefined ? undefined : this.#sessions.get(key);
    if (key === undefined || session === undefined)
      throw new CofreError('COFRE_UNAUTHENTICATED', UNAUTHENTICATED);
    const now = this.#options.now();
    if (this.#ended(session, now)) {
      this.#sessions.delete(key);
      throw new CofreError('COFRE_UNAUTHENTICATED', UNAUTHENTICATED);
    }
    const record = await this.#options.store.operatorByTokenId(session.tokenId);
    if (
      record === undefined ||
      record.id !== session.operator ||
      record.revokedAt !== undefined ||
      this.#options.now().getTime() >= record.expiresAt.getTime()
    ) {
      this.#sessions.delete(key);
      throw new CofreError('COFRE_UNAUTHENTICATED', UNAUTHENTICATED);
    }
    return session;
  }

  /** Marks the session used now, which restarts its idle timeout. */
  touch(session: ConsoleSession): void {
    session.lastSeen = this.#options.now();
  }

  /** Ends the session a cookie names (logout); returns it, or undefined when there was none. */
  end(id: string | undefined): ConsoleSession | undefined {
    if (id === undefined) return undefined;
    const key = hashOf(id);
    const session = this.#sessions.get(key);
    this.#sessions.delete(key);
    return session;
  }

  /** Sessions open now (tests and the log). */
  get size(): number {
    return this.#sessions.size;
  }

  #ended(session: ConsoleSession, now: Date): boolean {
    return (
      now.getTime() - session.lastSeen.getTime() >= this.#options.idleTimeoutMs ||
      now.getTime() >= session.expiresAt.getTime()
    );
  }

  /** Drops ended sessions, then the least recently used ones past the cap; runs at each login. */
  #sweep(now: Date): void {
    for (const [key, session] of this.#sessions) if (this.#ended(session, now)) this.#sessions.delete(key);
    const max = this.#options.max ?? 10_000;
    if (this.#sessions.size < max) return;
    const byUse = [...this.#sessions].sort((a, b) => a[1].lastSeen.getTime() - b[1].lastSeen.getTime());
    for (const [key] of byUse.slice(0, this.#sessions.size - max + 1)) this.#sessions.delete(key);
  }
}

/** SECURITY: compares the CSRF header with the session's token in constant time. */
export function csrfMatches(session: ConsoleSession, header: string | undefined): boolean {
  if (header === undefined) return false;
  const given = createHash('sha256').update(header, 'utf8').digest();
  const expected = createHash('sha256').update(session.csrfToken, 'utf8').digest();
  return timingSafeEqual(given, expected);
}

function hashOf(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}
