import { CofreError } from '../../errors.js';
import { NETWORK_ERROR_CODES } from '../network-error-codes.js';

/** The credential kinds of the `azure-key-vault` config (`credential.type`). */
export type AzureCredentialKind = 'default' | 'managed-identity' | 'workload-identity' | 'service-principal';

/** Where a credential failed: the backend's name, its credential kind and, for a call, the reference. */
export interface AzureCredentialErrorContext {
  readonly backend: string;
  readonly credential: AzureCredentialKind;
  /** The secret reference being read or written, when the failure happened in a call. */
  readonly reference?: string;
}

// OAuth 2.0 (RFC 6749 §5.2) and Entra error codes: a fixed vocabulary, safe to repeat. Anything else the token
// endpoint says (error_description, AADSTS text, trace ids) is never copied.
const OAUTH_ERRORS = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'access_denied',
  'interaction_required',
  'invalid_resource',
  'temporarily_unavailable',
  'server_error',
]);
const TRANSIENT_OAUTH_ERRORS = new Set(['temporarily_unavailable', 'server_error']);
const IDENTITY_ERRORS = new Set([
  'TokenRequestTimeoutError',
  'CredentialUnavailableError',
  'AuthenticationError',
  'AuthenticationRequiredError',
  'AggregateAuthenticationError',
]);

/** Non-secret facts read off an `@azure/identity` error. */
export interface AzureCredentialFacts {
  /** The SDK error class: `AuthenticationError`, `CredentialUnavailableError`, … */
  readonly sdkError: string;
  /** HTTP status of the token endpoint's answer, when there was one. */
  readonly httpStatus: number | undefined;
  /** OAuth error code (`invalid_client`), when the token endpoint sent a known one. */
  readonly oauthError: string | undefined;
  /** The token endpoint could not be reached (connection refused, reset, DNS, unreachable network). */
  readonly network: boolean;
}

/**
 * What cofre attaches as `cause` of a mapped credential failure: the facts, never the SDK error.
 *
 * SECURITY: an identity SDK error's message is the token endpoint's own text (AADSTS descriptions with trace and
 * correlation ids) or a developer tool's stderr, and its cause chain holds raw responses. None of it is copied.
 */
export class AzureCredentialFailure extends Error {
  override readonly name = 'AzureCredentialFailure';
  readonly facts: AzureCredentialFacts;

  constructor(context: AzureCredentialErrorContext, facts: AzureCredentialFacts) {
    super(
      `${context.credential} credential: ${facts.sdkError}` +
        (facts.httpStatus === undefined ? '' : `, HTTP ${facts.httpStatus}`) +
        (facts.oauthError === undefined ? '' : `, ${facts.oauthError}`) +
        (facts.network ? ', token endpoint unreachable' : ''),
    );
    this.facts = facts;
  }
}

const HINTS: Readonly<Record<AzureCredentialKind, string>> = {
  'managed-identity':
    'check that the managed identity is enabled on this VM, App Service, Container App or pod and, for a user-assigned one, that credential.clientId is its client id',
  'workload-identity':
    'check the app’s federated credential (issuer, subject system:serviceaccount:<namespace>:<account>, audience api://AzureADTokenExchange), the tenant and client id, and the token file',
  'service-principal':
    'check tenantId and clientId, and that the secret or certificate in the credential file is current and registered on the app',
  default:
    'DefaultAzureCredential tried the AZURE_* environment, workload identity, managed identity and the Azure CLI, Developer CLI and PowerShell sign-ins; pin credential.type to the identity cofre should use to see which one fails',
};

/**
 * Maps an `@azure/identity` error (a failed sign-in, seen directly or from a `SecretClient` call) to a
 * {@link CofreError} naming the backend, the credential kind and the reference, with an
 * {@link AzureCredentialFailure} as cause. Returns `undefined` for anything that is not an identity error, so the
 * backend's mapper can fall through to Key Vault's own errors.
 *
 * - The token endpoint failing or out of reach (network error, 429, 5xx, `temporarily_unavailable`):
 *   `COFRE_BACKEND_UNAVAILABLE`, retryable — the SDK has already retried within `maxRetries`.
 * - A refused sign-in (`AuthenticationError`, a wrong secret, an unknown identity) or no usable credential at all
 *   (`CredentialUnavailableError`, a `DefaultAzureCredential` chain with nothing to use): `COFRE_BACKEND_DENIED`,
 *   not retryable — the same request will be refused again until someone changes the identity or its role.
 */
