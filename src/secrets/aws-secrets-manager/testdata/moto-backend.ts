import {
  AwsSecretsManagerBackend,
  type AwsSecretsManagerBackendOptions,
} from '../aws-secrets-manager-backend.js';

/**
 * Test-only static credentials: moto accepts any key pair. Passed through the backend's test-only `credentials`
 * option, never through config (cofre's config has no field for AWS keys).
 */
export const TEST_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

/** A backend pointed at `endpoint` (moto or a test server) in us-east-1 with test credentials. */
export function openTestBackend(
  endpoint: string,
  options: AwsSecretsManagerBackendOptions = {},
): Promise<AwsSecretsManagerBackend> {
  return AwsSecretsManagerBackend.open({
    name: 'aws',
    region: 'us-east-1',
    endpoint,
    credentials: TEST_CREDENTIALS,
    ...options,
  });
}
