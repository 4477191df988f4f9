import { CofreError, type ErrorCode } from '../../errors.js';
import { NETWORK_ERROR_CODES } from '../network-error-codes.js';

/** The Secrets Manager operations cofre calls (AWS API action names, as IAM and CloudTrail show them). */
export type AwsOperation =
  | 'GetSecretValue'
  | 'PutSecretValue'
  | 'CreateSecret'
  | 'DescribeSecret'
  | 'ListSecretVersionIds'
  | 'UpdateSecretVersionStage'
  | 'DeleteSecret'
  | 'ListSecrets';

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html and the per-action errors.
const DENIED = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnrecognizedClientException',
  'ExpiredTokenException',
  'ExpiredToken',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'NotAuthorized',
  'AuthFailure',
  // KMS refused to encrypt or decrypt the value with the secret's key: a key policy or grant problem.
  'DecryptionFailure',
  'EncryptionFailure',
  // The SDK's default provider chain found no credentials (no role, profile, SSO session or env keys).
  'CredentialsProviderError',
]);
const UNAVAILABLE = new Set([
  'InternalServiceError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  // A Secrets Manager quota (for example versions per secret); the SDK already retries it as throttling.
  'LimitExceededException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const INVALID = new Set([
  'InvalidRequestException',
  'InvalidParameterException',
  'ValidationException',
  'InvalidNextTokenException',
  'PreconditionNotMetException',
  'MalformedPolicyDocumentException',
  'ResourceExistsException',
]);

/**
 * What cofre keeps of a failed AWS SDK call, and what it attaches as `cause`: the error name, HTTP status,
 * request id and attempt count — never the SDK error object itself.
 *
 * SECURITY: an SDK error may hold the raw HTTP response (`$response`, `$responseBodyText` on a deserialization
 * error), which for GetSecretValue is the secret value, and its message is text from the server (or whatever
 * answers at the endpoint), which cofre cannot vouch for. Nothing of the SDK error but these fields is copied;
 * the request id finds the full story in CloudTrail.
 */
export class AwsCallFailure extends Error {
  override readonly name = 'AwsCallFailure';
  readonly operation: AwsOperation;
  /** The AWS error code (`AccessDeniedException`) or the SDK/Node error name (`TimeoutError`, `Error`). */
  readonly awsError: string;
  readonly httpStatus: number | undefined;
  readonly requestId: string | undefined;
  /** Attempts the SDK made, retries included. */
  readonly attempts: number | undefined;
  /** Node network error code (`ECONNREFUSED`), when the request never got an answer. */
  readonly networkCode: string | undefined;

  constructor(operation: AwsOperation, facts: SdkErrorFacts) {
    super(describeFacts(operation, facts));
    this.operation = operation;
    this.awsError = facts.awsError;
    this.httpStatus = facts.httpStatus;
    this.requestId = facts.requestId;
    this.attempts = facts.attempts;
    this.networkCode = facts.networkCode;
  }
}

/** Non-secret facts read off an SDK error. */
export interface SdkErrorFacts {
  readonly awsError: string;
  readonly httpStatus: number | undefined;
  readonly requestId: string | undefined;
  readonly attempts: number | undefined;
  readonly networkCode: string | undefined;
}

/** How a failed call is reported: the catalogue code and a sentence naming the reference. */
export interface MappedAwsError {
  readonly error: CofreError;
  readonly facts: SdkErrorFacts;
}

/**
 * Maps anything an AWS SDK call threw to a {@link CofreError} naming `reference`, with an {@link AwsCallFailure} as
 * cause. Call it after the SDK's own retries: whatever is still transient here (throttling, 5xx, network, timeouts)
 * is `COFRE_BACKEND_UNAVAILABLE` for the resolver's stale-if-error.
 *
 * - `ResourceNotFoundException`, and a secret scheduled for deletion → `COFRE_SECRET_NOT_FOUND`;
 * - access, signature, token, KMS and missing-credential errors → `COFRE_BACKEND_DENIED` (never retried);
 * - throttling, quotas, 5xx, timeouts, network errors → `COFRE_BACKEND_UNAVAILABLE`;
 * - invalid request or parameter → `COFRE_INPUT_INVALID`;
 * - anything else → `COFRE_INTERNAL`.
 *
 * Pure; safe to call concurrently.
 */
