import type { FastifyBaseLogger } from 'fastify';

import type { ActionResponse } from '../../broker/broker.js';
import {
  CofreError,
  errorCatalogue,
  type ErrorCategory,
  type ErrorCode,
  type ErrorSpec,
  isCofreError,
} from '../../errors.js';

/** The body of every HTTP error that is not an {@link ActionResponse}. */
export interface HttpErrorBody {
  readonly error: { readonly code: ErrorCode; readonly message: string; readonly retryable: boolean };
}

/** What the one mapper answers: status, extra headers, body. */
export interface HttpErrorReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: HttpErrorBody;
}

const CATEGORY_STATUS: Readonly<Record<ErrorCategory, number>> = {
  invalid: 400,
  denied: 403,
  not_found: 404,
  unavailable: 503,
  internal: 500,
};

/** Codes whose HTTP status is more specific than their category's. */
const CODE_STATUS: Partial<Readonly<Record<ErrorCode, number>>> = {
  COFRE_UNAUTHENTICATED: 401,
  // RFC 8693 §2.2.2 / RFC 6749 §5.2: a refused grant is 400 invalid_grant, not 403.
  COFRE_TOKEN_EXCHANGE_REFUSED: 400,
  COFRE_TOKEN_EXCHANGE_RATE_LIMITED: 429,
  COFRE_CONSOLE_LOGIN_RATE_LIMITED: 429,
  COFRE_METHOD_NOT_ALLOWED: 405,
  COFRE_REQUEST_IN_PROGRESS: 409,
  COFRE_IDEMPOTENCY_CONFLICT: 409,
  COFRE_APPROVAL_NOT_PENDING: 409,
  COFRE_APPROVAL_HASH_MISMATCH: 409,
  COFRE_APPROVAL_ALREADY_VOTED: 409,
  COFRE_AGENT_QUOTA_EXCEEDED: 429,
  COFRE_BODY_TOO_LARGE: 413,
  COFRE_MEDIA_TYPE_UNSUPPORTED: 415,
};

/**
 * What a `WWW-Authenticate: Bearer` challenge says about the request it answers (RFC 6750 §3, RFC 9728 §5.1).
 */
export interface BearerChallenge {
  /** The resource's metadata URL (`resource_metadata`), when cofre is an OAuth protected resource. */
  readonly resourceMetadata?: string | undefined;
  /** A bearer token came with the request: a refusal then says `error="invalid_token"` (none without a token). */
  readonly tokenPresented: boolean;
  /** The scope that grants `actionClass` to the request's agent, for `insufficient_scope`. */
  readonly scopeFor?: ((actionClass: string) => string | undefined) | undefined;
}

/** The HTTP status for an error code: a code-specific status if there is one, else its category's. */
export function httpStatusForCode(code: ErrorCode): number {
  // A stored response may carry a code this build does not know; that is a server problem, not the caller's.
  const spec: ErrorSpec | undefined = Object.hasOwn(errorCatalogue, code) ? errorCatalogue[code] : undefined;
  return CODE_STATUS[code] ?? (spec === undefined ? 500 : CATEGORY_STATUS[spec.category]);
}

/**
 * The one HTTP error mapper. Everything that goes wrong on the HTTP surface ends here: CofreErrors from the broker
 * and from authentication, and fastify's own errors (malformed JSON, body too large, wrong media type, unknown
 * route), which are turned into cofre codes so callers see one shape, `{ error: { code, message, retryable } }`.
 *
 * | error | status |
 * | --- | --- |
 * | category `invalid` (bad input, unknown action, malformed JSON) | 400 |
 * | `COFRE_UNAUTHENTICATED` (with `WWW-Authenticate: Bearer`, see {@link bearerChallengeHeader}) | 401 |
 * | `COFRE_INSUFFICIENT_SCOPE` (with `WWW-Authenticate: Bearer error="insufficient_scope"`) | 403 |
 * | other category `denied` | 403 |
 * | category `not_found` | 404 |
 * | `COFRE_METHOD_NOT_ALLOWED` / `COFRE_REQUEST_IN_PROGRESS`, `COFRE_IDEMPOTENCY_CONFLICT`, `COFRE_APPROVAL_*` (not pending, hash mismatch, already voted) | 405 / 409 |
 * | `COFRE_AGENT_QUOTA_EXCEEDED` (with `Retry-After`) | 429 |
 * | `COFRE_BODY_TOO_LARGE` / `COFRE_MEDIA_TYPE_UNSUPPORTED` | 413 / 415 |
 * | category `unavailable` | 503 |
 * | category `internal` and anything unexpected | 500, generic message with the request id |
 *
 * SECURITY: internal errors are logged in full and shown only as a generic message; no stack trace, cause or
 * fastify/parser message (a JSON parser's message can quote the body) reaches the caller.
 */
