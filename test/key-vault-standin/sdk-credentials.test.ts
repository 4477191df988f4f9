/**
 * Every credential kind the backend offers, through the official SDK against the stand-in: the stand-in's token
 * endpoints must answer what @azure/identity (msal-node) sends, and the vault must accept only what they issue.
 * The App Service route has its own file: msal-node picks the managed-identity source (and its endpoint URL) once
 * per process, on the first managed-identity token request.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  type TokenCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { type KeyVaultStandIn, startKeyVaultStandIn } from './index.js';

let standIn: KeyVaultStandIn;
let dir: string;

beforeAll(async () => {
  standIn = await startKeyVaultStandIn();
  dir = mkdtempSync(join(tmpdir(), 'kv-standin-cred-'));
});
afterAll(async () => {
  await standIn.stop();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.unstubAllEnvs();
});

function client(credential: TokenCredential): SecretClient {
  return new SecretClient(standIn.vaultUrl, credential, {
    disableChallengeResourceVerification: true,
    retryOptions: { maxRetries: 0 },
  });
}

const entra = () => ({ authorityHost: standIn.authorityHost, disableInstanceDiscovery: true });

/** A certificate and key in one PEM file, as ClientCertificateCredential reads it. */
function certificatePem(name: string): string {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  const result = spawnSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  expect(result.status).toBe(0);
  return `${readFileSync(key, 'utf8')}${readFileSync(cert, 'utf8')}`;
}

async function roundTrip(c: SecretClient, name: string): Promise<void> {
  await c.setSecret(name, `value-of-${name}`);
  expect((await c.getSecret(name)).value).toBe(`value-of-${name}`);
}

describe('key-vault stand-in credentials through the SDK', () => {
  it('user-assigned managed identity over IMDS, by client id', async () => {
    const clientId = standIn.addUserAssignedIdentity('secrets-officer');
    vi.stubEnv('AZURE_POD_IDENTITY_AUTHORITY_HOST', standIn.imdsHost);
    await roundTrip(client(new ManagedIdentityCredential(clientId)), 'user-assigned');
    expect(standIn.requests.at(-1)?.clientId).toBe(clientId);
    expect(
      standIn.tokenRequests.filter((t) => t.endpoint === 'imds' && t.clientId === clientId),
    ).toHaveLength(1);
  });

  it('service principal with a client secret through the Entra v2 token endpoint', async () => {
    const clientId = standIn.addServicePrincipal({ secret: 's3cret-value' }, 'secrets-officer');
    await roundTrip(
      client(new ClientSecretCredential(standIn.tenantId, clientId, 's3cret-value', entra())),
      'sp-secret',
    );
    expect(standIn.tokenRequests.at(-1)).toMatchObject({
      endpoint: 'entra',
      clientId,
      assertion: false,
      status: 200,
    });
  });

  it('a wrong client secret is refused with 401 invalid_client and never reaches the vault', async () => {
    const clientId = standIn.addServicePrincipal({ secret: 'right' }, 'secrets-officer');
    const before = standIn.requests.filter((r) => r.clientId === clientId).length;
    await expect(
      client(new ClientSecretCredential(standIn.tenantId, clientId, 'wrong', entra())).getSecret('sp-secret'),
    ).rejects.toThrow(/invalid_client|AADSTS7000215/);
    expect(standIn.tokenRequests.at(-1)).toMatchObject({ endpoint: 'entra', clientId, status: 401 });
    expect(standIn.requests.filter((r) => r.clientId === clientId)).toHaveLength(before);
  });

  it('service principal with a certificate (client assertion checked against the registered certificate)', async () => {
    const pem = certificatePem('sp-cert');
    const clientId = standIn.addServicePrincipal({ certificatePem: pem }, 'secrets-officer');
    const credential = new ClientCertificateCredential(
      standIn.tenantId,
      clientId,
      { certificate: pem },
      entra(),
    );
    await roundTrip(client(credential), 'sp-cert');
    expect(standIn.tokenRequests.at(-1)).toMatchObject({
      endpoint: 'entra',
      clientId,
      assertion: true,
      status: 200,
    });
  });

  it('a certificate other than the registered one is refused', async () => {
    const clientId = standIn.addServicePrincipal(
      { certificatePem: certificatePem('registered') },
      'secrets-officer',
    );
    const other = certificatePem('other');
    const credential = new ClientCertificateCredential(
      standIn.tenantId,
      clientId,
      { certificate: other },
      entra(),
    );
    await expect(client(credential).getSecret('sp-cert')).rejects.toThrow(/invalid_client|AADSTS700027/);
    expect(standIn.tokenRequests.at(-1)).toMatchObject({ endpoint: 'entra', clientId, status: 401 });
  });

  it('workload identity with a federated token file', async () => {
    const { clientId, tokenFile } = await standIn.addWorkloadIdentity('secrets-officer');
    const credential = new WorkloadIdentityCredential({
      tenantId: standIn.tenantId,
      clientId,
      tokenFilePath: tokenFile,
      ...entra(),
    });
    await roundTrip(client(credential), 'workload');
    expect(standIn.tokenRequests.at(-1)).toMatchObject({
      endpoint: 'entra',
      clientId,
      assertion: true,
      status: 200,
    });
  });

  it('a secrets-user can read but not write (403 ForbiddenByRbac), and none cannot read', async () => {
    const officer = standIn.addServicePrincipal({ secret: 'o' }, 'secrets-officer');
    await client(new ClientSecretCredential(standIn.tenantId, officer, 'o', entra())).setSecret('rbac', 'v');
    const user = standIn.addServicePrincipal({ secret: 'u' }, 'secrets-user');
    const userClient = client(new ClientSecretCredential(standIn.tenantId, user, 'u', entra()));
    expect((await userClient.getSecret('rbac')).value).toBe('v');
    await expect(userClient.setSecret('rbac', 'w')).rejects.toMatchObject({
      statusCode: 403,
      code: 'Forbidden',
    });
    standIn.grant(user, 'none');
    await expect(userClient.getSecret('rbac')).rejects.toMatchObject({ statusCode: 403, code: 'Forbidden' });
  });
});
