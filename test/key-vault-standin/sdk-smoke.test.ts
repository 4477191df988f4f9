/**
 * The stand-in driven by the official SDK, as the backend will drive it: SecretClient with
 * ManagedIdentityCredential over the IMDS route (AZURE_POD_IDENTITY_AUTHORITY_HOST), through the challenge.
 */
import { ManagedIdentityCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { type KeyVaultStandIn, startKeyVaultStandIn } from './index.js';

let standIn: KeyVaultStandIn;

beforeAll(async () => {
  standIn = await startKeyVaultStandIn();
});
afterAll(async () => {
  await standIn.stop();
});
afterEach(() => {
  vi.unstubAllEnvs();
});

function imdsClient(clientId?: string): SecretClient {
  vi.stubEnv('AZURE_POD_IDENTITY_AUTHORITY_HOST', standIn.imdsHost);
  const credential =
    clientId === undefined ? new ManagedIdentityCredential() : new ManagedIdentityCredential(clientId);
  return new SecretClient(standIn.vaultUrl, credential, { disableChallengeResourceVerification: true });
}

describe('key-vault stand-in through the SDK', () => {
  it('sets and gets a secret with ManagedIdentityCredential over IMDS', async () => {
    const client = imdsClient();
    const set = await client.setSecret('binance-key', 'value-1', { tags: { stage: 'current' } });
    expect(set.properties.version).toMatch(/^[0-9a-f]{32}$/);
    const got = await client.getSecret('binance-key');
    expect(got.value).toBe('value-1');
    expect(got.properties.tags).toEqual({ stage: 'current' });
    expect(got.properties.id).toBe(`${standIn.vaultUrl}/secrets/binance-key/${set.properties.version}`);
    const first = standIn.requests[0];
    expect(first?.status).toBe(401);
    expect(
      standIn.requests
        .filter((r) => r.status === 200)
        .every((r) => r.clientId === standIn.systemAssignedClientId),
    ).toBe(true);
  });
});
