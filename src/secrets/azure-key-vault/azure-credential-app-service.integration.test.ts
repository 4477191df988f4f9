// Managed identity over the App Service route (App Service, Functions, Container Apps: `IDENTITY_ENDPOINT` and
// `IDENTITY_HEADER`), through the official SecretClient against the stand-in. Its own file because msal-node
// picks the managed-identity source once per process (see azure-credential-imds.integration.test.ts).
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

function useAppService(): void {
  isolateAzureIdentity(tools);
  vi.stubEnv('IDENTITY_ENDPOINT', standIn.appService.endpoint);
  vi.stubEnv('IDENTITY_HEADER', standIn.appService.header);
}

const requestsOf = (clientId: string) => vaultRequestsOf(standIn, clientId);

beforeAll(async () => {
  standIn = await startKeyVaultStandIn();
  tools = mkdtempSync(join(tmpdir(), 'cofre-azure-app-service-'));
  useAppService();
  const config = standInConfig(standIn, { type: 'managed-identity' });
  const writer = secretClient(standIn, await recordingCredential(config), config);
  await writer.setSecret('kraken-api', 'value-for-app-service');
  vi.unstubAllEnvs();
});
afterAll(async () => {
  await standIn.stop();
  rmSync(tools, { recursive: true, force: true });
});
beforeEach(useAppService);
afterEach(() => vi.unstubAllEnvs());

describe('managed identity over the App Service endpoint', () => {
  it('signs in as the system-assigned identity', async () => {
    const before = requestsOf(standIn.systemAssignedClientId).length;
    expect(await readWith(standIn, { type: 'managed-identity' }, 'kraken-api')).toBe('value-for-app-service');
    expect(requestsOf(standIn.systemAssignedClientId).length).toBe(before + 1);
  });

  it('signs in as a user-assigned identity named by its client id', async () => {
    const clientId = standIn.addUserAssignedIdentity('secrets-user');
    expect(await readWith(standIn, { type: 'managed-identity', clientId }, 'kraken-api')).toBe(
      'value-for-app-service',
    );
    expect(requestsOf(clientId).map((r) => `${r.method} ${r.status}`)).toEqual(['GET 200']);
    expect(tokenRequestsOf(standIn, clientId)).toEqual(['app-service 200']);
  });

  it('refuses an identity the app does not have as COFRE_BACKEND_DENIED', async () => {
    const unknown = '0badc0de-0000-4000-8000-000000000001';
    const sdk = await rejection(
      readWith(standIn, { type: 'managed-identity', clientId: unknown }, 'kraken-api'),
    );
    const err = mapAzureCredentialError(sdk, { backend: 'azure', credential: 'managed-identity' });
    expect(isCofreError(err, 'COFRE_BACKEND_DENIED')).toBe(true);
    expect(err?.message).toMatch(
      /^backend "azure" \(managed-identity credential\): Entra ID refused the sign-in \(HTTP 400\)/,
    );
    expect(err?.message).not.toContain('Identity not found');
    expect(tokenRequestsOf(standIn, unknown)).toEqual(['app-service 400']);
  });

  it('is refused by the vault without retry when the identity has no role', async () => {
    const clientId = standIn.addUserAssignedIdentity('none');
    const sdk = await rejection(readWith(standIn, { type: 'managed-identity', clientId }, 'kraken-api'));
    expect(sdk.statusCode).toBe(403);
    expect(requestsOf(clientId).map((r) => `${r.method} ${r.status}`)).toEqual(['GET 403']);
  });

  it('is what DefaultAzureCredential reaches when the environment holds no other credential', async () => {
    const before = requestsOf(standIn.systemAssignedClientId).length;
    expect(await readWith(standIn, { type: 'default' }, 'kraken-api')).toBe('value-for-app-service');
    expect(requestsOf(standIn.systemAssignedClientId).length).toBe(before + 1);
  });
});
