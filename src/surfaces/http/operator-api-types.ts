/**
 * The JSON of the operator API (`/v1/operator/...`), as both its clients see it: scripts with a bearer operator token
 * on the agent port, and the operator console (issue 18) in a browser, on the console's own listener. The routes
 * return exactly these shapes (`operator-routes.ts` annotates each answer with them, so a drift fails `tsc`).
 *
 * Self-contained on purpose (no import): the console's browser code imports these types too, and must not pull in
 * Node's.
 *
 * Every time is ISO 8601 text; every amount is decimal text (never a float). Nothing here holds a secret: token
 * values appear only in the answers of the two "add" routes, once.
 */

export type ApprovalStatusJson = 'pending' | 'approved' | 'denied' | 'expired' | 'executed';

/** `GET /v1/operator/approvals[?status=]` → `{ approvals }`; `GET /v1/operator/approvals/{requestId}` → one. */
export interface ApprovalJson {
  readonly requestId: string;
  readonly agent: string;
  readonly action: string;
  readonly account: string | null;
  /** `pending` past its expiry reads `expired`. */
  readonly status: ApprovalStatusJson;
  /**
   * The bound action (approval-binding.ts `BoundAction`): `send` is the resolved order (`kind: "order"`, `order`
   * with side, type, amount, price, referencePrice, notional, quote, symbol) or withdrawal, exactly as it will be sent.
   */
  readonly payload: unknown;
  /** SHA-256 of the payload's canonical text; approving means approving this hash. */
  readonly payloadHash: string;
  /** The policy rule that asked for approval. */
  readonly rule: string;
  readonly required: number;
  /** Operators who may approve; empty: any operator. */
  readonly approvers: readonly string[];
  readonly approvals: readonly {
    readonly operator: string;
    readonly at: string;
    readonly comment: string | null;
  }[];
  readonly decidedBy: string | null;
  readonly comment: string | null;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly decidedAt: string | null;
}

export interface ApprovalsJson {
  readonly approvals: readonly ApprovalJson[];
}

/** `GET /v1/operator/halt`. */
export type HaltJson =
  | { readonly halted: false }
  | { readonly halted: true; readonly reason: string; readonly by: string; readonly at: string };

/** `POST /v1/operator/halt { reason, cancelOpenOrders?, revokeAgents? }`. */
export interface HaltReportJson {
  readonly halt: { readonly reason: string; readonly by: string; readonly at: string };
  readonly revokedAgents: readonly string[];
  readonly cancelled?: readonly unknown[];
}

export type RequestStatusJson = 'executing' | 'executed' | 'denied' | 'pending_approval' | 'failed';

