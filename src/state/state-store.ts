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
  /** For writes: `<account>:<clientOrderId>`; unique, so a repeated write finds the first one. */
  readonly idempotencyKey: string | undefined;
  readonly status: RequestStatus;
  /** JSON text of the scrubbed response body (result, rule, reason, error). */
  readonly response: string | undefined;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/**
 * Durable broker state: agents and requests. SQLite for a single host (better-sqlite3); PostgreSQL for many
 * replicas arrives later behind the same interface.
 *
 * Implementations must make {@link StateStore.claimRequest} atomic: of two concurrent claims with the same
 * idempotency key exactly one wins, the other gets the winner's record.
 */
export interface StateStore {
  addAgent(agent: AgentRecord): void;
  agentByTokenId(tokenId: string): AgentRecord | undefined;
  listAgents(): readonly AgentRecord[];
  /** Returns false when no such agent exists or it was already revoked. */
  revokeAgent(id: string, at: Date): boolean;

  /**
   * Inserts `request` unless another request holds its idempotency key; returns `{ claimed: true }` or the
   * existing record.
   */
  claimRequest(request: RequestRecord): { claimed: true } | { claimed: false; existing: RequestRecord };
  finishRequest(requestId: string, status: RequestStatus, response: string, at: Date): void;
  /** Forgets a claimed request that was never sent (the audit log refused its intent). */
  releaseRequest(requestId: string): void;
  request(requestId: string): RequestRecord | undefined;
  close(): void;
}
