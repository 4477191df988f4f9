import { CofreError } from '../../errors.js';
import { sdkErrorFacts } from '../../secrets/aws-secrets-manager/map-aws-error.js';

/** The KMS operations the signer calls (AWS API action names, as IAM and CloudTrail show them). */
export type KmsOperation = 'GetPublicKey' | 'Sign';

// https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html#API_Sign_Errors (and GetPublicKey's).
const KEY_INVALID = new Set([
  'NotFoundException',
  'InvalidKeyUsageException',
  'UnsupportedOperationException',
  'InvalidArnException',
  'KMSInvalidSignatureException',
]);

/**
 * A failed KMS call as a {@link CofreError} naming the key and the operation, with only the SDK error's non-secret
 * facts (error name, HTTP status, request id, attempts, network code) in its message and details.
 *
 * - a missing key or one KMS says cannot do this (wrong usage, unsupported for the spec) → `COFRE_SIGNER_KEY_INVALID`;
 * - everything else: unreachable, throttled, 5xx, access denied, no credentials, a disabled key
 *   (`KMSInvalidStateException`), a timeout → `COFRE_SIGNER_UNAVAILABLE` (nothing was signed).
 *
 * SECURITY: never the SDK error's message or raw response (text from whatever answers at the endpoint), never the
 * credentials or endpoint; the request id finds the call in CloudTrail.
 */
export function mapKmsError(err: unknown, operation: KmsOperation, keyId: string): CofreError {
  const facts = sdkErrorFacts(err);
  const parts = [`${operation}: ${facts.networkCode ?? facts.awsError}`];
  if (facts.httpStatus !== undefined) parts.push(`HTTP ${facts.httpStatus}`);
  if (facts.attempts !== undefined) parts.push(`${facts.attempts} attempt${facts.attempts === 1 ? '' : 's'}`);
  if (facts.requestId !== undefined) parts.push(`request id ${facts.requestId}`);
  const tail = `(${parts.join(', ')})`;
  const details = {
    keyId,
    operation,
    awsError: facts.awsError,
    httpStatus: facts.httpStatus,
    requestId: facts.requestId,
  };
  if (KEY_INVALID.has(facts.awsError)) {
    return new CofreError(
      'COFRE_SIGNER_KEY_INVALID',
      `AWS KMS key ${keyId} cannot sign: ${facts.awsError === 'NotFoundException' ? 'no such key' : 'KMS refused the key for this operation'} ${tail}`,
      { details },
    );
  }
  const why =
    facts.awsError === 'CredentialsProviderError'
      ? "no AWS credentials: the SDK's default chain (environment, SSO, profile, web identity, ECS or EC2 role) found none"
      : facts.awsError === 'AccessDeniedException' || facts.httpStatus === 403 || facts.httpStatus === 401
        ? 'access denied (the key policy must allow kms:Sign and kms:GetPublicKey to cofre)'
        : facts.awsError === 'KMSInvalidStateException' || facts.awsError === 'DisabledException'
          ? 'the key is disabled or pending deletion'
          : 'AWS KMS could not be reached or did not answer';
  return new CofreError('COFRE_SIGNER_UNAVAILABLE', `AWS KMS key ${keyId}: ${why} ${tail}`, { details });
}
