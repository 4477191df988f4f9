import { CofreError, type ErrorCode } from '../../errors.js';
import { NETWORK_ERROR_CODES } from '../network-error-codes.js';
import type { CallTrace } from './key-vault-pipeline.js';
import { type AzureCredentialErrorContext, mapAzureCredentialError } from './map-azure-credential-error.js';

/** The Key Vault REST operations cofre calls, named as Microsoft's REST reference names them. */
export type AzureOperation =
  | 'GetSecret'
  | 'SetSecret'
  | 'UpdateSecret'
  | 'GetSecretVersions'
  | 'GetSecrets'
  | 'DeleteSecret'
  | 'PurgeDeletedSecret';

// Node's TLS verification failures: the vault's certificate is not one this process trusts.
const TLS_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
const SAFE_CODE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * What cofre keeps of a failed Key Vault call and attaches as `cause`: the operation, the error's name and code,
 * the HTTP status, Key Vault's inner error code, the request id and the attempt count — never the SDK's error.
 *
 * SECURITY: a `RestError` holds the request (whose body is the value on Set Secret) and the response; its message
 * is text from the server, or from whatever answers at the vault URL. None of it is copied into cofre's messages;
 * `x-ms-request-id` finds the full story in the vault's diagnostic logs.
 */
export class AzureCallFailure extends Error {
  override readonly name = 'AzureCallFailure';
  readonly facts: AzureErrorFacts;

  constructor(operation: AzureOperation, facts: AzureErrorFacts) {
    super(describeFacts(operation, facts));
    this.facts = facts;
  }
}

/** Non-secret facts read off an SDK error and the call's trace. */
export interface AzureErrorFacts {
  /** Error class name: `RestError`, `CredentialUnavailableError`, `AuthenticationError`, `AbortError`, … */
  readonly errorName: string;
  /** Key Vault's `error.code` (`SecretNotFound`, `Forbidden`, `Throttled`) or a network code (`ECONNRESET`). */
  readonly azureError: string | undefined;
  readonly httpStatus: number | undefined;
  /** Key Vault's `error.innererror.code` (`SecretDisabled`, `ForbiddenByRbac`, `ObjectIsDeletedButRecoverable`). */
  readonly innerError: string | undefined;
  readonly requestId: string | undefined;
  /** HTTP attempts the call made (the challenge handshake and retries included). */
  readonly attempts: number | undefined;
}

/** The mapped error and the facts it was made from (for the log line). */
export interface MappedAzureError {
  readonly error: CofreError;
  readonly facts: AzureErrorFacts;
}

/**
 * Maps anything a Key Vault SDK call threw to a {@link CofreError} naming `reference`, with an
 * {@link AzureCallFailure} as cause. Called after the SDK's own retries, so whatever is still transient here is
 * `COFRE_BACKEND_UNAVAILABLE`:
 * - 404 → `COFRE_SECRET_NOT_FOUND`;
 * - a sign-in failure (`@azure/identity`'s errors) → what {@link mapAzureCredentialError} says for the backend's
 *   `signIn` credential: `COFRE_BACKEND_DENIED`, or `COFRE_BACKEND_UNAVAILABLE` when the token endpoint failed;
 * - 403 with inner error `SecretDisabled` → `COFRE_SECRET_DISABLED`; other 401/403 and a challenge for a resource
 *   outside the vault's domain → `COFRE_BACKEND_DENIED`;
 * - 409 on Set Secret (a soft-deleted name) → `COFRE_INPUT_INVALID` saying to recover or purge it;
 * - 429, 5xx, network errors, timeouts, a vault certificate this
 *   process does not trust (not retried by the SDK) → `COFRE_BACKEND_UNAVAILABLE`;
 * - other 4xx → `COFRE_INPUT_INVALID`; anything else → `COFRE_INTERNAL`.
 * A `CofreError` (the response size limit) passes through. Pure; safe to call concurrently.
 */
