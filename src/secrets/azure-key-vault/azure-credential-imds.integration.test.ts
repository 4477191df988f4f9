// Managed identity over the IMDS route (VMs, scale sets; `AZURE_POD_IDENTITY_AUTHORITY_HOST` points the SDK at the
// stand-in's metadata endpoint), and DefaultAzureCredential reaching it, through the official SecretClient. The
// stand-in signs its tokens and its vault checks signature, audience and expiry on every request. The tests every
// route shares are in testdata/managed-identity-route.ts; these are IMDS's own: token expiry, the challenge check,
// DefaultAzureCredential's managedIdentityClientId.
import { describe, expect, it } from 'vitest';

import { startKeyVaultStandIn } from '../../../test/key-vault-standin/index.js';
import { mapAzureCredentialError } from './map-azure-credential-error.js';
import { managedIdentityRouteSuite } from './testdata/managed-identity-route.js';
import {
  readWith,
  recordingCredential,
  rejection,
  secretClient,
  standInConfig,
  tokenRequestsOf,
  vaultRequestsOf,
} from './testdata/stand-in-client.js';

const route = managedIdentityRouteSuite('imds', startKeyVaultStandIn);
const requestsOf = (clientId: string) => vaultRequestsOf(route.standIn(), clientId);

describe('managed identity tokens over IMDS', () => {
  it('gets a new token once the old one has expired, and the read after expiry succeeds', async () => {
    const standIn = route.standIn();
    // A fresh identity: msal-node keeps managed-identity tokens in one cache per process, by identity.
    const clientId = standIn.addUserAssignedIdentity('secrets-user');
    standIn.setTokenLifetime(2);
    const config = standInConfig(standIn, { type: 'managed-identity', clientId });
    const credential = await recordingCredential(config);
    const client = secretClient(standIn, credential, config);
    expect((await client.getSecret(route.secret)).value).toBe(route.value);
    await new Promise((resolve) => setTimeout(resolve, 2500)); // let the token expire (waiting, not measuring)
    const before = standIn.requests.length;
    expect((await client.getSecret(route.secret)).value).toBe(route.value);
    expect(new Set(credential.tokens).size).toBe(2);
    expect(tokenRequestsOf(standIn, clientId)).toEqual(['imds 200', 'imds 200']);
    // The second read went out with the new token at once: no 401 for a stale one.
    expect(standIn.requests.slice(before).map((r) => r.status)).toEqual([200]);
  });

  it('is answered 401 for a token the vault finds expired, and recovers with a fresh one', async () => {
    const standIn = route.standIn();
    const clientId = standIn.addUserAssignedIdentity('secrets-user');
    standIn.setTokenLifetime(-60); // the token endpoint hands out tokens that are already expired
    const config = standInConfig(standIn, { type: 'managed-identity', clientId });
    const credential = await recordingCredential(config);
    const client = secretClient(standIn, credential, config);
    const before = standIn.requests.length;
    const sdk = await rejection(client.getSecret(route.secret));
    expect(sdk.statusCode).toBe(401);
    // The challenge, then the expired token, refused; not sent again.
    expect(standIn.requests.slice(before).map((r) => r.status)).toEqual([401, 401]);
    expect(tokenRequestsOf(standIn, clientId)).toEqual(['imds 200']);
    standIn.setTokenLifetime(3600);
    expect((await client.getSecret(route.secret)).value).toBe(route.value);
    expect(tokenRequestsOf(standIn, clientId)).toEqual(['imds 200', 'imds 200']);
  });
});

describe('verifyChallengeResource (the default)', () => {
  it('gets no token at all for a vault whose challenge names a resource the vault URL does not belong to', async () => {
    const standIn = route.standIn();
    // The stand-in's vault is https://localhost and its challenge names https://vault.azure.net, as a host that is
    // not the vault would to phish a Key Vault token: with the check on, the SDK asks for no token.
    const clientId = standIn.addUserAssignedIdentity('secrets-user');
    const config = standInConfig(
      standIn,
      { type: 'managed-identity', clientId },
      { verifyChallengeResource: true },
    );
    const credential = await recordingCredential(config);
    const sdk = await rejection(secretClient(standIn, credential, config).getSecret(route.secret));
    expect(sdk.message).toMatch(/challenge resource/);
    expect(credential.tokens).toEqual([]);
    expect(tokenRequestsOf(standIn, clientId)).toEqual([]);
    expect(
      mapAzureCredentialError(sdk, { backend: 'azure', credential: 'managed-identity' }),
    ).toBeUndefined();
  });
});

describe('DefaultAzureCredential', () => {
  it('uses the user-assigned identity managedIdentityClientId names', async () => {
    const standIn = route.standIn();
    const clientId = standIn.addUserAssignedIdentity('secrets-user');
    const credential = { type: 'default', managedIdentityClientId: clientId };
    expect(await readWith(standIn, credential, route.secret)).toBe(route.value);
    expect(requestsOf(clientId).map((r) => r.status)).toEqual([200]);
    expect(tokenRequestsOf(standIn, clientId)).toEqual(['imds 200']);
  });
});
