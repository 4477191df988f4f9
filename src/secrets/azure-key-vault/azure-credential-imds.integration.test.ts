// Managed identity over the IMDS route (VMs, scale sets; `AZURE_POD_IDENTITY_AUTHORITY_HOST` points the SDK at the
// stand-in's metadata endpoint), and DefaultAzureCredential reaching it, through the official SecretClient. The
// stand-in signs its tokens and its vault checks signature, audience and expiry on every request.
//
// msal-node picks the managed-identity source once per process, from the environment of the first sign-in, and
// keeps it (ManagedIdentityClient.identitySource is static): the App Service route therefore has its own file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { type KeyVaultStandIn, startKeyVaultStandIn } from '../../../test/key-vault-standin/index.js';
import { isCofreError } from '../../errors.js';
import { mapAzureCredentialError } from './map-azure-credential-error.js';
import { isolateAzureIdentity } from './testdata/identity-environment.js';
import {
  readWith,
  recordingCredential,
  rejection,
  secretClient,
  standInConfig,
  tokenRequestsOf,
  vaultRequestsOf,
} from './testdata/stand-in-client.js';

let standIn: KeyVaultStandIn;
let tools: string;

function useImds(): void {
  isolateAzureIdentity(tools);
  vi.stubEnv('AZURE_POD_IDENTITY_AUTHORITY_HOST', standIn.imdsHost);
}

const requestsOf = (clientId: string) => vaultRequestsOf(standIn, clientId);

beforeAll(async () => {
  standIn = await startKeyVaultStandIn();
  tools = mkdtempSync(join(tmpdir(), 'cofre-azure-imds-'));
  useImds();
  const config = standInConfig(standIn, { type: 'managed-identity' });
  const writer = secretClient(standIn, await recordingCredential(config), config);
  await writer.setSecret('binance-api', 'value-for-imds');
  vi.unstubAllEnvs();
});
afterAll(async () => {
  await standIn.stop();
  rmSync(tools, { recursive: true, force: true });
});
beforeEach(useImds);
afterEach(() => {
  vi.unstubAllEnvs();
  standIn.setTokenLifetime(3600);
});

