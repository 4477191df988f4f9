import { describe, expect, it } from 'vitest';

import { mapKmsError } from './kms-error.js';

/** An error shaped as the AWS SDK throws it: a name, metadata, and a server message cofre must not repeat. */
function sdkError(name: string, httpStatusCode?: number): Error {
  const err = new Error('server text that is not ours to repeat: AKIA-SECRET-LOOKING');
  err.name = name;
  Object.assign(err, { $metadata: { httpStatusCode, requestId: 'req-123', attempts: 3 } });
  return err;
}

describe('mapKmsError', () => {
  it.each([
    ['ThrottlingException', 400],
    ['KMSInternalException', 500],
    ['ServiceUnavailable', 503],
    ['AccessDeniedException', 400],
    ['KMSInvalidStateException', 400],
    ['DependencyTimeoutException', 503],
    ['CredentialsProviderError', undefined],
  ] as const)('maps %s to COFRE_SIGNER_UNAVAILABLE naming the key and request id', (name, status) => {
    const error = mapKmsError(sdkError(name, status), 'Sign', 'alias/cofre-hot');
    expect(error.code).toBe('COFRE_SIGNER_UNAVAILABLE');
    expect(error.message).toContain('alias/cofre-hot');
    expect(error.message).toContain(name);
    expect(error.message).toContain('req-123');
    expect(error.message).not.toContain('AKIA-SECRET-LOOKING');
    expect(error.cause).toBeUndefined();
  });

  it.each(['NotFoundException', 'InvalidKeyUsageException', 'UnsupportedOperationException'])(
    'maps %s to COFRE_SIGNER_KEY_INVALID',
    (name) => {
      expect(mapKmsError(sdkError(name, 400), 'GetPublicKey', 'k').code).toBe('COFRE_SIGNER_KEY_INVALID');
    },
  );

  it('names access denied and what the key policy must allow', () => {
    const error = mapKmsError(sdkError('AccessDeniedException', 400), 'Sign', 'k');
    expect(error.message).toContain('kms:Sign');
  });

  it('reads a network error code off a wrapped cause', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const error = mapKmsError(err, 'GetPublicKey', 'k');
    expect(error.code).toBe('COFRE_SIGNER_UNAVAILABLE');
    expect(error.message).toContain('ECONNREFUSED');
  });
});
