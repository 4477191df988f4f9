import { inspect } from 'node:util';

import { describe, expect, it } from 'vitest';

import { AwsCallFailure, mapAwsError } from './map-aws-error.js';

/** An error shaped like the SDK's service exceptions (name, $fault, $metadata), optionally carrying a response. */
function sdkError(name: string, status: number | undefined, extra: Record<string, unknown> = {}): Error {
  const err = new Error(`message of ${name}`);
  err.name = name;
  return Object.assign(err, {
    $fault: status !== undefined && status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'req-1', attempts: 3 },
    ...extra,
  });
}

describe('mapAwsError', () => {
  it.each([
    ['ResourceNotFoundException', 400, 'COFRE_SECRET_NOT_FOUND'],
    ['AccessDeniedException', 400, 'COFRE_BACKEND_DENIED'],
    ['UnrecognizedClientException', 400, 'COFRE_BACKEND_DENIED'],
    ['ExpiredTokenException', 400, 'COFRE_BACKEND_DENIED'],
    ['DecryptionFailure', 400, 'COFRE_BACKEND_DENIED'],
    ['SomethingNew', 403, 'COFRE_BACKEND_DENIED'],
    ['ThrottlingException', 400, 'COFRE_BACKEND_UNAVAILABLE'],
    ['LimitExceededException', 400, 'COFRE_BACKEND_UNAVAILABLE'],
    ['SomethingNew', 429, 'COFRE_BACKEND_UNAVAILABLE'],
    ['InternalServiceError', 500, 'COFRE_BACKEND_UNAVAILABLE'],
    ['SomethingNew', 503, 'COFRE_BACKEND_UNAVAILABLE'],
    ['TimeoutError', undefined, 'COFRE_BACKEND_UNAVAILABLE'],
    ['InvalidParameterException', 400, 'COFRE_INPUT_INVALID'],
    ['InvalidRequestException', 400, 'COFRE_INPUT_INVALID'],
    ['SomethingNew', 400, 'COFRE_INTERNAL'],
  ] as const)('maps %s (HTTP %s) to %s', (name, status, code) => {
    const { error } = mapAwsError(sdkError(name, status), 'DescribeSecret', 'aws:prod/x');
    expect(error.code).toBe(code);
    expect(error.message).toContain('aws:prod/x');
  });

  it('calls a secret scheduled for deletion not found, and says so', () => {
    const err = sdkError('InvalidRequestException', 400);
    err.message = "You can't perform this operation on the secret because it was marked for deletion.";
    const { error } = mapAwsError(err, 'GetSecretValue', 'aws:prod/x');
    expect(error.code).toBe('COFRE_SECRET_NOT_FOUND');
    expect(error.message).toContain('scheduled for deletion');
  });

  it('maps network failures (also nested in an AggregateError) to unavailable, with their code', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const aggregate = Object.assign(new AggregateError([refused], 'connect failed'), {
      $metadata: { attempts: 2 },
    });
    const { error, facts } = mapAwsError(aggregate, 'GetSecretValue', 'aws:prod/x');
    expect(error.code).toBe('COFRE_BACKEND_UNAVAILABLE');
    expect(facts.networkCode).toBe('ECONNREFUSED');
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('maps a missing credential chain to denied', () => {
    const err = new Error('Could not load credentials from any providers');
    err.name = 'CredentialsProviderError';
    const { error } = mapAwsError(err, 'GetSecretValue', 'aws:prod/x');
    expect(error.code).toBe('COFRE_BACKEND_DENIED');
    expect(error.message).toMatch(/no AWS credentials/);
  });

  // SECURITY: the SDK keeps the raw response on deserialization errors; for GetSecretValue that is the value.
  it('never carries the SDK error, its message, $response or $responseBodyText into the result', () => {
    const value = 'canary-3f0c1d9e8b7a6f5e4d3c2b1a';
    const err = sdkError('SyntaxError', 200, {
      $response: { statusCode: 200, body: `{"SecretString":"${value}"` },
      $responseBodyText: `{"SecretString":"${value}"`,
    });
    err.message = `Deserialization error for body: {"SecretString":"${value}"`;
    const { error } = mapAwsError(err, 'GetSecretValue', 'aws:prod/x');
    expect(error.code).toBe('COFRE_INTERNAL');
    expect(error.cause).toBeInstanceOf(AwsCallFailure);
    expect(error.cause).toMatchObject({
      awsError: 'SyntaxError',
      httpStatus: 200,
      requestId: 'req-1',
      attempts: 3,
    });
    expect(inspect(error, { depth: 10, showHidden: true })).not.toContain(value);
    expect(JSON.stringify(error)).not.toContain(value);
  });

  it('does not repeat a name or request id that is not shaped like one', () => {
    const err = sdkError('Bad name with spaces', 500);
    (err as unknown as { $metadata: { requestId: string } }).$metadata.requestId = 'has spaces and "quotes"';
    const { facts } = mapAwsError(err, 'GetSecretValue', 'aws:prod/x');
    expect(facts.awsError).toBe('Error');
    expect(facts.requestId).toBeUndefined();
  });
});
