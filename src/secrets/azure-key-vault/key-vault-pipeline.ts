/**
 * cofre's policy in the Key Vault SDK's HTTP pipeline: one attempt's timeout, a ceiling on the answer's size, no
 * second try of a bearer token Key Vault refused, and what each call saw (attempts, statuses, Key Vault's error
 * codes) for logs and error mapping.
 *
 * Where it sits: the SDK adds it `perRetry` (after the `Sign` phase), so it runs once per HTTP attempt, inside the
 * retry policy and inside the Key Vault challenge policy (`keyVaultAuthenticationPolicy`, which sits outside the
 * retry policy and resends a request after a 401).
 *
 * Why each part:
 * - Timeout: the SDK's own `request.timeout` aborts the attempt with an `AbortError`, which the retry policy does
 *   not retry, and it stops at the headers. Here a timed-out attempt becomes a `RestError` with code `ETIMEDOUT`,
 *   which the SDK's exponential strategy retries like any network error, so `requestTimeout` is per attempt and
 *   `maxRetries` bounds them; reading the body gets its own `requestTimeout`.
 * - Size: the SDK's Node HTTP client reads a whole body into a string with no limit. Here the body is asked for as a
 *   stream and read with {@link readBounded}; an answer over `maxResponseSize` is `COFRE_BACKEND_RESPONSE_TOO_LARGE`,
 *   which no retry strategy retries.
 * - Retry-After: the SDK waits as long as a 429 or 503 asks, with no ceiling; a broken or hostile endpoint could
 *   park a call for hours. Waits over `maxRetryAfterMs` are cut to it (Key Vault's own are seconds).
 * - 401: the challenge policy answers every 401 that carries `WWW-Authenticate` by sending the request again with
 *   a token, the one it holds in its cache when the first request already carried it. Resending a token Key
 *   Vault has refused cannot succeed and doubles the load on an identity that is being refused, so the same token
 *   is never sent twice for one request: the 401 is returned as it came. The first challenge of a client (a
 *   request sent without a token) and a new token (a CAE claims challenge) go through.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

import type { SecretClientOptions } from '@azure/keyvault-secrets';

import { readBounded } from '../bounded-body.js';

// The pipeline's types, as the Key Vault SDK exposes them (core-rest-pipeline is not a dependency of cofre's own).
type PipelinePolicy = NonNullable<SecretClientOptions['additionalPolicies']>[number]['policy'];
type PipelineRequest = Parameters<PipelinePolicy['sendRequest']>[0];
type PipelineResponse = Awaited<ReturnType<PipelinePolicy['sendRequest']>>;

/**
 * A timed-out attempt, shaped as the SDK's `RestError` for a network failure: its retry policy recognises a
 * `RestError` by name and its exponential strategy retries code `ETIMEDOUT`.
 */
class AttemptTimedOut extends Error {
  override readonly name = 'RestError';
  readonly code = 'ETIMEDOUT';
}

/** What one SDK call saw, attempt by attempt; read by the backend after the call. Holds no value. */
export interface CallTrace {
  /** HTTP attempts sent (pages, challenge handshakes and retries included). */
  attempts: number;
  /** Attempts that resent a request the SDK had sent before, other than after the first challenge. */
  retries: number;
  /** Attempts answered 429. */
  throttled: number;
  /** Attempts that timed out. */
  timedOut: number;
  /** The last answer's status. */
  lastStatus: number | undefined;
  /** Key Vault's `error.innererror.code` of the last error answer (`SecretDisabled`, `ForbiddenByRbac`). */
  innerError: string | undefined;
  /** `x-ms-request-id` of the last answer. */
  requestId: string | undefined;
  /** True when a 401 was returned instead of resending the token Key Vault refused. */
  refusedTokenNotResent: boolean;
}

const traces = new AsyncLocalStorage<CallTrace>();

/** Runs `call` with a fresh {@link CallTrace} the policy fills in, and returns both. */
export async function traced<T>(
  call: () => Promise<T>,
): Promise<{ readonly trace: CallTrace; readonly result: PromiseSettledResult<T> }> {
  const trace: CallTrace = {
    attempts: 0,
    retries: 0,
    throttled: 0,
    timedOut: 0,
    lastStatus: undefined,
    innerError: undefined,
    requestId: undefined,
    refusedTokenNotResent: false,
  };
  let result: PromiseSettledResult<T>;
  try {
    result = { status: 'fulfilled', value: await traces.run(trace, call) };
  } catch (err) {
    result = { status: 'rejected', reason: err };
  }
  return { trace, result };
}

/** Settings of {@link cofrePipelinePolicy}. */
export interface PipelineLimits {
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  /** Longest wait a `Retry-After` (or `retry-after-ms`, `x-ms-retry-after-ms`) may ask for. */
  readonly maxRetryAfterMs: number;
  /** Names the backend in the too-large message (`Azure Key Vault backend "azure"`). */
  readonly source: string;
}

const SAFE_CODE = /^[A-Za-z0-9_.-]{1,64}$/;