export function mapAwsError(err: unknown, operation: AwsOperation, reference: string): MappedAwsError {
  const facts = sdkErrorFacts(err);
  const cause = new AwsCallFailure(operation, facts);
  const details = {
    reference,
    operation,
    awsError: facts.awsError,
    httpStatus: facts.httpStatus,
    requestId: facts.requestId,
    attempts: facts.attempts,
  };
  const make = (code: ErrorCode, message: string): MappedAwsError => ({
    error: new CofreError(code, message, { cause, details }),
    facts,
  });
  const { awsError, httpStatus } = facts;
  const tail = `(${describeFacts(operation, facts)})`;

  if (isScheduledForDeletion(err)) {
    return make(
      'COFRE_SECRET_NOT_FOUND',
      `secret ${reference} is scheduled for deletion, so AWS Secrets Manager serves none of its versions; restore it with \`aws secretsmanager restore-secret\` or wait for the deletion to finish ${tail}`,
    );
  }
  if (awsError === 'ResourceNotFoundException') {
    return make('COFRE_SECRET_NOT_FOUND', `secret ${reference} not found ${tail}`);
  }
  if (awsError === 'CredentialsProviderError') {
    return make(
      'COFRE_BACKEND_DENIED',
      `no AWS credentials for ${reference}: the SDK's default provider chain (environment, SSO, profile, web identity, ECS or EC2 role) found none ${tail}`,
    );
  }
  if (DENIED.has(awsError) || httpStatus === 401 || httpStatus === 403) {
    return make('COFRE_BACKEND_DENIED', `AWS Secrets Manager denied ${operation} on ${reference} ${tail}`);
  }
  if (
    UNAVAILABLE.has(awsError) ||
    (httpStatus !== undefined && (httpStatus >= 500 || httpStatus === 429)) ||
    facts.networkCode !== undefined
  ) {
    return make('COFRE_BACKEND_UNAVAILABLE', `AWS Secrets Manager is unavailable for ${reference} ${tail}`);
  }
  if (INVALID.has(awsError)) {
    return make(
      'COFRE_INPUT_INVALID',
      `AWS Secrets Manager rejected ${operation} on ${reference} as invalid ${tail}`,
    );
  }
  if (httpStatus === undefined && hasMetadata(err)) {
    // The SDK sent the request but got no HTTP answer: a transport failure it did not name.
    return make('COFRE_BACKEND_UNAVAILABLE', `AWS Secrets Manager is unavailable for ${reference} ${tail}`);
  }
  return make('COFRE_INTERNAL', `unexpected error from AWS Secrets Manager on ${reference} ${tail}`);
}

/** Reads the non-secret facts off an SDK error: never its message, `$response` or body. */
export function sdkErrorFacts(err: unknown): SdkErrorFacts {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { name?: unknown; $metadata?: unknown };
  const name = typeof e.name === 'string' && e.name !== '' ? e.name : 'Error';
  const meta = (typeof e.$metadata === 'object' && e.$metadata !== null ? e.$metadata : {}) as {
    httpStatusCode?: unknown;
    requestId?: unknown;
    attempts?: unknown;
  };
  const status = typeof meta.httpStatusCode === 'number' ? meta.httpStatusCode : undefined;
  const requestId =
    typeof meta.requestId === 'string' && /^[A-Za-z0-9+/=_-]{1,128}$/.test(meta.requestId)
      ? meta.requestId
      : undefined;
  const attempts = typeof meta.attempts === 'number' ? meta.attempts : undefined;
  return {
    awsError: /^[A-Za-z0-9_.:-]{1,100}$/.test(name) ? name : 'Error',
    httpStatus: status,
    requestId,
    attempts,
    networkCode: networkCode(err),
  };
}

/**
 * AWS answers `InvalidRequestException` ("…marked for deletion" / "…currently marked deleted") for a secret
 * whose deletion is scheduled. Only the error code and a fixed word are looked at, never echoed.
 */
function isScheduledForDeletion(err: unknown): boolean {
  const e = err as { name?: unknown; message?: unknown } | null;
  return (
    e?.name === 'InvalidRequestException' &&
    typeof e.message === 'string' &&
    /marked (for )?delet|scheduled for delet/i.test(e.message)
  );
}

function networkCode(err: unknown, depth = 0): string | undefined {
  if (typeof err !== 'object' || err === null || depth > 5) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return code;
  // AggregateError (happy eyeballs tries several addresses) and wrapped causes.
  const nested = (err as { errors?: unknown }).errors;
  if (Array.isArray(nested)) {
    for (const inner of nested) {
      const found = networkCode(inner, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return networkCode((err as { cause?: unknown }).cause, depth + 1);
}

function hasMetadata(err: unknown): boolean {
  return typeof err === 'object' && err !== null && '$metadata' in err;
}

function describeFacts(operation: AwsOperation, facts: SdkErrorFacts): string {
  const parts = [`${operation}: ${facts.networkCode ?? facts.awsError}`];
  if (facts.httpStatus !== undefined) parts.push(`HTTP ${facts.httpStatus}`);
  if (facts.attempts !== undefined) parts.push(`${facts.attempts} attempt${facts.attempts === 1 ? '' : 's'}`);
  if (facts.requestId !== undefined) parts.push(`request id ${facts.requestId}`);
  return parts.join(', ');
}