export function mapAzureCredentialError(
  err: unknown,
  context: AzureCredentialErrorContext,
): CofreError | undefined {
  if (!isIdentityError(err)) return undefined;
  const facts = factsOf(err);
  const where =
    `backend "${context.backend}" (${context.credential} credential)` +
    (context.reference === undefined ? '' : ` reading ${context.reference}`);
  const cause = new AzureCredentialFailure(context, facts);
  const details = {
    backend: context.backend,
    credential: context.credential,
    sdkError: facts.sdkError,
    ...(facts.httpStatus === undefined ? {} : { httpStatus: facts.httpStatus }),
    ...(facts.oauthError === undefined ? {} : { oauthError: facts.oauthError }),
  };
  if (isTransient(facts)) {
    return new CofreError(
      'COFRE_BACKEND_UNAVAILABLE',
      `${where}: the token endpoint ${tokenEndpointFailure(facts)}; cofre retries later`,
      { cause, details },
    );
  }
  const refused = facts.httpStatus !== undefined || facts.oauthError !== undefined;
  return new CofreError(
    'COFRE_BACKEND_DENIED',
    refused
      ? `${where}: Entra ID refused the sign-in (${statusText(facts)}); ${HINTS[context.credential]}`
      : `${where}: no token could be obtained (${facts.sdkError}); ${HINTS[context.credential]}`,
    { cause, details },
  );
}

function tokenEndpointFailure(facts: AzureCredentialFacts): string {
  if (facts.sdkError === 'TokenRequestTimeoutError') return 'did not answer in time';
  return facts.network ? 'could not be reached' : `failed (${statusText(facts)})`;
}

function isIdentityError(err: unknown): err is Error {
  return err instanceof Error && IDENTITY_ERRORS.has(err.name);
}

function isTransient(facts: AzureCredentialFacts): boolean {
  return (
    facts.network ||
    facts.httpStatus === 429 ||
    (facts.httpStatus !== undefined && facts.httpStatus >= 500) ||
    (facts.oauthError !== undefined && TRANSIENT_OAUTH_ERRORS.has(facts.oauthError))
  );
}

function statusText(facts: AzureCredentialFacts): string {
  const parts = [
    facts.httpStatus === undefined ? undefined : `HTTP ${facts.httpStatus}`,
    facts.oauthError,
  ].filter((p) => p !== undefined);
  return parts.length === 0 ? facts.sdkError : parts.join(', ');
}

/**
 * Facts of an identity error. A chain (`AggregateAuthenticationError`) is judged by the link that got furthest:
 * a refusal beats a transient failure, which beats "not available here".
 */
function factsOf(err: Error): AzureCredentialFacts {
  const links = err.name === 'AggregateAuthenticationError' ? aggregated(err) : [err];
  const all = links.map((link) => linkFacts(link));
  const refused = all.find(
    (f) => !isTransient(f) && (f.httpStatus !== undefined || f.oauthError !== undefined),
  );
  const transient = all.find((f) => isTransient(f));
  const picked = refused ?? transient;
  return picked === undefined
    ? { sdkError: err.name, httpStatus: undefined, oauthError: undefined, network: false }
    : { ...picked, sdkError: err.name };
}

function aggregated(err: Error): Error[] {
  const errors = (err as { errors?: unknown }).errors;
  return Array.isArray(errors) ? errors.filter((e): e is Error => e instanceof Error) : [];
}

function linkFacts(err: Error): AzureCredentialFacts {
  let httpStatus: number | undefined;
  let oauthError: string | undefined;
  let network = false;
  // The error and its causes (msal's ServerError, a RestError, a Node socket error), a few levels deep at most.
  let current: unknown = err;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const e = current as Record<string, unknown>;
    httpStatus ??= statusOf(e['statusCode']) ?? statusOf(e['status']);
    oauthError ??= knownOauth(errorResponseCode(e['errorResponse'])) ?? knownOauth(e['errorCode']);
    oauthError ??= knownOauth(
      typeof e['message'] === 'string' ? /^([a-z_]+):/.exec(e['message'])?.[1] : undefined,
    );
    if (NETWORK_ERROR_CODES.has(String(e['code'])) || NETWORK_ERROR_CODES.has(String(e['errorCode'])))
      network = true;
    current = e['cause'];
  }
  return { sdkError: err.name, httpStatus, oauthError, network };
}

function statusOf(value: unknown): number | undefined {
  return typeof value === 'number' && value >= 100 && value <= 599 ? value : undefined;
}

function errorResponseCode(value: unknown): unknown {
  return typeof value === 'object' && value !== null ? (value as { error?: unknown }).error : undefined;
}

function knownOauth(value: unknown): string | undefined {
  return typeof value === 'string' && OAUTH_ERRORS.has(value) ? value : undefined;
}
