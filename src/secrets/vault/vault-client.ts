/**
 * A thin, typed HTTP client for the Vault / OpenBao API, on the global `fetch`.
 *
 * Why hand-written: no well-maintained, typed Vault client exists for Node (`node-vault` is loosely typed and
 * returns `any`), and cofre uses a small part of the API. Every response is validated with a zod schema the caller
 * passes, so a proxy page or an API change fails loudly instead of flowing on as `undefined`.
 *
 * What it adds over `fetch`:
 * - Vault headers: `X-Vault-Token`, `X-Vault-Namespace`, `X-Vault-Wrap-TTL`, `X-Vault-Request`;
 * - one mapping of HTTP outcomes to {@link CofreError} codes (see {@link VaultClient.request});
 * - bounded retries with full jitter for transient failures only ({@link RetryPolicy});
 * - a {@link CircuitBreaker}, so a down Vault costs one fast failure instead of a round of timeouts.
 *
 * SECURITY: error messages name the path (or the `subject` the caller gives, a reference) and the HTTP status,
 * never a token, a request body or a response body. Vault's own `errors` texts are quoted only for requests without
 * a body, or when the caller opts in (`exposeErrors`) and the text contains none of the body's strings or the
 * token. Errors from `fetch` itself are reduced to their error code (`ECONNREFUSED`), not attached as `cause`.
 */
import { z } from 'zod';

import { CofreError, type ErrorCode, isCofreError } from '../../errors.js';
import { type BackendLog, silentLog } from '../backend-log.js';
import { DEFAULT_MAX_RESPONSE_BYTES, readBounded } from '../bounded-body.js';
import { CircuitBreaker } from '../circuit-breaker.js';
import { DEFAULT_RETRY_POLICY, type RetryEffects, type RetryPolicy, withRetry } from '../retry-policy.js';

/** HTTP verbs cofre uses; `LIST` is sent as `GET …?list=true`. */
export type VaultMethod = 'GET' | 'LIST' | 'POST' | 'PUT' | 'DELETE';

/** Options of a {@link VaultClient}. */
export interface VaultClientOptions {
  /** Server URL without `/v1`, e.g. `https://vault.example:8200`. */
  readonly address: string;
  /** Vault Enterprise / OpenBao namespace, sent as `X-Vault-Namespace`. */
  readonly namespace?: string;
  /** Per-attempt timeout (ms). Default 10 s. */
  readonly timeoutMs?: number;
  /** Retries of transient failures. Default {@link DEFAULT_RETRY_POLICY}. */
  readonly retry?: RetryPolicy;
  /** The breaker guarding this server; share one per server. Default: a new breaker with default settings. */
  readonly circuitBreaker?: CircuitBreaker;
  /** `fetch` to use (a TLS-configured one, or a test's). Default: the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** Clock, randomness and sleep of the retry loop, for tests. */
  readonly retryEffects?: RetryEffects;
  /** Receives retry and circuit messages (paths and statuses only). */
  readonly log?: BackendLog;
  /** Largest answer read, in bytes; a bigger one is `COFRE_BACKEND_RESPONSE_TOO_LARGE`. Default 1 MiB. */
  readonly maxResponseBytes?: number;
}

/** Options of one {@link VaultClient.request}. */
export interface VaultRequestOptions<T> {
  /** Sent as `X-Vault-Token`. */
  readonly token?: string;
  /** JSON body. */
  readonly body?: unknown;
  /** Query parameters (e.g. `{ version: '3' }`). */
  readonly query?: Readonly<Record<string, string>>;
  /** Validates the parsed JSON response (`undefined` for an empty body, such as a 204). */
  readonly schema: z.ZodType<T>;
  /** Ask Vault to response-wrap the answer for this long (`X-Vault-Wrap-TTL`, e.g. `"60s"`). */
  readonly wrapTtl?: string;
  /** Return `undefined` on 404 instead of throwing `COFRE_SECRET_NOT_FOUND`. */
  readonly allowNotFound?: boolean;
  /** What the request is about, for messages: a secret reference such as `vault:exchanges/binance`. Default: the path. */
  readonly subject?: string;
  /**
   * Retry transient failures (default true). Pass false for requests that must not run twice, such as
   * `sys/wrapping/unwrap` (a wrapping token is single-use).
   */
  readonly retry?: boolean;
  /**
   * Quote Vault's `errors` texts in messages even though the request has a body (login, wrapping lookup). They are
   * still dropped when they contain the token or any string of the body.
   */
  readonly exposeErrors?: boolean;
}

