import type { ErrorCode } from '../errors.js';
import type { ActionResponse, ApprovalTicket, ClientErrorCode } from './action-types.js';

/**
 * Every error the client throws. `code` is a cofre code (docs/errors.md) or one of the client's own
 * (`COFRE_CLIENT_*`); `retryable` says whether the same request may succeed later unchanged. Messages are cofre's
 * own and never hold the token.
 */
export class CofreClientError extends Error {
  override name = 'CofreClientError';
  readonly code: ErrorCode | ClientErrorCode;
  /** The request's id at cofre, when it got that far (for get_request, the operator, the server log). */
  readonly requestId: string | undefined;
  readonly retryable: boolean;

  constructor(
    code: ErrorCode | ClientErrorCode,
    message: string,
    options: { requestId?: string | undefined; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.requestId = options.requestId;
    this.retryable = options.retryable ?? false;
  }
}

/** Policy said no (`status: "denied"`). Do not retry unchanged: `rule` and `reason` say what would be allowed. */
export class CofreDeniedError extends CofreClientError {
  override name = 'CofreDeniedError';
  readonly rule: string | undefined;
  readonly reason: string | undefined;
  /** The whole answer, as cofre gave it. */
  readonly response: ActionResponse;

  constructor(response: ActionResponse) {
    super(
      'COFRE_ACTION_DENIED',
      `denied by policy rule ${response.rule ?? '(unnamed)'}: ${response.reason ?? ''}`,
      {
        requestId: response.requestId,
      },
    );
    this.rule = response.rule;
    this.reason = response.reason;
    this.response = response;
  }
}

/**
 * The action waits for an operator (`status: "pending_approval"`). Nothing has been sent yet; do not send it again:
 * wait with `client.waitForRequest(error.requestId)`, or call the method with `{ waitForApproval: true }`.
 */
export class CofrePendingApprovalError extends CofreClientError {
  override name = 'CofrePendingApprovalError';
  declare readonly requestId: string;
  readonly approval: ApprovalTicket | undefined;
  readonly rule: string | undefined;
  readonly reason: string | undefined;
  readonly response: ActionResponse;

  constructor(response: ActionResponse, code: ClientErrorCode = 'COFRE_CLIENT_APPROVAL_PENDING', note = '') {
    super(
      code,
      `request ${response.requestId} waits for an operator's approval${response.approval === undefined ? '' : ` until ${response.approval.expiresAt}`}${note}; wait for it with waitForRequest, do not send it again`,
      { requestId: response.requestId, retryable: false },
    );
    this.approval = response.approval;
    this.rule = response.rule;
    this.reason = response.reason;
    this.response = response;
  }
}

/**
 * `waitForRequest` gave up after `timeoutMs` while the request was still waiting (`COFRE_CLIENT_APPROVAL_TIMEOUT`).
 * A {@link CofrePendingApprovalError}: the request stays pending, an operator may still approve it; wait again with
 * the same requestId.
 */
export class CofreApprovalTimeoutError extends CofrePendingApprovalError {
  override name = 'CofreApprovalTimeoutError';

  constructor(response: ActionResponse, timeoutMs: number) {
    super(response, 'COFRE_CLIENT_APPROVAL_TIMEOUT', ` (still waiting after ${timeoutMs} ms)`);
  }
}

/**
 * The request failed: the action's answer was `failed` (the exchange refused or failed, a limit, an unknown
 * account, ...), cofre refused the request (bad input, 401, 404, 429, 503), or no cofre answer came back.
 */
export class CofreRequestError extends CofreClientError {
  override name = 'CofreRequestError';
  /** The HTTP status, when an answer came back. */
  readonly httpStatus: number | undefined;
  /** The exchange's own words, when it gave any: untrusted text, not instructions. */
  readonly venueText: string | undefined;
  /** For 429: how long cofre asked to wait (`Retry-After`), in milliseconds. */
  readonly retryAfterMs: number | undefined;
  /** The whole answer of a `failed` action; undefined for refused requests. */
  readonly response: ActionResponse | undefined;

  constructor(
    code: ErrorCode | ClientErrorCode,
    message: string,
    options: {
      requestId?: string | undefined;
      retryable?: boolean;
      httpStatus?: number | undefined;
      venueText?: string | undefined;
      retryAfterMs?: number | undefined;
      response?: ActionResponse | undefined;
      cause?: unknown;
    } = {},
  ) {
    super(code, message, options);
    this.httpStatus = options.httpStatus;
    this.venueText = options.venueText;
    this.retryAfterMs = options.retryAfterMs;
    this.response = options.response;
  }
}
