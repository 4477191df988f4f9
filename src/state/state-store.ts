import type { AgentSessionStore } from '../identity/session-types.js';
import type { LimitCheck } from '../policy/policy-types.js';
import type { RotationStore } from '../rotation/rotation-types.js';
import type { Awaitable } from './awaitable.js';
import type { ControlStore } from './control-store.js';
import type { LimitLedger, ReservationSettlement } from './limit-ledger.js';
import type { NonceStore } from './nonce-store.js';

/** An agent as the state store keeps it. The token itself is never stored: only its SHA-256. */
export interface AgentRecord {
  readonly id: string;
  readonly policy: string;
  /** Public part of the token, used to find the record before comparing hashes. */
  readonly tokenId: string;
  readonly tokenHash: Buffer;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly revokedAt: Date | undefined;
}

export type RequestStatus = 'executing' | 'executed' | 'denied' | 'pending_approval' | 'failed';

/** One request an agent made, as `GET /v1/requests/<id>` shows it. Holds no secret. */
export interface RequestRecord {
  readonly requestId: string;
  readonly agentId: string;
  readonly action: string;
  readonly account: string | undefined;
  /**
   * For writes that claim one (placing an order): the agent's own key for it, unique, so a repeated write finds the
   * first one. Cleared when the write is known not to have reached the venue, so the key may be used again.
   */
  readonly idempotencyKey: string | undefined;
  /** Canonical JSON of the validated input, so a replay can be told from a different request with the same key. */
  readonly input: string | undefined;
  readonly status: RequestStatus;
  /** JSON text of the scrubbed response body (result, rule, reason, error). */
  readonly response: string | undefined;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Which requests {@link StateStore.listRequests} returns (issue 18: the console's activity list and charts). */
export interface RequestFilter {
  readonly agentId?: string | undefined;
  readonly account?: string | undefined;
  readonly status?: RequestStatus | undefined;
  readonly action?: string | undefined;
  /** Only requests created at or after this. */
  readonly since?: Date | undefined;
  /** Only requests created strictly before this (paging backwards). */
  readonly before?: Date | undefined;
  /** At most this many, newest first. */
  readonly limit: number;
}

/** How a claimed request ended; see {@link StateStore.finishRequest}. */
export interface RequestOutcome {
  readonly status: Exclude<RequestStatus, 'executing'>;
  /** JSON text of the scrubbed response. */
  readonly response: string;
  readonly at: Date;
  readonly releaseKey: boolean;
  /**
   * How the request's limit reservation ends (`settleReservation`), in the same transaction as the outcome: one
   * commit instead of two on every order (issue 11).
   */
  readonly settlement?: ReservationSettlement | undefined;
}

/**
 * A point in the audit log up to which every `intent` record is known to have its request row in this state file
 * (issue 11): reconciliation at start reads only the records after it. Names the record by its chain position and
 * hash, and where it ended on disk (the file's inode, which a rotation's rename keeps, and the byte offset after its
 * line), so the reader can seek there and check it is the same record.
 */
export interface AuditHorizon {
  /** `seq` of the last record covered. */
  readonly seq: number;
  /** SHA-256 (hex) of that record's line, without its `\n`. */
  readonly hash: string;
  /** Inode of the file that held it, as a decimal string. */
  readonly ino: string;
  /** Byte offset just after that record's `\n` in that file. */
  readonly offset: number;
  /** When the horizon was taken. */
  readonly at: Date;
}

/** What {@link StateStore.restoreRequest} did. */
export type RestoreResult =
  | { readonly outcome: 'restored' }
  /** The request was pending approval: it is `executing` again and its approval is `executed`. */
  | { readonly outcome: 'resumed' }
  /** The row is there (executing, finished, …): nothing changed. */
  | { readonly outcome: 'exists' }
  /** Another request holds the idempotency key: nothing changed. */
  | { readonly outcome: 'key-held'; readonly by: string };

/**
 * Durable broker state: agents, requests, limit budgets ({@link LimitLedger}) and operators, approvals and the
 * halt ({@link ControlStore}), key rotations ({@link RotationStore}, issue 12), wallet nonces ({@link NonceStore}, issue 19). SQLite for a single host
 * (better-sqlite3, `state.type: sqlite`); PostgreSQL for many replicas (`state.type: postgres`, issue 16), behind
 * this same interface: every method returns an {@link Awaitable}, and every caller awaits it.
 *
 * Implementations must make {@link StateStore.claimRequest} atomic: of two concurrent claims with the same
 * idempotency key exactly one wins, the other gets the winner's record — across processes and, on PostgreSQL,
 * across hosts. The same holds for reservations and approval execution. One conformance suite
 * (`src/state/conformance/`) runs against both stores.
 *
 * Ownership (issue 16): every request a store claims, resumes or restores is owned by the store's replica
 * ({@link StateStore.replicaId}). A replica that stops heartbeating for longer than the lease is dead: a survivor
 * adopts its `executing` requests ({@link StateStore.adoptOrphans}) and settles them at the venue. SQLite has one
 * replica (every process on the file shares it), so adoption there finds nothing: its restart settles instead.
 */
export interface StateStore extends LimitLedger, ControlStore, RotationStore, AgentSessionStore, NonceStore {
  addAgent(agent: AgentRecord): Awaitable<void>;
  agentByTokenId(tokenId: string): Awaitable<AgentRecord | undefined>;
  listAgents(): Awaitable<readonly AgentRecord[]>;
  /** Returns false when no such agent exists or it was already revoked. */
  revokeAgent(id: string, at: Date): Awaitable<boolean>;

  /**
   * Inserts `request` unless another request holds its idempotency key; returns `{ claimed: true }` or the
   * existing record.
   */
  claimRequest(
    request: RequestRecord,
  ): Awaitable<{ claimed: true } | { claimed: false; existing: RequestRecord }>;
  /**
   * Stores the finished row of a request that holds no idempotency key and was not stored while it ran (a read, a
   * cancel): written with the other rows finished in the same turn of the event loop, in one transaction (one
   * commit for many, issue 11). {@link request} sees it at once; a process that dies before the turn ends loses
   * it (the audit log has the request).
   */
  recordFinished(request: RequestRecord): Awaitable<void>;
  /**
   * Records the outcome of a claimed request. With `releaseKey`, its idempotency key is freed (the request is kept,
   * for `get_request`): for a write that is known not to have reached the venue, or that the venue refused.
   */
  finishRequest(requestId: string, outcome: RequestOutcome): Awaitable<void>;
  /** Moves a request from `pending_approval` back to `executing` when its approval runs; false if it was not pending. */
  resumeRequest(requestId: string, at: Date): Awaitable<boolean>;
  /** Forgets a claimed request that was never sent (the audit log refused its intent). */
  releaseRequest(requestId: string): Awaitable<void>;
  request(requestId: string): Awaitable<RequestRecord | undefined>;
  /**
   * Issue 18: requests of every agent (and every replica) matching `filter`, newest first (by `createdAt`, then
   * `requestId`), at most `filter.limit`; finished ones included until `pruneRequests` removes them.
   */
  listRequests(filter: RequestFilter): Awaitable<readonly RequestRecord[]>;
  /**
   * Requests still `executing` that were created before `before`, oldest first: left behind by a process that
   * stopped in the middle of them (or still running, if `before` is recent). Only those this replica owns
   * (SQLite: all), unless `allReplicas` (`cofre request list`, which is a replica of its own).
   */
  executingRequests(
    before: Date,
    options?: { readonly allReplicas?: boolean },
  ): Awaitable<readonly RequestRecord[]>;
  /**
   * Deletes up to `limit` finished requests last updated before `before`, oldest first, and returns how many: the
   * retention of `state.retention.requests` (the audit log keeps the record). Never deletes a request that is
   * `executing`, `pending_approval`, or holds a limit reservation. Bounded so one call holds the write lock briefly;
   * call again while it returns `limit`.
   */
  pruneRequests(before: Date, limit: number): Awaitable<number>;
  /**
   * Puts back a request the audit log proves was sent (an `intent`) but this state lost (a power loss rolled it
   * back), as `executing`, with its key and its reservation of `checks` taken at `at` whatever the caps say (it was
   * spent): reconciliation then settles it at the venue. A request still `pending_approval` whose approved run was
   * recorded is moved to `executing` and its approval to `executed`, so it cannot run twice. Atomic
   * (`BEGIN IMMEDIATE`): two processes restoring at once restore once.
   */
  restoreRequest(record: RequestRecord, checks: readonly LimitCheck[], at: Date): Awaitable<RestoreResult>;
  /** The audit horizon this file holds, if any (see {@link AuditHorizon}). */
  auditHorizon(): Awaitable<AuditHorizon | undefined>;
  /**
   * Moves the audit horizon. SECURITY: only to a record whose every earlier `intent` had its request claimed in this
   * file before the call (claims commit before their intent is appended, so any record already in the log qualifies).
   */
  setAuditHorizon(horizon: AuditHorizon): Awaitable<void>;
  /**
   * Issue 16: this process's replica, owner of the requests it claims. SQLite: `local`. PostgreSQL: a random id per
   * opened store (`r-` and 16 hex digits), so a restarted process is a new replica and its old self's requests are
   * adopted like any dead replica's.
   */
  readonly replicaId: string;
  /** Records that this replica is alive at `at` (PostgreSQL: its row in `replicas`; SQLite: nothing). */
  heartbeat(at: Date): Awaitable<void>;
  /**
   * Adopts the `executing` requests of every replica whose last heartbeat is before `staleBefore` (and that is not
   * this one): they become this replica's, the dead replica is forgotten, and they are returned, oldest first, for
   * the caller to settle at the venue once they are older than the venue's signed-request window. Atomic: of two
   * survivors adopting at once, each request goes to exactly one. SQLite: always empty.
   */
  adoptOrphans(staleBefore: Date, at: Date): Awaitable<readonly RequestRecord[]>;
  close(): Awaitable<void>;
}