export function mapAzureError(
  err: unknown,
  operation: AzureOperation,
  reference: string,
  signIn: Omit<AzureCredentialErrorContext, 'reference'>,
  trace?: CallTrace,
): MappedAzureError {
  const facts = azureErrorFacts(err, trace);
  if (err instanceof CofreError) return { error: err, facts };
  const signInError = mapAzureCredentialError(err, { ...signIn, reference });
  if (signInError !== undefined) return { error: signInError, facts };
  const cause = new AzureCallFailure(operation, facts);
  const details = { reference, operation, ...facts };
  const make = (code: ErrorCode, message: string): MappedAzureError => ({
    error: new CofreError(code, `${message} (${describeFacts(operation, facts)})`, { cause, details }),
    facts,
  });
  const { httpStatus: status, innerError } = facts;
  if (status === 404) return make('COFRE_SECRET_NOT_FOUND', `secret ${reference} not found`);
  if (status === 403 && innerError === 'SecretDisabled') {
    return make(
      'COFRE_SECRET_DISABLED',
      `secret ${reference} is disabled in Azure Key Vault, so cofre will not use it; enable that version or point the reference at another`,
    );
  }
  if (status === 401 || status === 403) {
    return make(
      'COFRE_BACKEND_DENIED',
      `Azure Key Vault denied ${operation} on ${reference}; grant cofre's identity "Key Vault Secrets User" on the vault (or "Key Vault Secrets Officer" where cofre writes), or the matching access policy`,
    );
  }
  if (status === 409 && operation === 'SetSecret') {
    return make(
      'COFRE_INPUT_INVALID',
      `the name of ${reference} belongs to a deleted secret that Azure Key Vault keeps recoverable (soft delete); recover it (\`az keyvault secret recover\`), purge it (\`az keyvault secret purge\`), or use another name`,
    );
  }
  if (facts.azureError !== undefined && TLS_CODES.has(facts.azureError)) {
    return make(
      'COFRE_BACKEND_UNAVAILABLE',
      `the vault's TLS certificate is not trusted for ${reference}; check vaultUrl, or trust the CA that signed it (NODE_EXTRA_CA_CERTS)`,
    );
  }
  if (isUnavailable(facts, err)) {
    return make('COFRE_BACKEND_UNAVAILABLE', `Azure Key Vault is unavailable for ${reference}`);
  }
  if (status !== undefined && status >= 400 && status < 500) {
    return make('COFRE_INPUT_INVALID', `Azure Key Vault rejected ${operation} on ${reference} as invalid`);
  }
  if (isChallengeMismatch(err)) {
    return make(
      'COFRE_BACKEND_DENIED',
      `the vault at the configured vaultUrl asked for a token for a resource outside its own domain, so cofre did not send one for ${reference}; check vaultUrl (verifyChallengeResource guards this)`,
    );
  }
  return make('COFRE_INTERNAL', `unexpected error from Azure Key Vault on ${reference}`);
}

/** Reads the non-secret facts off an SDK error: never its message, request or response body. */
export function azureErrorFacts(err: unknown, trace?: CallTrace): AzureErrorFacts {
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    name?: unknown;
    code?: unknown;
    statusCode?: unknown;
  };
  const name = typeof e.name === 'string' && SAFE_CODE.test(e.name) ? e.name : 'Error';
  const code = typeof e.code === 'string' && SAFE_CODE.test(e.code) ? e.code : undefined;
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  return {
    errorName: name,
    azureError: code,
    httpStatus: status,
    innerError: trace?.innerError,
    requestId: trace?.requestId,
    attempts: trace === undefined || trace.attempts === 0 ? undefined : trace.attempts,
  };
}

function isUnavailable(facts: AzureErrorFacts, err: unknown): boolean {
  const status = facts.httpStatus;
  if (status !== undefined) return status === 429 || status === 408 || status >= 500;
  if (facts.azureError !== undefined && NETWORK_ERROR_CODES.has(facts.azureError)) return true;
  // A timeout or abort with no answer, or a network error the SDK did not wrap.
  return facts.errorName === 'AbortError' || networkCode(err) !== undefined;
}

/**
 * The Key Vault SDK's refusal to answer a challenge whose resource is not the vault's domain. Recognised by a
 * fixed phrase of the SDK's own message (never echoed), which holds no server text.
 */
function isChallengeMismatch(err: unknown): boolean {
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' && /challenge resource .* does not match/i.test(message);
}

function networkCode(err: unknown, depth = 0): string | undefined {
  if (typeof err !== 'object' || err === null || depth > 5) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return code;
  return networkCode((err as { cause?: unknown }).cause, depth + 1);
}

function describeFacts(operation: AzureOperation, facts: AzureErrorFacts): string {
  const parts = [`${operation}: ${facts.azureError ?? facts.errorName}`];
  if (facts.innerError !== undefined) parts.push(facts.innerError);
  if (facts.httpStatus !== undefined) parts.push(`HTTP ${facts.httpStatus}`);
  if (facts.attempts !== undefined) parts.push(`${facts.attempts} attempt${facts.attempts === 1 ? '' : 's'}`);
  if (facts.requestId !== undefined) parts.push(`request id ${facts.requestId}`);
  return parts.join(', ');
}
