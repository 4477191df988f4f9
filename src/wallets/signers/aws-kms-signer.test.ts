import { afterEach, describe, expect, it, vi } from 'vitest';

import { isCofreError } from '../../errors.js';
import { AwsKmsSigner } from './aws-kms-signer.js';

// What the KMS signer decides before any request leaves (the calls themselves: aws-kms-signer.integration.test.ts).
describe('AwsKmsSigner without a region', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('answers COFRE_SIGNER_UNAVAILABLE saying where to set the region, not a bare SDK error', async () => {
    vi.stubEnv('AWS_REGION', '');
    vi.stubEnv('AWS_DEFAULT_REGION', '');
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/cofre-test-config');
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/cofre-test-credentials');
    vi.stubEnv('AWS_PROFILE', '');
    const signer = new AwsKmsSigner({ keyId: 'alias/cofre-hot' });
    const error = await signer.address().catch((err: unknown) => err);
    expect(isCofreError(error, 'COFRE_SIGNER_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toContain('alias/cofre-hot');
    expect((error as Error).message).toContain('region');
    await signer.close();
  });

  it('refuses a digest that is not 32 bytes before asking KMS', async () => {
    const signer = new AwsKmsSigner({ keyId: 'k', region: 'us-east-1', endpoint: 'http://127.0.0.1:9' });
    const error = await signer.signDigest(new Uint8Array(31)).catch((err: unknown) => err);
    expect(isCofreError(error, 'COFRE_INTERNAL')).toBe(true);
  });
});