describe('managed identity over IMDS', () => {
  it('signs in as the system-assigned identity', async () => {
    const before = requestsOf(standIn.systemAssignedClientId).length;
    expect(await readWith(standIn, { type: 'managed-identity' }, 'binance-api')).toBe('value-for-imds');
    expect(requestsOf(standIn.systemAssignedClientId).length).toBe(before + 1);
  });

  it('signs in as a user-assigned identity named by its client id', async () => {
    const clientId = standIn.addUserAssignedIdentity('secrets-user');
    const credential = { type: 'managed-identity', clientId };
    expect(await readWith(standIn, credential, 'binance-api')).toBe('value-for-imds');
    expect(requestsOf(clientId).map((r) => `${r.method} ${r.status}`)).toEqual(['GET 200']);
    expect(tokenRequestsOf(standIn, clientId)).toEqual(['imds 200']);
  });

  it('refuses a user-assigned identity the platform does not know as COFRE_BACKEND_DENIED, naming backend and kind', async () => {
    const unknown = '0badc0de-0000-4000-8000-000000000000';
    const sdk = await rejection(
      readWith(standIn, { type: 'managed-identity', clientId: unknown }, 'binance-api'),
    );
    const err = mapAzureCredentialError(sdk, {
      backend: 'azure',
      credential: 'managed-identity',
      reference: 'azure:binance-api',
    });
    expect(isCofreError(err, 'COFRE_BACKEND_DENIED')).toBe(true);
    expect(err?.message).toMatch(
      /^backend "azure" \(managed-identity credential\) reading azure:binance-api: Entra ID refused the sign-in \(HTTP 400, invalid_request\); check that the managed identity is enabled/,
    );
    expect(err?.message).not.toContain('Identity not found');
    expect(requestsOf(unknown)).toEqual([]);
    expect(tokenRequestsOf(standIn, unknown)).toEqual(['imds 400']); // asked once: a refusal is not retried
  });

  it('is refused by the vault, once and without retry, when the identity has no role (role none: 403)', async () => {
    const clientId = standIn.addUserAssignedIdentity('none');
    const sdk = await rejection(readWith(standIn, { type: 'managed-identity', clientId }, 'binance-api'));
    expect(sdk.statusCode).toBe(403);
    // Not a sign-in failure: the backend's own mapper turns Key Vault's 403 into COFRE_BACKEND_DENIED.
    expect(
      mapAzureCredentialError(sdk, { backend: 'azure', credential: 'managed-identity' }),
    ).toBeUndefined();
    expect(requestsOf(clientId).map((r) => `${r.method} ${r.status}`)).toEqual(['GET 403']);
  });

  it('gets a new token once the old one has expired, and the read after expiry succeeds', async () => {
    // A fresh identity: msal-node keeps managed-identity tokens in one cache per process, by identity.
    const clientId = standIn.addUserAssignedIdentity('secrets-user');
    standIn.setTokenLifetime(2);
    const config = standInConfig(standIn, { type: 'managed-identity', clientId });
    const credential = await recordingCredential(config);
    const client = secretClient(standIn, credential, config);
    expect((await client.getSecret('binance-api')).value).toBe('value-for-imds');
    await new Promise((resolve) => setTimeout(resolve, 2500)); // let the token expire (waiting, not measuring)
    const before = standIn.requests.length;
    expect((await client.getSecret('binance-api')).value).toBe('value-for-imds');
    expect(new Set(credential.tokens).size).toBe(2);
    expect(tokenRequestsOf(standIn, clientId)).toEqual(['imds 200', 'imds 200']);
    // The second read went out with the new token at once: no 401 for a stale one.
    expect(standIn.requests.slice(before).map((r) => r.status)).toEqual([200]);
  });

  it('is answered 401 for a token the vault finds expired, and recovers with a fresh one', async () => {
    const clientId = standIn.addUserAssignedIdentity('secrets-user');
    standIn.setTokenLifetime(-60); // the token endpoint hands out tokens that are already expired
    const config = standInConfig(standIn, { type: 'managed-identity', clientId });
    const credential = await recordingCredential(config);
    const client = secretClient(standIn, credential, config);
    const before = standIn.requests.length;
    const sdk = await rejection(client.getSecret('binance-api'));
    expect(sdk.statusCode).toBe(401);
    // The challenge, then the expired token, refused; not sent again.
    expect(standIn.requests.slice(before).map((r) => r.status)).toEqual([401, 401]);
    expect(tokenRequestsOf(standIn, clientId)).toEqual(['imds 200']);
    standIn.setTokenLifetime(3600);
    expect((await client.getSecret('binance-api')).value).toBe('value-for-imds');
    expect(tokenRequestsOf(standIn, clientId)).toEqual(['imds 200', 'imds 200']);
  });
});

describe('verifyChallengeResource (the default)', () => {
  it('gets no token at all for a vault whose challenge names a resource the vault URL does not belong to', async () => {
    // The stand-in's vault is https://localhost and its challenge names https://vault.azure.net, as a host that is
    // not the vault would to phish a Key Vault token: with the check on, the SDK asks for no token.
    const clientId = standIn.addUserAssignedIdentity('secrets-user');
    const config = standInConfig(
      standIn,
      { type: 'managed-identity', clientId },
      { verifyChallengeResource: true },
    );
    const credential = await recordingCredential(config);
    const sdk = await rejection(secretClient(standIn, credential, config).getSecret('binance-api'));
    expect(sdk.message).toMatch(/challenge resource/);
    expect(credential.tokens).toEqual([]);
    expect(tokenRequestsOf(standIn, clientId)).toEqual([]);
    expect(
      mapAzureCredentialError(sdk, { backend: 'azure', credential: 'managed-identity' }),
    ).toBeUndefined();
  });
});

describe('DefaultAzureCredential', () => {
  it('reaches the system-assigned managed identity when the environment holds no credential', async () => {
    const before = requestsOf(standIn.systemAssignedClientId).length;
    expect(await readWith(standIn, { type: 'default' }, 'binance-api')).toBe('value-for-imds');
    expect(requestsOf(standIn.systemAssignedClientId).length).toBe(before + 1);
  });

  it('uses the user-assigned identity managedIdentityClientId names', async () => {
    const clientId = standIn.addUserAssignedIdentity('secrets-user');
    const credential = { type: 'default', managedIdentityClientId: clientId };
    expect(await readWith(standIn, credential, 'binance-api')).toBe('value-for-imds');
    expect(requestsOf(clientId).map((r) => r.status)).toEqual([200]);
    expect(tokenRequestsOf(standIn, clientId)).toEqual(['imds 200']);
  });
});