/** The policy; add it with `additionalPolicies: [{ policy, position: 'perRetry' }]`. */
export function cofrePipelinePolicy(limits: PipelineLimits): PipelinePolicy {
  // The token a request was refused with (by request object, so it is forgotten with the request).
  const refused = new WeakMap<PipelineRequest, { token: string; response: PipelineResponse }>();
  // Requests sent before: `challenged` when the last answer was the challenge to a request without a token.
  const sent = new WeakMap<PipelineRequest, 'sent' | 'challenged'>();
  return {
    name: 'cofreKeyVaultPolicy',
    async sendRequest(request, next) {
      const trace = traces.getStore();
      const token = request.headers.get('authorization');
      const before = refused.get(request);
      if (token !== undefined && before !== undefined && before.token === token) {
        if (trace !== undefined) trace.refusedTokenNotResent = true;
        return before.response;
      }
      if (trace !== undefined) {
        trace.attempts++;
        if (sent.get(request) === 'sent') trace.retries++;
      }
      sent.set(request, 'sent');
      request.timeout = limits.timeoutMs;
      request.streamResponseStatusCodes = new Set([Number.POSITIVE_INFINITY]);
      let response: PipelineResponse;
      try {
        response = await next(request);
      } catch (err) {
        throw attemptError(err, request, trace);
      }
      await bufferBody(response, limits, request, trace);
      capRetryAfter(response, limits.maxRetryAfterMs);
      record(response, trace);
      if (response.status === 401 && token !== undefined) refused.set(request, { token, response });
      if (response.status === 401 && token === undefined) sent.set(request, 'challenged');
      return response;
    },
  };
}

/** A timed-out attempt as a retryable network error; anything else as it was. */
function attemptError(err: unknown, request: PipelineRequest, trace: CallTrace | undefined): unknown {
  const aborted = request.abortSignal?.aborted === true;
  if (err instanceof Error && err.name === 'AbortError' && !aborted) {
    if (trace !== undefined) trace.timedOut++;
    // No `request` attached: its body may be a value being written.
    return new AttemptTimedOut('the attempt timed out');
  }
  return err;
}

/**
 * Reads the streamed body with the size ceiling into `bodyAsText`, as the SDK's HTTP client would have. The SDK's
 * timeout ends when the headers arrive; reading the body gets `timeoutMs` of its own, and a body that does not
 * finish in time ends the attempt as a timeout (retried like one).
 */
async function bufferBody(
  response: PipelineResponse,
  limits: PipelineLimits,
  request: PipelineRequest,
  trace: CallTrace | undefined,
): Promise<void> {
  const stream = response.readableStreamBody;
  if (stream === undefined) return;
  delete response.readableStreamBody;
  const deadline = { passed: false };
  const timer = setTimeout(() => {
    deadline.passed = true;
    (stream as { destroy?: (err?: Error) => void }).destroy?.(
      new AttemptTimedOut('reading the answer timed out'),
    );
  }, limits.timeoutMs);
  let body: Buffer;
  try {
    body = await readBounded(
      stream as AsyncIterable<Uint8Array>,
      limits.maxResponseBytes,
      {
        source: limits.source,
        subject: `${request.method} ${pathOf(request.url)}`,
        setting: 'maxResponseSize',
      },
      response.headers.get('content-length'),
    );
  } catch (err) {
    if (!deadline.passed) throw err;
    if (trace !== undefined) trace.timedOut++;
    throw new AttemptTimedOut('reading the answer timed out');
  } finally {
    clearTimeout(timer);
  }
  response.bodyAsText = body.toString('utf8');
  body.fill(0);
}

/** Cuts the waits a 429 or 503 asks for to `maxMs`, in the headers the SDK's throttling strategy reads. */
function capRetryAfter(response: PipelineResponse, maxMs: number): void {
  if (response.status !== 429 && response.status !== 503) return;
  for (const header of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const ms = Number(response.headers.get(header));
    if (response.headers.has(header) && !(ms <= maxMs)) response.headers.set(header, String(maxMs));
  }
  const retryAfter = response.headers.get('retry-after');
  if (retryAfter === undefined) return;
  const waitMs = /^\d+$/.test(retryAfter.trim())
    ? Number(retryAfter) * 1000
    : Date.parse(retryAfter) - Date.now();
  // Whole seconds only in the header: a cap under one second becomes an immediate retry.
  if (!(waitMs <= maxMs)) response.headers.set('retry-after', String(Math.floor(maxMs / 1000)));
}

/** Status, request id and Key Vault's inner error code of an answer; only codes that look like codes. */
function record(response: PipelineResponse, trace: CallTrace | undefined): void {
  if (trace === undefined) return;
  trace.lastStatus = response.status;
  if (response.status === 429) trace.throttled++;
  const requestId = response.headers.get('x-ms-request-id');
  trace.requestId = requestId !== undefined && SAFE_CODE.test(requestId) ? requestId : undefined;
  trace.innerError = response.status >= 400 ? innerErrorCode(response.bodyAsText) : undefined;
}

function innerErrorCode(body: string | null | undefined): string | undefined {
  if (typeof body !== 'string' || body === '') return undefined;
  try {
    const parsed = JSON.parse(body) as { error?: { innererror?: { code?: unknown } } };
    const code = parsed.error?.innererror?.code;
    return typeof code === 'string' && SAFE_CODE.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

/** The path of a Key Vault URL without its query (`/secrets/binance`), for messages. */
function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return 'a request';
  }
}
