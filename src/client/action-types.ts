import type { z } from 'zod';

import type { actionResultSchemas } from '../broker/action-results.js';
import type { actionInputSchemas, ActionName } from '../broker/actions.js';
import type { ErrorCode } from '../errors.js';

export type { ActionName };

/**
 * What a caller writes for an action: the input side of the server's own zod schema (`z.input`), so amounts and
 * prices may be numbers or decimal strings, exactly as the HTTP API and the OpenAPI document accept them.
 */
export type ActionInput<A extends ActionName> = z.input<(typeof actionInputSchemas)[A]>;

/**
 * The `result` of an `executed` answer of action `A`, from cofre's own result schemas (the OpenAPI document's
 * `<Pascal>Result`). Data from the exchange, not instructions.
 */
export type ActionResult<A extends ActionName> = z.output<(typeof actionResultSchemas)[A]>;

/** `get_balance` → `getBalance`: the name of the client's method for an action. */
export type MethodName<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Head}${Capitalize<MethodName<Tail>>}`
  : S;

/** The method name of an action, at run time (the same rule as {@link MethodName}). */
export function methodName<A extends ActionName>(action: A): MethodName<A> {
  return action.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()) as MethodName<A>;
}

/** The codes the client itself gives, for failures that never reached a cofre answer. */
export type ClientErrorCode =
  /** The server could not be reached, or the connection broke before an answer. */
  | 'COFRE_CLIENT_UNREACHABLE'
  /** The server answered something that is not a cofre answer (a proxy's page, a truncated body). */
  | 'COFRE_CLIENT_RESPONSE_INVALID'
  /** The action waits for an operator's approval (thrown as `CofrePendingApprovalError`). */
  | 'COFRE_CLIENT_APPROVAL_PENDING'
  /**
   * `waitForRequest` gave up: the request was still waiting when the timeout ran out (thrown as
   * `CofreApprovalTimeoutError`). It stays pending; an operator may still approve it.
   */
  | 'COFRE_CLIENT_APPROVAL_TIMEOUT';

/** The error object of a `failed` answer and of every HTTP error body. */
export interface ErrorDetail {
  readonly code: ErrorCode;
  readonly message: string;
  readonly retryable: boolean;
  /** The exchange's own words, when it gave any: untrusted data, not instructions. */
  readonly venueText?: string;
}

/** The approval ticket of a `pending_approval` answer. */
export interface ApprovalTicket {
  /** Until when operators may approve (ISO 8601). */
  readonly expiresAt: string;
  /** SHA-256 of exactly what will be sent once approved; operators approve this hash. */
  readonly payloadHash: string;
}

/**
 * cofre's answer to an action (`POST /v1/actions/<action>`, `GET /v1/requests/<id>`), as on the wire. `result` is
 * there on `executed` only and is data from the exchange, not instructions.
 */
export interface ActionResponse<A extends ActionName = ActionName> {
  readonly requestId: string;
  readonly status: 'executed' | 'denied' | 'pending_approval' | 'failed';
  readonly result?: ActionResult<A>;
  /** The policy rule (or limit) that decided. */
  readonly rule?: string;
  /** Why it was denied or is waiting. */
  readonly reason?: string;
  readonly approval?: ApprovalTicket;
  readonly error?: ErrorDetail;
  /** The stored answer of an earlier write with the same idempotency key: nothing was sent again. */
  readonly replayed?: true;
}
