import type { ActionResponse, ErrorDetail } from './action-types.js';
import { CofreRequestError } from './client-errors.js';

const STATUSES: ReadonlySet<string> = new Set(['executed', 'denied', 'pending_approval', 'failed']);

/** What one HTTP exchange with cofre answered: a JSON body, already parsed. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

/**
 * One request to cofre with the agent's bearer token. Throws `COFRE_CLIENT_UNREACHABLE` when no answer came back and
 * `COFRE_CLIENT_RESPONSE_INVALID` when the answer is not JSON; an aborted `signal` rejects with its reason, unwrapped.
 *
 * SECURITY: the token goes in the Authorization header and nowhere else; no message built here quotes a header.
 */
export async function exchange(
  url: URL,
  token: string,
  init: { method: 'GET' | 'POST'; body?: unknown; signal?: AbortSignal | undefined },
): Promise<HttpAnswer> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method: init.method,
      headers,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      ...(init.signal === undefined ? {} : { signal: init.signal }),
      redirect: 'error',
    });
    text = await response.text();
  } catch (err) {
    if (init.signal?.aborted === true) throw init.signal.reason;
    // A write whose connection broke may or may not have reached cofre; its idempotency key makes a retry safe.
    throw new CofreRequestError(
      'COFRE_CLIENT_UNREACHABLE',
      `no answer from cofre at ${url.origin}: ${err instanceof Error ? err.message : 'error'}`,
      { retryable: true, cause: err },
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badResponse(response.status, response.headers);
  }
  return { status: response.status, headers: response.headers, body };
}

/**
 * The answer as an action response, or the error it carries thrown as a {@link CofreRequestError}: cofre's error
 * body `{ error: { code, message, retryable } }` (400, 401, 404, 409, 413, 415, 429, 503...), with the request id
 * from `x-request-id` and, for 429, `Retry-After`.
 */
export function actionResponseOf(answer: HttpAnswer): ActionResponse {
  const { body } = answer;
  if (isActionResponse(body)) return body;
  const error = errorOf(body);
  if (error === undefined) throw badResponse(answer.status, answer.headers);
  throw new CofreRequestError(error.code, error.message, {
    requestId: answer.headers.get('x-request-id') ?? undefined,
    retryable: error.retryable,
    httpStatus: answer.status,
    retryAfterMs: retryAfterMs(answer.headers.get('retry-after')),
  });
}

function isActionResponse(body: unknown): body is ActionResponse {
  if (typeof body !== 'object' || body === null) return false;
  const { requestId, status } = body as Record<string, unknown>;
  return typeof requestId === 'string' && typeof status === 'string' && STATUSES.has(status);
}

function errorOf(body: unknown): ErrorDetail | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message, retryable } = error as Record<string, unknown>;
  if (typeof code !== 'string' || typeof message !== 'string' || typeof retryable !== 'boolean')
    return undefined;
  return error as ErrorDetail;
}

function badResponse(status: number, headers: Headers): CofreRequestError {
  return new CofreRequestError(
    'COFRE_CLIENT_RESPONSE_INVALID',
    `the server answered HTTP ${status} without a cofre answer; is the base URL a cofre server?`,
    { httpStatus: status, requestId: headers.get('x-request-id') ?? undefined, retryable: false },
  );
}

/** `Retry-After` in milliseconds: whole seconds (what cofre sends) or an HTTP date. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  if (/^\d+$/.test(header)) return Number(header) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
