/** Where a KMS key is reached: the fields of `awsKmsShape` (wallets-config.ts) the SDK client needs. */
export interface AwsKmsLocation {
  readonly region?: string | undefined;
  readonly endpoint?: string | undefined;
  readonly profile?: string | undefined;
}

/**
 * The options of a `KMSClient` for one configured key (issue 19: wallets sign with it, encryption keys encrypt):
 * the SDK's standard retries (3 attempts), bounded connection and request times so a stalled KMS fails a request
 * instead of holding it, and the key's region, endpoint and profile. A plain object, so this module needs no SDK.
 *
 * SECURITY: no `logger`: the SDK's logger middleware would log inputs and outputs (a plaintext, a digest).
 */
export function awsKmsClientOptions(
  key: AwsKmsLocation,
  timeouts: { readonly connectionMs: number; readonly requestMs: number },
): {
  maxAttempts: number;
  retryMode: 'standard';
  requestHandler: { connectionTimeout: number; requestTimeout: number; throwOnRequestTimeout: true };
  customUserAgent: string;
  region?: string;
  endpoint?: string;
  profile?: string;
} {
  return {
    maxAttempts: 3,
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: timeouts.connectionMs,
      requestTimeout: timeouts.requestMs,
      throwOnRequestTimeout: true,
    },
    customUserAgent: 'cofre',
    ...(key.region === undefined ? {} : { region: key.region }),
    ...(key.endpoint === undefined ? {} : { endpoint: key.endpoint }),
    ...(key.profile === undefined ? {} : { profile: key.profile }),
  };
}
