// Workload identity (AKS): a federated token file traded at the stand-in's Entra authority for a vault token,
// configured in full or, as on AKS, from the variables the workload-identity webhook sets.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { type KeyVaultStandIn, startKeyVaultStandIn } from '../../../test/key-vault-standin/index.js';
import { isCofreError } from '../../errors.js';
import { mapAzureCredentialError } from './map-azure-credential-error.js';
import { isolateAzureIdentity } from './testdata/identity-environment.js';
import {
  entraSignInsOf,
  readWith,
  recordingCredential,
  rejection,
  secretClient,
  standInConfig,
  vaultRequestsOf,
} from './testdata/stand-in-client.js';

let standIn: KeyVaultStandIn;
let dir: string;

const requestsOf = (clientId: string) => vaultRequestsOf(standIn, clientId);
const signInsOf = (clientId: string) => entraSignInsOf(standIn, clientId);

beforeAll(async () => {
  standIn = await startKeyVaultStandIn();
  dir = mkdtempSync(join(tmpdir(), 'cofre-azure-workload-'));
  const writer = await standIn.addWorkloadIdentity('secrets-officer');
  const config = standInConfig(standIn, {
    type: 'workload-identity',
    tenantId: standIn.tenantId,
    clientId: writer.clientId,
    tokenFile: writer.tokenFile,
  });
  await secretClient(standIn, await recordingCredential(config), config).setSecret(
    'bybit-api',
    'value-for-aks',
  );
});
afterAll(async () => {
  await standIn.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  isolateAzureIdentity(dir);
});
afterEach(() => vi.unstubAllEnvs());

describe('workload identity', () => {
  it('signs in with the token file, tenant and client the config names', async () => {
    const { clientId, tokenFile } = await standIn.addWorkloadIdentity('secrets-user');
    const credential = { type: 'workload-identity', tenantId: standIn.tenantId, clientId, tokenFile };
    expect(await readWith(standIn, credential, 'bybit-api')).toBe('value-for-aks');
    expect(requestsOf(clientId).map((r) => `${r.method} ${r.status}`)).toEqual(['GET 200']);
    expect(signInsOf(clientId)).toEqual(['200 assertion']);
  });

  it('takes what the config leaves out from AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE', async () => {
    const { clientId, tokenFile } = await standIn.addWorkloadIdentity('secrets-user');
    vi.stubEnv('AZURE_TENANT_ID', standIn.tenantId);
    vi.stubEnv('AZURE_CLIENT_ID', clientId);
    vi.stubEnv('AZURE_FEDERATED_TOKEN_FILE', tokenFile);
    expect(await readWith(standIn, { type: 'workload-identity' }, 'bybit-api')).toBe('value-for-aks');
    expect(requestsOf(clientId).map((r) => r.status)).toEqual([200]);
  });

  it('prefers the config’s client id to AZURE_CLIENT_ID', async () => {
    const mine = await standIn.addWorkloadIdentity('secrets-user');
    const other = await standIn.addWorkloadIdentity('secrets-user');
    vi.stubEnv('AZURE_TENANT_ID', standIn.tenantId);
    vi.stubEnv('AZURE_CLIENT_ID', other.clientId);
    vi.stubEnv('AZURE_FEDERATED_TOKEN_FILE', mine.tokenFile);
    expect(await readWith(standIn, { type: 'workload-identity', clientId: mine.clientId }, 'bybit-api')).toBe(
      'value-for-aks',
    );
    expect(requestsOf(mine.clientId).map((r) => r.status)).toEqual([200]);
    expect(requestsOf(other.clientId)).toEqual([]);
  });

  it('is refused as COFRE_BACKEND_DENIED when the token file holds a token Entra does not trust', async () => {
    const { clientId } = await standIn.addWorkloadIdentity('secrets-user');
    const forged = join(dir, 'forged-token');
    const claims = Buffer.from(
      JSON.stringify({ iss: 'https://example.com', sub: 'x', aud: 'api://AzureADTokenExchange' }),
    );
    writeFileSync(forged, `eyJhbGciOiJSUzI1NiJ9.${claims.toString('base64url')}.c2lnbmF0dXJl`);
    const credential = { type: 'workload-identity', tenantId: standIn.tenantId, clientId, tokenFile: forged };
    const sdk = await rejection(readWith(standIn, credential, 'bybit-api'));
    const err = mapAzureCredentialError(sdk, { backend: 'azure', credential: 'workload-identity' });
    expect(isCofreError(err, 'COFRE_BACKEND_DENIED')).toBe(true);
    expect(err?.message).toMatch(
      /^backend "azure" \(workload-identity credential\): Entra ID refused the sign-in/,
    );
    expect(err?.message).not.toContain('AADSTS');
    expect(requestsOf(clientId)).toEqual([]);
    expect(signInsOf(clientId)).toEqual([expect.stringMatching(/^40\d assertion$/)]);
  });
});