export function httpErrorReply(
  err: unknown,
  requestId: string,
  log: FastifyBaseLogger,
  bearer: BearerChallenge = { tokenPresented: false },
): HttpErrorReply {
  const known = toCofreError(err);
  if (known === undefined || known.category === 'internal') {
    log.error({ err }, 'unexpected error');
    return {
      status: 500,
      headers: {},
      body: {
        error: {
          code: 'COFRE_INTERNAL',
          message: `internal error; see the server log for request ${requestId}`,
          retryable: false,
        },
      },
    };
  }
  const headers: Record<string, string> = {};
  const challenge = bearerChallengeHeader(known, bearer);
  if (challenge !== undefined) headers['www-authenticate'] = challenge;
  const retryAfterMs = known.details?.['retryAfterMs'];
  if (
    (known.code === 'COFRE_AGENT_QUOTA_EXCEEDED' ||
      known.code === 'COFRE_TOKEN_EXCHANGE_RATE_LIMITED' ||
      known.code === 'COFRE_CONSOLE_LOGIN_RATE_LIMITED') &&
    typeof retryAfterMs === 'number'
  ) {
    headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  }
  return {
    status: httpStatusForCode(known.code),
    headers,
    body: { error: { code: known.code, message: known.message, retryable: known.retryable } },
  };
}

/**
 * The `WWW-Authenticate` header of a refusal, if it takes one:
 * - `COFRE_UNAUTHENTICATED`: `Bearer realm="cofre"`, with `resource_metadata` (RFC 9728 §5.1: how an MCP client
 *   finds the authorization server) and, when a token was presented, `error="invalid_token"` and the reason
 *   (RFC 6750 §3.1; without a token, no error code, as §3 says);
 * - `COFRE_INSUFFICIENT_SCOPE`: `error="insufficient_scope"` and the `scope` the action needs.
 */
export function bearerChallengeHeader(err: CofreError, bearer: BearerChallenge): string | undefined {
  const params: string[] = ['realm="cofre"'];
  if (err.code === 'COFRE_UNAUTHENTICATED') {
    if (bearer.tokenPresented) {
      params.push('error="invalid_token"', `error_description="${quotable(err.message)}"`);
    }
  } else if (err.code === 'COFRE_INSUFFICIENT_SCOPE') {
    params.push('error="insufficient_scope"', `error_description="${quotable(err.message)}"`);
    const actionClass = err.details?.['actionClass'];
    const scope = typeof actionClass === 'string' ? bearer.scopeFor?.(actionClass) : undefined;
    if (scope !== undefined) params.push(`scope="${quotable(scope)}"`);
  } else {
    return undefined;
  }
  if (bearer.resourceMetadata !== undefined) params.push(`resource_metadata="${bearer.resourceMetadata}"`);
  return `Bearer ${params.join(', ')}`;
}

/** RFC 6750 §3: `error_description` and `scope` hold printable ASCII without `"` and `\`; others become `'` or `?`. */
function quotable(text: string): string {
  return text.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, '?');
}

/**
 * The HTTP status of an action's answer. The body is always the {@link ActionResponse}; the status is a hint for
 * generic HTTP clients and proxies:
 *
 * | status field | HTTP |
 * | --- | --- |
 * | `executed` | 200 |
 * | `pending_approval` | 202 |
 * | `denied` | 403 |
 * | `failed` with a `COFRE_VENUE_*` code (the exchange refused, failed or did not answer) | 502 |
 * | `failed` with another code | that code's status ({@link httpStatusForCode}): e.g. 400, 409, 500 |
 *
 * `get_request` (and `GET /v1/requests/<id>`) answers 200 whatever the stored request's status: the lookup worked.
 */
export function httpStatusForResponse(action: string, response: ActionResponse): number {
  if (action === 'get_request') return 200;
  switch (response.status) {
    case 'executed':
      return 200;
    case 'pending_approval':
      return 202;
    case 'denied':
      return 403;
    case 'failed': {
      const code = response.error?.code;
      if (code === undefined) return 502;
      return code.startsWith('COFRE_VENUE_') ? 502 : httpStatusForCode(code);
    }
  }
}

/** Fastify's and the parser's errors as cofre errors; undefined for anything unexpected. */
function toCofreError(err: unknown): CofreError | undefined {
  if (isCofreError(err)) return err;
  const e = err as { code?: unknown; statusCode?: unknown; validation?: unknown } | null;
  if (e === null || typeof e !== 'object') return undefined;
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new CofreError('COFRE_BODY_TOO_LARGE', 'the request body is larger than the server accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new CofreError(
        'COFRE_MEDIA_TYPE_UNSUPPORTED',
        'send the body as JSON with Content-Type: application/json',
      );
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new CofreError('COFRE_INPUT_INVALID', 'the body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new CofreError('COFRE_INPUT_INVALID', 'the body does not match its Content-Length');
  }
  if (e.validation !== undefined)
    return new CofreError('COFRE_INPUT_INVALID', 'the request was rejected by validation');
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status === 404) return new CofreError('COFRE_ROUTE_NOT_FOUND', 'no such endpoint');
  if (status === 413)
    return new CofreError('COFRE_BODY_TOO_LARGE', 'the request body is larger than the server accepts');
  if (status === 415) return new CofreError('COFRE_MEDIA_TYPE_UNSUPPORTED', 'send the body as JSON');
  if (status >= 400 && status < 500)
    return new CofreError('COFRE_INPUT_INVALID', 'the request was not understood');
  return undefined;
}
