// The mapping of @azure/identity errors, on the SDK's own error classes with the bodies Entra and the managed
// identity endpoints send. The same errors, as the SDK really raises them against the Key Vault stand-in, are
// mapped in azure-credential-*.integration.test.ts.
import {
  AggregateAuthenticationError,
  AuthenticationError,
  AuthenticationRequiredError,
  CredentialUnavailableError,
} from '@azure/identity';
import { describe, expect, it } from 'vitest';

import { makeCanary } from '../../../test/invariants/canary.js';
import { isCofreError } from '../../errors.js';
import { AzureCredentialFailure, mapAzureCredentialError } from './map-azure-credential-error.js';

const context = {
  backend: 'azure',
  credential: 'service-principal',
  reference: 'azure:binance-api',
} as const;

function networkError(code: string): Error {
  return Object.assign(new Error(`connect ${code}`), { code });
}

function leaked(err: Error, values: readonly string[]): string[] {
  const text = `${err.message}\n${err.stack ?? ''}\n${String((err.cause as Error | undefined)?.message)}\n${JSON.stringify(err)}`;
  return values.filter((v) => text.includes(v));
}

describe('mapAzureCredentialError', () => {
  it('maps a refused client secret to COFRE_BACKEND_DENIED, keeping the OAuth code and dropping Entra’s text', () => {
    const canary = makeCanary();
    const sdk = new AuthenticationError(401, {
      error: 'invalid_client',
      error_description: `AADSTS7000215: Invalid client secret provided. ${canary.value} Trace ID: 0000`,
    });
    const err = mapAzureCredentialError(sdk, context);
    expect(isCofreError(err, 'COFRE_BACKEND_DENIED')).toBe(true);
    expect(err?.retryable).toBe(false);
    expect(err?.message).toBe(
      'backend "azure" (service-principal credential) reading azure:binance-api: Entra ID refused the sign-in (HTTP 401, invalid_client); check tenantId and clientId, and that the secret or certificate in the credential file is current and registered on the app',
    );
    expect(err?.cause).toBeInstanceOf(AzureCredentialFailure);
    expect(leaked(err!, ['AADSTS', 'Trace ID', ...canary.encodings])).toEqual([]);
  });

  it('reads the OAuth code off an msal error the SDK passed on as AuthenticationRequiredError', () => {
    const sdk = new AuthenticationRequiredError({
      scopes: ['https://vault.azure.net/.default'],
      message:
        'invalid_client: Error(s): 7000215 - Description: AADSTS7000215: Invalid client secret provided.',
    });
    const err = mapAzureCredentialError(sdk, context);
    expect(isCofreError(err, 'COFRE_BACKEND_DENIED')).toBe(true);
    expect(err?.message).toContain('(invalid_client)');
    expect(err?.message).not.toContain('AADSTS');
  });

  it.each<[string, Error]>([
    [
      'a 503 from Entra',
      new AuthenticationError(503, { error: 'temporarily_unavailable', error_description: 'x' }),
    ],
    ['throttling', new AuthenticationError(429, 'Too many requests')],
    [
      'an unreachable token endpoint',
      new CredentialUnavailableError('ManagedIdentityCredential: Network unreachable.', {
        cause: networkError('ECONNREFUSED'),
      }),
    ],
  ])('maps %s to COFRE_BACKEND_UNAVAILABLE (retryable)', (_what, sdk) => {
    const err = mapAzureCredentialError(sdk, context);
    expect(isCofreError(err, 'COFRE_BACKEND_UNAVAILABLE')).toBe(true);
    expect(err?.retryable).toBe(true);
  });

  it('maps a credential with nothing to use to COFRE_BACKEND_DENIED without copying the SDK text', () => {
    const sdk = new CredentialUnavailableError('WorkloadIdentityCredential: is unavailable. /var/run/secret');
    const err = mapAzureCredentialError(sdk, { backend: 'azure', credential: 'workload-identity' });
    expect(isCofreError(err, 'COFRE_BACKEND_DENIED')).toBe(true);
    expect(err?.message).toMatch(
      /^backend "azure" \(workload-identity credential\): no token could be obtained \(CredentialUnavailableError\); check the app’s federated credential/,
    );
    expect(err?.message).not.toContain('/var/run');
  });

  it('judges a DefaultAzureCredential chain by the link that got furthest', () => {
    const unavailable = new CredentialUnavailableError('EnvironmentCredential is unavailable.');
    const refused = new AuthenticationRequiredError({ scopes: [], message: 'invalid_client: AADSTS7000215' });
    const down = new CredentialUnavailableError('ManagedIdentityCredential: Network unreachable.', {
      cause: networkError('ENETUNREACH'),
    });
    const ctx = { backend: 'azure', credential: 'default' } as const;
    const denied = mapAzureCredentialError(
      new AggregateAuthenticationError([unavailable, refused, down]),
      ctx,
    );
    expect(isCofreError(denied, 'COFRE_BACKEND_DENIED')).toBe(true);
    expect(denied?.message).toContain('Entra ID refused the sign-in (invalid_client)');
    const transient = mapAzureCredentialError(new AggregateAuthenticationError([unavailable, down]), ctx);
    expect(isCofreError(transient, 'COFRE_BACKEND_UNAVAILABLE')).toBe(true);
    const nothing = mapAzureCredentialError(
      new AggregateAuthenticationError([unavailable, unavailable]),
      ctx,
    );
    expect(isCofreError(nothing, 'COFRE_BACKEND_DENIED')).toBe(true);
    expect(nothing?.message).toContain(
      'no token could be obtained (AggregateAuthenticationError); DefaultAzureCredential tried',
    );
  });

  it('leaves anything else to the backend’s mapper', () => {
    expect(mapAzureCredentialError(new Error('socket hang up'), context)).toBeUndefined();
    expect(
      mapAzureCredentialError(Object.assign(new Error('x'), { name: 'RestError' }), context),
    ).toBeUndefined();
    expect(mapAzureCredentialError('AuthenticationError', context)).toBeUndefined();
  });
});
