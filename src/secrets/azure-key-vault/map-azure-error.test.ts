import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';

import { describe, expect, it } from 'vitest';

import { encodingsOf, leaks } from '../../../test/invariants/canary.js';
import { CofreError } from '../../errors.js';
import type { CallTrace } from './key-vault-pipeline.js';
import { AzureCallFailure, mapAzureError } from './map-azure-error.js';

const SIGN_IN = { backend: 'azure', credential: 'managed-identity' } as const;
const canary = `canary-${randomBytes(12).toString('hex')}`;

/** An error shaped like the SDK's RestError, its message and request carrying the canary. */
function restError(statusCode: number | undefined, code: string | undefined, name = 'RestError'): Error {
  const err = new Error(`Azure says: ${canary} is wrong`);
  err.name = name;
  return Object.assign(err, {
    statusCode,
    code,
    request: { url: 'https://v.vault.azure.net/secrets/x', body: JSON.stringify({ value: canary }) },
    response: { status: statusCode, bodyAsText: `{"error":{"message":"${canary}"}}` },
  });
}

function trace(overrides: Partial<CallTrace> = {}): CallTrace {
  return {
    attempts: 3,
    retries: 2,
    throttled: 0,
    timedOut: 0,
    lastStatus: undefined,
    innerError: undefined,
    requestId: 'req-1',
    refusedTokenNotResent: false,
    ...overrides,
  };
}

describe('mapAzureError', () => {
  it.each([
    [404, 'SecretNotFound', undefined, 'GetSecret', 'COFRE_SECRET_NOT_FOUND'],
    [403, 'Forbidden', 'SecretDisabled', 'GetSecret', 'COFRE_SECRET_DISABLED'],
    [403, 'Forbidden', 'ForbiddenByRbac', 'GetSecret', 'COFRE_BACKEND_DENIED'],
    [403, 'Forbidden', undefined, 'GetSecret', 'COFRE_BACKEND_DENIED'],
    [401, 'Unauthorized', undefined, 'GetSecret', 'COFRE_BACKEND_DENIED'],
    [409, 'Conflict', undefined, 'SetSecret', 'COFRE_INPUT_INVALID'],
    [429, 'Throttled', undefined, 'GetSecret', 'COFRE_BACKEND_UNAVAILABLE'],
    [500, 'InternalServerError', undefined, 'GetSecret', 'COFRE_BACKEND_UNAVAILABLE'],
    [503, 'ServiceUnavailable', undefined, 'SetSecret', 'COFRE_BACKEND_UNAVAILABLE'],
    [undefined, 'ECONNRESET', undefined, 'GetSecret', 'COFRE_BACKEND_UNAVAILABLE'],
    [undefined, 'ETIMEDOUT', undefined, 'GetSecret', 'COFRE_BACKEND_UNAVAILABLE'],
    [undefined, 'REQUEST_SEND_ERROR', undefined, 'GetSecret', 'COFRE_BACKEND_UNAVAILABLE'],
    [400, 'BadParameter', undefined, 'SetSecret', 'COFRE_INPUT_INVALID'],
    [undefined, 'DEPTH_ZERO_SELF_SIGNED_CERT', undefined, 'GetSecret', 'COFRE_BACKEND_UNAVAILABLE'],
    [undefined, undefined, undefined, 'GetSecret', 'COFRE_INTERNAL'],
  ] as const)(
    'maps HTTP %s %s (%s) on %s to %s, naming the reference and never the server text',
    (status, code, inner, op, expected) => {
      const { error } = mapAzureError(
        restError(status, code),
        op,
        'azure:binance',
        SIGN_IN,
        trace({ innerError: inner }),
      );
      expect(error.code).toBe(expected);
      expect(error.message).toContain('azure:binance');
      expect(error.message).not.toContain('Azure says');
      expect(error.cause).toBeInstanceOf(AzureCallFailure);
      const text = `${error.message}\n${error.stack ?? ''}\n${inspect(error, { depth: 20 })}\n${JSON.stringify(error.details)}`;
      expect(leaks(text, encodingsOf(canary))).toEqual([]);
    },
  );

  it('says how to get out of a soft-deleted name', () => {
    const { error } = mapAzureError(restError(409, 'Conflict'), 'SetSecret', 'azure:binance', SIGN_IN);
    expect(error.message).toMatch(/soft delete/);
    expect(error.message).toMatch(/az keyvault secret recover/);
    expect(error.message).toMatch(/az keyvault secret purge/);
  });

  it('maps identity errors: unavailable credential and refused sign-in are denied, an Entra outage unavailable', () => {
    const unavailable = mapAzureError(
      restError(undefined, undefined, 'CredentialUnavailableError'),
      'GetSecret',
      'azure:x',
      SIGN_IN,
    );
    expect(unavailable.error.code).toBe('COFRE_BACKEND_DENIED');
    // The sign-in mapper's words: the backend, its credential kind and what to check for that kind.
    expect(unavailable.error.message).toMatch(
      /backend "azure" \(managed-identity credential\) reading azure:x/,
    );
    expect(
      mapAzureError(restError(400, 'invalid_client', 'AuthenticationError'), 'GetSecret', 'azure:x', SIGN_IN)
        .error.code,
    ).toBe('COFRE_BACKEND_DENIED');
    expect(
      mapAzureError(restError(503, undefined, 'AuthenticationError'), 'GetSecret', 'azure:x', SIGN_IN).error
        .code,
    ).toBe('COFRE_BACKEND_UNAVAILABLE');
    expect(
      mapAzureError(
        restError(undefined, undefined, 'AggregateAuthenticationError'),
        'GetSecret',
        'azure:x',
        SIGN_IN,
      ).error.code,
    ).toBe('COFRE_BACKEND_DENIED');
  });

  it('maps the SDK refusing a challenge for another domain to denied, pointing at vaultUrl', () => {
    const err = new Error("The challenge resource 'evil.example' does not match the requested domain. Set …");
    const { error } = mapAzureError(err, 'GetSecret', 'azure:x', SIGN_IN);
    expect(error.code).toBe('COFRE_BACKEND_DENIED');
    expect(error.message).toContain('vaultUrl');
    expect(error.message).not.toContain('evil.example');
  });

  it('keeps facts that look like codes only, and passes a CofreError through', () => {
    const odd = restError(500, `code with spaces ${canary}`);
    const { error, facts } = mapAzureError(
      odd,
      'GetSecret',
      'azure:x',
      SIGN_IN,
      trace({ requestId: 'req-9', innerError: 'X' }),
    );
    expect(facts.azureError).toBeUndefined();
    expect(facts).toMatchObject({ httpStatus: 500, requestId: 'req-9', attempts: 3, innerError: 'X' });
    expect(error.message).toContain('request id req-9');
    const own = new CofreError('COFRE_BACKEND_RESPONSE_TOO_LARGE', 'too large');
    expect(mapAzureError(own, 'GetSecret', 'azure:x', SIGN_IN).error).toBe(own);
  });
});