/** Schema for responses whose body cofre ignores (204 No Content, or fields it does not need). */
export const ignoredResponse: z.ZodType = z.unknown();

/** Vault's `auth` block of a login, renew or unwrap response. */
export const vaultAuthSchema = z.object({
  client_token: z.string().min(1),
  accessor: z.string(),
  policies: z.array(z.string()).nullish(),
  token_policies: z.array(z.string()).nullish(),
  lease_duration: z.number().int().nonnegative(),
  renewable: z.boolean(),
});
export type VaultAuth = z.infer<typeof vaultAuthSchema>;

/** Vault's `wrap_info` block of a response-wrapped answer. */
export const vaultWrapInfoSchema = z.object({
  token: z.string().min(1),
  accessor: z.string().optional(),
  ttl: z.number().int(),
  creation_time: z.string(),
  creation_path: z.string(),
});

const vaultErrorBodySchema = z.object({
  errors: z.array(z.string()).nullish(),
  warnings: z.array(z.string()).nullish(),
});

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_ERROR_TEXT = 300;

/** Marks the fast failure of an open circuit, which the retry loop must not retry. */
const CIRCUIT_OPEN = 'circuit-open';

/**
 * See the module comment. One instance per Vault server (address + namespace); safe to call concurrently. Holds no
 * token: each request passes its own, so the client can be shared by the login session, the KV backend and the
 * lease manager.
 */
export class VaultClient {
  readonly address: string;
  readonly namespace: string | undefined;
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy;
  readonly #breaker: CircuitBreaker;
  readonly #fetch: typeof fetch;
  readonly #effects: RetryEffects;
  readonly #log: BackendLog;
  readonly #maxResponseBytes: number;
  #lastFailure = '';

