import type { Awaitable } from '../state/awaitable.js';

/**
 * Issue 17: a short-lived agent token cofre issued itself, from a workload identity exchange (`POST /v1/token`) or a
 * delegation (`POST /v1/tokens/delegate`). Like agent tokens, only the SHA-256 of its secret is stored.
 */
export interface AgentSessionRecord {
  /** Public part of the token (`cofre_st_<tokenId>.<secret>`), used to find the record before comparing hashes. */
  readonly tokenId: string;
  readonly tokenHash: Buffer;
  /** The acting agent: the exchange rule's agent, or for a delegation `<parent id>/<name>`. */
  readonly agentId: string;
  /** The policy that applies: the rule's, or for a delegation the chain's root's (narrowed by `grants`). */
  readonly policy: string;
  readonly kind: 'exchange' | 'delegation';
  /** Agents this one acts on behalf of, nearest first; empty for an exchange. The last is the principal. */
  readonly onBehalfOf: readonly string[];
  /**
   * The stored credentials this token depends on, nearest first (its parent, the parent's parent, ...): it stops
   * working the moment any of them is revoked or expires. Empty for an exchange, and for a delegation from an OAuth
   * access token (which cofre does not store; the child never outlives it).
   */
  readonly ancestors: readonly SessionAncestor[];
  /** JSON text of the delegation grants of the chain (identity layer's format); undefined for an exchange. */
  readonly grants: string | undefined;
  /** Exchange: `<iss> <sub>` of the subject token (not secret), for listing; delegation: undefined. */
  readonly subject: string | undefined;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly revokedAt: Date | undefined;
}

/** A stored credential a delegated token depends on: an agent token (`cofre agent add`) or another session token. */
export interface SessionAncestor {
  readonly kind: 'agent' | 'session';
  readonly tokenId: string;
}

/** The state store's part for issued session tokens (SQLite and PostgreSQL; shared conformance suite). */
export interface AgentSessionStore {
  addAgentSession(session: AgentSessionRecord): Awaitable<void>;
  /** The sessions with these token ids (any that exist; revoked and expired included), in no particular order. */
  agentSessions(tokenIds: readonly string[]): Awaitable<readonly AgentSessionRecord[]>;
  /** Unrevoked, unexpired sessions at `now`, optionally of one agent, newest first. */
  listAgentSessions(options: {
    readonly agentId?: string;
    readonly now: Date;
  }): Awaitable<readonly AgentSessionRecord[]>;
  /** Returns false when no such session exists or it was already revoked. */
  revokeAgentSession(tokenId: string, at: Date): Awaitable<boolean>;
  /**
   * Revokes every unrevoked session of an agent and of its delegated sub-agents (`<agentId>/...`), for
   * `cofre agent revoke`; returns how many. (Descendants would stop anyway once an ancestor is revoked; revoking
   * them too makes the count and `cofre agent tokens` say so.)
   */
  revokeAgentSessionsOf(agentId: string, at: Date): Awaitable<number>;
  /** Deletes sessions that expired before `before` (they can no longer authenticate); returns how many. */
  deleteExpiredAgentSessions(before: Date): Awaitable<number>;
}