/** One request in the activity list (`GET /v1/operator/requests`). */
export interface RequestSummaryJson {
  readonly requestId: string;
  readonly agent: string;
  readonly action: string;
  readonly account: string | null;
  readonly status: RequestStatusJson;
  /** The rule that decided it (from the stored answer), when there was one. */
  readonly rule: string | null;
  /** Why it was denied or failed (the stored answer's reason or error message); never a secret. */
  readonly reason: string | null;
  /** The error code of a failed request. */
  readonly errorCode: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * `GET /v1/operator/requests?agent=&account=&status=&action=&limit=&before=`: newest first, at most `limit` (default
 * 50, at most 500); `nextBefore` (a `createdAt`) pages on. Requests older than `state.retention.requests` are gone
 * from the state store; the audit log keeps them.
 */
export interface RequestsJson {
  readonly requests: readonly RequestSummaryJson[];
  readonly nextBefore: string | null;
}

/** One audit record as the console shows it: what the log holds (HMACed fields stay HMACs). */
export interface AuditRecordJson {
  readonly seq: number;
  readonly at: string;
  readonly kind: string;
  /** The record's own fields, without `seq`, `at`, `kind` and the chain fields. */
  readonly fields: Record<string, unknown>;
}

/**
 * `GET /v1/operator/requests/{requestId}`: one request's whole story: the stored request and answer, its approval if
 * any, and every audit record naming it (intent, decision, approval votes, outcome), in order, with timings.
 */
export interface RequestStoryJson {
  readonly request: RequestSummaryJson;
  /** The stored answer the agent got (scrubbed), parsed. */
  readonly response: unknown;
  readonly approval: ApprovalJson | null;
  readonly audit: readonly AuditRecordJson[];
  /** Milliseconds from the first audit record to each later one, by record `seq`. */
  readonly timings: readonly { readonly seq: number; readonly kind: string; readonly afterMs: number }[];
}

/** One limit with its usage, across every agent it applies to (`GET /v1/operator/limits`). */
export interface LimitUsageJson {
  /** The limit's name in the policy. */
  readonly limit: string;
  /** The ledger key; equal keys are one budget, listed once. */
  readonly key: string;
  /** What is measured (policy-types.ts `LimitMeasure`: notional, orders, withdrawal amount, …). */
  readonly measure: string;
  /** Human-readable scope: `agent:trader-1`, `account:binance-main`, … */
  readonly scope: string;
  /** Window length in milliseconds, or null for a standing limit (open orders). */
  readonly windowMs: number | null;
  /** The quote asset(s) for notional, the asset for withdrawals; null for counts. */
  readonly unit: string | null;
  readonly cap: string;
  readonly used: string;
  readonly remaining: string;
  /** The policies and agents this budget applies to. */
  readonly policies: readonly string[];
  readonly agents: readonly string[];
}

export interface AgentJson {
  readonly id: string;
  readonly policy: string;
  readonly status: 'active' | 'revoked' | 'expired';
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly revokedAt: string | null;
  /** Live session tokens (exchanged, delegated) of this agent and its sub-agents. */
  readonly sessions: number;
}

/** `GET /v1/operator/limits`. */
export interface LimitsJson {
  readonly limits: readonly LimitUsageJson[];
  readonly agents: readonly AgentJson[];
  /** Every policy name in the config. */
  readonly policies: readonly string[];
  readonly at: string;
}

/** `GET /v1/operator/agents` → `{ agents }`. */
export interface AgentsJson {
  readonly agents: readonly AgentJson[];
  readonly policies: readonly string[];
}

/** `POST /v1/operator/agents { id, policy?, ttl? }`: the token is in this answer only, never again. */
export interface AgentAddedJson {
  readonly agent: AgentJson;
  readonly token: string;
}

/** `POST /v1/operator/agents/{id}/revoke`. */
export interface AgentRevokedJson {
  readonly revoked: boolean;
  /** Session tokens revoked with it (its own and its sub-agents'). */
  readonly sessions: number;
}

export interface OperatorJson {
  readonly id: string;
  readonly status: 'active' | 'revoked' | 'expired';
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly revokedAt: string | null;
}

/** `GET /v1/operator/operators` → `{ operators }`. */
export interface OperatorsJson {
  readonly operators: readonly OperatorJson[];
}

/** `POST /v1/operator/operators { id, ttl? }`: the token is in this answer only. */
export interface OperatorAddedJson {
  readonly operator: OperatorJson;
  readonly token: string;
}

/** `POST /v1/operator/operators/{id}/revoke`. */
export interface OperatorRevokedJson {
  readonly revoked: boolean;
}

/** A run of the audit chain verifier (`POST /v1/operator/audit/verify`), as it goes and when done. */
export interface AuditVerificationJson {
  readonly id: string;
  readonly state: 'running' | 'passed' | 'failed';
  readonly by: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  /** Records checked so far. */
  readonly records: number;
  /** Records in the log when it started, when known (for a progress bar). */
  readonly total: number | null;
  /** The verifier's findings (empty when it passed). */
  readonly findings: readonly string[];
  /** The last signed checkpoint it verified. */
  readonly lastCheckpoint: { readonly seq: number; readonly at: string } | null;
}

/** `GET /v1/operator/audit`: the chain's state and the last verification of this process. */
export interface AuditStatusJson {
  readonly store: 'file' | 'postgres';
  /** The last record written, when known. */
  readonly head: { readonly seq: number; readonly at: string } | null;
  readonly lastCheckpoint: { readonly seq: number; readonly at: string } | null;
  /** The running or latest verification (null before the first). */
  readonly verification: AuditVerificationJson | null;
}

/** `GET /v1/operator/activity?window=24h&bucket=1h`: requests per time bucket, oldest first, for the charts. */
export interface ActivityJson {
  readonly windowMs: number;
  readonly bucketMs: number;
  readonly buckets: readonly {
    readonly start: string;
    readonly executed: number;
    readonly denied: number;
    readonly failed: number;
    readonly pendingApproval: number;
  }[];
}

/**
 * `GET /v1/operator/events`: `text/event-stream`. Each event says what changed, so the page refetches that part;
 * the data is small JSON. Sent when the state store shows a change (any process or replica), within about a
 * second; `ping` every 15 s keeps proxies from closing the stream.
 */
export type OperatorEventJson =
  | { readonly event: 'approvals'; readonly data: { readonly pending: number } }
  | { readonly event: 'halt'; readonly data: HaltJson }
  | { readonly event: 'requests'; readonly data: { readonly latest: string | null } }
  | { readonly event: 'audit-verification'; readonly data: AuditVerificationJson }
  | { readonly event: 'ping'; readonly data: Record<string, never> };

/** The console's own session routes (console listener only): `GET /console/session`, `POST /console/login`. */
export interface ConsoleSessionJson {
  readonly operator: string;
  /** Sent back as `x-cofre-csrf` on every state-changing request. */
  readonly csrfToken: string;
  readonly idleTimeoutMs: number;
  readonly expiresAt: string;
}

/** Every error of cofre's HTTP API. */
export interface ErrorJson {
  readonly error: { readonly code: string; readonly message: string; readonly retryable: boolean };
}