  constructor(options: VaultClientOptions) {
    this.address = options.address.replace(/\/+$/, '');
    this.namespace = options.namespace;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.#breaker = options.circuitBreaker ?? new CircuitBreaker();
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#effects = options.retryEffects ?? {};
    this.#log = options.log ?? silentLog;
    this.#maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /**
   * Sends one API request to `/v1/<path>` (`path` without `/v1`, e.g. `secret/data/exchanges/binance`; each
   * segment is percent-encoded) and returns the response validated by `options.schema`.
   *
   * Errors (always {@link CofreError}):
   * - 403 → `COFRE_BACKEND_DENIED`; 404 → `COFRE_SECRET_NOT_FOUND` (or `undefined` with `allowNotFound`);
   * - 503 from a sealed server → `COFRE_VAULT_SEALED`;
   * - connection errors, timeouts, 429, 412, other 5xx, or an open circuit → `COFRE_BACKEND_UNAVAILABLE`;
   * - 400 and other 4xx → `COFRE_VAULT_REQUEST_REJECTED`;
   * - a 2xx that is not JSON or fails the schema → `COFRE_VAULT_RESPONSE_INVALID`;
   * - an answer over `maxResponseBytes` (any status) → `COFRE_BACKEND_RESPONSE_TOO_LARGE`, never retried.
   *
   * Only `COFRE_BACKEND_UNAVAILABLE` (not from an open circuit) is retried, within the retry policy.
   */
  request<T>(
    method: VaultMethod,
    path: string,
    options: VaultRequestOptions<T> & { readonly allowNotFound: true },
  ): Promise<T | undefined>;
  request<T>(method: VaultMethod, path: string, options: VaultRequestOptions<T>): Promise<T>;
  async request<T>(
    method: VaultMethod,
    path: string,
    options: VaultRequestOptions<T>,
  ): Promise<T | undefined> {
    const attempt = (): Promise<T | undefined> => this.#attempt(method, path, options);
    if (options.retry === false) return attempt();
    return withRetry(this.#retry, isRetryableHere, attempt, {
      ...this.#effects,
      onRetry: (info) => {
        this.#log('warn', 'Vault request failed; retrying', {
          path,
          method,
          attempt: info.attempt,
          delayMs: info.delayMs,
          code: info.error instanceof CofreError ? info.error.code : undefined,
        });
        this.#effects.onRetry?.(info);
      },
    });
  }

  async #attempt<T>(
    method: VaultMethod,
    path: string,
    options: VaultRequestOptions<T>,
  ): Promise<T | undefined> {
    const subject = options.subject ?? path;
    const url = this.#url(method, path, options.query);
    const permit = this.#breaker.acquire();
    if (permit === undefined) {
      const waitMs = this.#breaker.msUntilProbe;
      const wait = waitMs === 0 ? '' : `; next attempt in ${Math.ceil(waitMs / 1000)} s`;
      throw new CofreError(
        'COFRE_BACKEND_UNAVAILABLE',
        `Vault at ${this.address} is failing, so ${subject} was not requested (circuit open after repeated failures${this.#lastFailure === '' ? '' : `; last: ${this.#lastFailure}`}${wait})`,
        { details: { path: subject, circuit: CIRCUIT_OPEN } },
      );
    }

    let response: Response;
    try {
      response = await this.#fetch(url, {
        method: method === 'LIST' ? 'GET' : method,
        headers: this.#headers(options),
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
        redirect: 'error',
      });
    } catch (err) {
      const reason = networkReason(err, this.#timeoutMs);
      this.#lastFailure = reason;
      permit.failure();
      // SECURITY: the fetch error is reduced to a reason; its cause chain is not attached.
      throw new CofreError(
        'COFRE_BACKEND_UNAVAILABLE',
        `Vault at ${this.address} unreachable for ${subject}: ${reason}`,
        {
          details: { path: subject },
        },
      );
    }

    let text: string;
    try {
      // SECURITY: bounded, so a hostile or misdirected server cannot make cofre buffer gigabytes.
      const body = await readBounded(
        response.body,
        this.#maxResponseBytes,
        { source: `Vault at ${this.address}`, subject, setting: 'maxResponseSize' },
        response.headers.get('content-length'),
      );
      text = body.toString('utf8');
    } catch (err) {
      if (isCofreError(err, 'COFRE_BACKEND_RESPONSE_TOO_LARGE')) {
        this.#lastFailure = 'answer too large';
        permit.failure();
        throw err;
      }
      const reason = networkReason(err, this.#timeoutMs);
      this.#lastFailure = reason;
      permit.failure();
      throw new CofreError(
        'COFRE_BACKEND_UNAVAILABLE',
        `Vault at ${this.address} broke off the answer for ${subject}: ${reason}`,
        { details: { path: subject, status: response.status } },
      );
    }

    const status = response.status;
    if (status >= 200 && status < 300) {
      permit.success();
      return parseBody(text, options.schema, subject, status);
    }
    const transient = status === 429 || status === 412 || status >= 500;
    if (transient) {
      this.#lastFailure = `HTTP ${status}`;
      permit.failure();
    } else {
      permit.success(); // a 4xx is a healthy server saying no
    }
    if (status === 404 && /versioned K\/V secrets engine/i.test(warningTexts(text).join(' '))) {
      // A KV v1 path (`<mount>/<path>`) sent to a KV v2 mount: Vault answers 404 with this warning.
      throw new CofreError(
        'COFRE_VAULT_MOUNT_MISMATCH',
        `${subject}: the mount is KV version 2 but cofre used KV version 1 paths; set kvVersion: 2 (or remove it to detect)`,
        { details: { path: subject, status } },
      );
    }
    if (status === 404 && options.allowNotFound === true) return undefined;
    throw this.#statusError(method, status, subject, text, options);
  }

  #url(method: VaultMethod, path: string, query: Readonly<Record<string, string>> | undefined): string {
    const segments = path.split('/').filter((segment) => segment !== '');
    // SECURITY: URL parsing would resolve "." and ".." segments and send the request to another path.
    if (segments.some((segment) => segment === '.' || segment === '..')) {
      throw new CofreError('COFRE_REFERENCE_INVALID', `Vault path "${path}" has a "." or ".." segment`, {
        details: { path },
      });
    }
    const encoded = segments.map(encodeURIComponent).join('/');
    const params = new URLSearchParams(query);
    if (method === 'LIST') params.set('list', 'true');
    const search = params.toString();
    return `${this.address}/v1/${encoded}${search === '' ? '' : `?${search}`}`;
  }

  #headers(options: VaultRequestOptions<unknown>): Record<string, string> {
    const headers: Record<string, string> = { 'X-Vault-Request': 'true', Accept: 'application/json' };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    if (options.token !== undefined) headers['X-Vault-Token'] = options.token;
    if (this.namespace !== undefined) headers['X-Vault-Namespace'] = this.namespace;
    if (options.wrapTtl !== undefined) headers['X-Vault-Wrap-TTL'] = options.wrapTtl;
    return headers;
  }

  #statusError(
    method: VaultMethod,
    status: number,
    subject: string,
    text: string,
    options: VaultRequestOptions<unknown>,
  ): CofreError {
    const vaultErrors = errorTexts(text);
    const quotable =
      options.body === undefined || options.exposeErrors === true
        ? safeErrorText(vaultErrors, options.body, options.token)
        : '';
    const because = quotable === '' ? '' : `: ${quotable}`;
    const details = { path: subject, status };
    let code: ErrorCode;
    let message: string;
    if (status === 503 && vaultErrors.some((e) => /sealed/i.test(e))) {
      code = 'COFRE_VAULT_SEALED';
      message = `Vault at ${this.address} is sealed; ${subject} cannot be read until an operator unseals it`;
    } else if (status === 403) {
      code = 'COFRE_BACKEND_DENIED';
      message = `Vault denied ${method} ${subject} (HTTP 403${because}); check the policy of the token cofre uses`;
    } else if (status === 404) {
      code = 'COFRE_SECRET_NOT_FOUND';
      message = `Vault has nothing at ${subject} (HTTP 404)`;
    } else if (status === 429 || status === 412 || status >= 500) {
      code = 'COFRE_BACKEND_UNAVAILABLE';
      message = `Vault at ${this.address} answered HTTP ${status} for ${subject}${because}`;
    } else {
      code = 'COFRE_VAULT_REQUEST_REJECTED';
      message = `Vault rejected ${method} ${subject} (HTTP ${status}${because})`;
    }
    return new CofreError(code, message, { details });
  }
}

