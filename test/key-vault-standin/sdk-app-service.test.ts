/**
 * Managed identity over the App Service endpoint (IDENTITY_ENDPOINT + IDENTITY_HEADER), in a file of its own:
 * msal-node picks the managed-identity source, with its endpoint URL and header, once per process (so the refusal of
 * a wrong header is tested with plain fetch, in token-endpoints.test.ts).
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

function client(): SecretClient {
  return new SecretClient(standIn.vaultUrl, new ManagedIdentityCredential(), {
    disableChallengeResourceVerification: true,
    retryOptions: { maxRetries: 0 },
  });
}

describe('key-vault stand-in App Service managed identity through the SDK', () => {
  it('issues a token the vault accepts, for the system-assigned identity', async () => {
    vi.stubEnv('IDENTITY_ENDPOINT', standIn.appService.endpoint);
    vi.stubEnv('IDENTITY_HEADER', standIn.appService.header);
    const c = client();
    await c.setSecret('app-service', 'v1');
    expect((await c.getSecret('app-service')).value).toBe('v1');
    expect(standIn.tokenRequests.at(-1)).toMatchObject({
      endpoint: 'app-service',
      clientId: standIn.systemAssignedClientId,
      status: 200,
    });
  });
});
