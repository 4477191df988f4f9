import type { Awaitable } from './awaitable.js';
/** An operator as the state store keeps it: like an agent, only the SHA-256 of its token. */
export interface OperatorRecord {
  readonly id: string;
  readonly tokenId: string;
  readonly tokenHash: Buffer;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly revokedAt: Date | undefined;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'executed';

/** A request waiting for operators, bound to the exact payload that will be sent. */
export interface ApprovalRecord {
  readonly requestId: string;
  readonly agentId: string;
  readonly action: string;
  readonly account: string | undefined;
  /** Canonical JSON of the resolved action (what will be sent) and the policy decision that asked for approval. */
  readonly payload: string;
  /** SHA-256 (hex) of `payload`; an operator approves this hash, so a changed payload cannot be approved. */
  readonly payloadHash: string;
  readonly rule: string;
  readonly required: number;
  /** Operators who may approve; empty: any operator. */
  readonly approvers: readonly string[];
  readonly status: ApprovalStatus;
  /** Distinct operators who approved so far, in order. */
  readonly approvals: readonly {
    readonly operator: string;
    readonly at: Date;
    readonly comment: string | undefined;
  }[];
  readonly decidedBy: string | undefined;
  readonly comment: string | undefined;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly decidedAt: Date | undefined;
}

/** What one operator's approval did. */
export type ApproveResult =
  | { readonly outcome: 'approved' } // enough approvals: the caller executes it (once: see claimApprovedForExecution)
  | { readonly outcome: 'recorded'; readonly remaining: number }
  | {
      readonly outcome: 'refused';
      readonly reason:
        | 'not-found'
        | 'expired'
        | 'denied'
        | 'executed'
        | 'already-approved-by-you'
        | 'not-an-approver'
        | 'hash-mismatch'
        | 'approved';
    };

/** The kill switch, persisted: a restart stays halted. */
export interface HaltState {
  readonly reason: string;
  readonly by: string;
  readonly at: Date;
}

/**
 * Operators, approvals and the kill switch (issue 9). Every method is atomic; `claimApprovedForExecution` returns
 * true exactly once per approved request, across processes.
 */
export interface ControlStore {
  addOperator(operator: OperatorRecord): Awaitable<void>;
  operatorByTokenId(tokenId: string): Awaitable<OperatorRecord | undefined>;
  listOperators(): Awaitable<readonly OperatorRecord[]>;
  revokeOperator(id: string, at: Date): Awaitable<boolean>;

  createApproval(approval: ApprovalRecord): Awaitable<void>;
  approval(requestId: string): Awaitable<ApprovalRecord | undefined>;
  /** Pending first, newest first; `status` filters. Expired ones are reported `expired` once past `now`. */
  listApprovals(now: Date, status?: ApprovalStatus): Awaitable<readonly ApprovalRecord[]>;
  approve(
    requestId: string,
    operator: string,
    payloadHash: string,
    comment: string | undefined,
    now: Date,
  ): Awaitable<ApproveResult>;
  deny(requestId: string, operator: string, comment: string | undefined, now: Date): Awaitable<boolean>;
  /** Moves an approved, unexpired request to `executed`; true for exactly one caller. */
  claimApprovedForExecution(requestId: string, now: Date): Awaitable<boolean>;

  halted(): Awaitable<HaltState | undefined>;
  setHalt(state: HaltState): Awaitable<void>;
  /** Returns false when it was not halted. */
  clearHalt(): Awaitable<boolean>;
}