function isRetryableHere(error: unknown): boolean {
  return (
    error instanceof CofreError &&
    error.code === 'COFRE_BACKEND_UNAVAILABLE' &&
    error.details?.['circuit'] !== CIRCUIT_OPEN
  );
}

function parseBody<T>(text: string, schema: z.ZodType<T>, subject: string, status: number): T {
  let json: unknown = undefined;
  if (text.trim() !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      // SECURITY: the parser's message quotes the body, which may hold a secret; it is dropped.
      throw new CofreError(
        'COFRE_VAULT_RESPONSE_INVALID',
        `Vault's answer for ${subject} (HTTP ${status}) is not JSON; is the address a Vault/OpenBao server?`,
        { details: { path: subject, status } },
      );
    }
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    // Issue paths and codes only: zod messages never quote values, but the issues are not attached either.
    const where = parsed.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.code}`)
      .join(', ');
    throw new CofreError(
      'COFRE_VAULT_RESPONSE_INVALID',
      `Vault's answer for ${subject} (HTTP ${status}) does not have the expected shape (${where})`,
      { details: { path: subject, status } },
    );
  }
  return parsed.data;
}

function errorTexts(text: string): string[] {
  return errorBody(text)?.errors ?? [];
}

function warningTexts(text: string): string[] {
  return errorBody(text)?.warnings ?? [];
}

function errorBody(text: string): z.infer<typeof vaultErrorBodySchema> | undefined {
  try {
    const parsed = vaultErrorBodySchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Vault's error texts joined for a message, or '' when they could echo a credential: any string of the request
 * body (4+ characters) or the token, raw or base64/hex/URL-encoded, disqualifies them all.
 */
function safeErrorText(errors: readonly string[], body: unknown, token: string | undefined): string {
  if (errors.length === 0) return '';
  const joined = errors.join('; ');
  const secrets = [...stringLeaves(body), ...(token === undefined ? [] : [token])].filter(
    (s) => s.length >= 4,
  );
  for (const secret of secrets) {
    const bytes = Buffer.from(secret);
    const forms = [
      secret,
      bytes.toString('base64'),
      bytes.toString('base64url'),
      bytes.toString('hex'),
      encodeURIComponent(secret),
    ];
    if (forms.some((form) => joined.includes(form))) return '';
  }
  // eslint-disable-next-line no-control-regex -- control characters would garble a log line
  const clean = joined.replace(/[\u0000-\u001f\u007f\s]+/g, ' ').trim();
  return clean.length > MAX_ERROR_TEXT ? `${clean.slice(0, MAX_ERROR_TEXT)}…` : clean;
}

function stringLeaves(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringLeaves);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(stringLeaves);
  return [];
}

/** A short, non-secret reason for a failed `fetch`: the error code of the innermost cause, or "timed out". */
function networkReason(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return `no answer within ${timeoutMs} ms`;
  }
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z0-9_]+$/.test(code)) return code;
    current = current.cause;
  }
  return 'connection failed';
}
