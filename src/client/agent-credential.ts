import type { ErrorCode } from '../errors.js';
import { checkAgentToken } from './agent-token.js';
import { CofreClientError, CofreRequestError } from './client-errors.js';

/**
 * Where the client's bearer token comes from: fixed (`token`, `tokenFile`), or exchanged for the workload's own
 * identity at cofre's `POST /v1/token` and renewed before it expires (`subjectToken`, `subjectTokenFile`).
 * Safe to use concurrently.
 */
export interface AgentCredential {
  /** The token to send now. */
  token(signal?: AbortSignal): Promise<string>;
  /**
   * After cofre answered 401 to `rejected`: a fresh token to retry with once, or undefined when there is none to
   * get (a fixed token that was revoked stays revoked).
   */
  renew(rejected: string, signal?: AbortSignal): Promise<string | undefined>;
}

/** A fixed agent token (`cofre agent add`). */
export function fixedCredential(token: string): AgentCredential {
  return {
    token: () => Promise.resolve(token),
    renew: () => Promise.resolve(undefined),
  };
}

/** Where a workload's identity token comes from, read again for every exchange. */
export type SubjectTokenSource = () => string | Promise<string>;

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const MAX_SUBJECT_TOKEN_BYTES = 16 * 1024;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** Renew this long before expiry at most (a quarter of the token's life when that is shorter). */
const RENEW_MARGIN_MS = 60_000;

/**
 * A subject token read from a file on every exchange: Kubernetes' kubelet rewrites a projected service-account
 * token before it expires, so the file's current content is what to present. The file is not a cofre secret (a
 * projected token is mode 644 by default, scoped to its audience), so no mode is enforced.
 * SECURITY: no message quotes the file's content.
 */
export function subjectTokenFromFile(path: string): SubjectTokenSource {
  return async () => {
    const { readFile } = await import('node:fs/promises');
    const raw = await readFile(path).catch((err: unknown) => {
      throw new CofreClientError(
        'COFRE_INPUT_INVALID',
        `cannot read the subject token file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
        { cause: err },
      );
    });
    if (raw.length > MAX_SUBJECT_TOKEN_BYTES) {
      throw new CofreClientError(
        'COFRE_INPUT_INVALID',
        `the subject token file ${path} is larger than ${MAX_SUBJECT_TOKEN_BYTES} bytes`,
      );
    }
    return raw.toString('utf8').trim();
  };
}

/**
 * Exchanges the workload's identity token at `<base>v1/token` (OAuth 2.0 Token Exchange, RFC 8693) for a
 * short-lived cofre token, keeps it until shortly before it expires, then exchanges again with a freshly read
 * subject token. Concurrent callers share one exchange in flight.
 *
 * SECURITY: neither token is ever put in a message; the subject token goes only in the request body to cofre's own
 * token endpoint (the same origin as every other call).
 */
export function exchangedCredential(
  base: URL,
  subjectToken: SubjectTokenSource,
  options: { readonly now?: () => number } = {},
): AgentCredential {
  const now = options.now ?? Date.now;
  let cached: { readonly token: string; readonly renewAt: number } | undefined;
  let inFlight: Promise<string> | undefined;

  const exchangeNow = (signal: AbortSignal | undefined): Promise<string> =>
    (inFlight ??= (async () => {
      try {
        const started = now();
        const { token, expiresInMs } = await exchangeSubjectToken(base, await subjectToken(), signal);
        cached = { token, renewAt: started + expiresInMs - Math.min(RENEW_MARGIN_MS, expiresInMs / 4) };
        return token;
      } finally {
        inFlight = undefined;
      }
    })());

  return {
    async token(signal) {
      if (cached !== undefined && now() < cached.renewAt) return cached.token;
      return exchangeNow(signal);
    },
    async renew(rejected, signal) {
      if (cached?.token === rejected) cached = undefined;
      return this.token(signal);
    },
  };
}

async function exchangeSubjectToken(
  base: URL,
  subjectToken: string,
  signal: AbortSignal | undefined,
): Promise<{ token: string; expiresInMs: number }> {
  if (!JWT_SHAPE.test(subjectToken) || subjectToken.length > MAX_SUBJECT_TOKEN_BYTES) {
    throw new CofreClientError(
      'COFRE_INPUT_INVALID',
      'the subject token is empty or not a JWT (three base64url parts); give the workload identity token as the platform issued it',
    );
  }
  const url = new URL('v1/token', base);
  let response: Response;
  let body: unknown;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: GRANT,
        subject_token: subjectToken,
        subject_token_type: JWT_TYPE,
      }).toString(),
      redirect: 'error',
      ...(signal === undefined ? {} : { signal }),
    });
    body = await response.json().catch(() => undefined);
  } catch (err) {
    if (signal?.aborted === true) throw signal.reason;
    throw new CofreRequestError(
      'COFRE_CLIENT_UNREACHABLE',
      `no answer from cofre's token endpoint at ${url.origin}: ${err instanceof Error ? err.message : 'error'}`,
      { retryable: true, cause: err },
    );
  }
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const { access_token: token, expires_in: expiresIn } = fields;
  if (response.ok && typeof token === 'string' && typeof expiresIn === 'number' && expiresIn > 0) {
    return { token: checkAgentToken(token, "cofre's token endpoint"), expiresInMs: expiresIn * 1000 };
  }
  const { error, error_description: description, code } = fields;
  if (typeof error !== 'string') {
    throw new CofreRequestError(
      'COFRE_CLIENT_RESPONSE_INVALID',
      `cofre's token endpoint answered HTTP ${response.status} without a token exchange answer; is workload identity exchange configured (agents.exchange)?`,
      { httpStatus: response.status, requestId: response.headers.get('x-request-id') ?? undefined },
    );
  }
  // cofre's error_description never holds a token (it names what was wrong with it).
  throw new CofreRequestError(
    typeof code === 'string' && code.startsWith('COFRE_')
      ? (code as ErrorCode)
      : 'COFRE_TOKEN_EXCHANGE_REFUSED',
    `cofre refused the token exchange (${error}): ${typeof description === 'string' ? description : 'no description'}`,
    {
      httpStatus: response.status,
      retryable: response.status === 503,
      requestId: response.headers.get('x-request-id') ?? undefined,
    },
  );
}
