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

function imdsClient(): SecretClient {
  vi.stubEnv('AZURE_POD_IDENTITY_AUTHORITY_HOST', standIn.imdsHost);
  return new SecretClient(standIn.vaultUrl, new ManagedIdentityCredential(), {
    disableChallengeResourceVerification: true,
    retryOptions: { maxRetries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 50 },
  });
}

function requestsFor(path: string): number[] {
  return standIn.requests.filter((r) => r.url.startsWith(path)).map((r) => r.status);
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

  it('lists versions across pages (nextLink) and secrets', async () => {
    const client = imdsClient();
    for (let i = 0; i < 30; i += 1) await client.setSecret('many-versions', `v${i}`);
    const versions: string[] = [];
    for await (const p of client.listPropertiesOfSecretVersions('many-versions'))
      versions.push(p.version ?? '');
    expect(new Set(versions).size).toBe(30);
    expect(requestsFor('/secrets/many-versions/versions').filter((s) => s === 200)).toHaveLength(2);
    const names: string[] = [];
    for await (const p of client.listPropertiesOfSecrets()) names.push(p.name);
    expect(names).toEqual(expect.arrayContaining(['binance-key', 'many-versions']));
  });

  it('soft delete, recover and purge through the SDK pollers', async () => {
    const client = imdsClient();
    await client.setSecret('to-delete', 'v');
    const deleted = await (await client.beginDeleteSecret('to-delete', { intervalInMs: 10 })).pollUntilDone();
    expect(deleted.recoveryId).toBe(`${standIn.vaultUrl}/deletedsecrets/to-delete`);
    await expect(client.setSecret('to-delete', 'w')).rejects.toMatchObject({ statusCode: 409 });
    await (await client.beginRecoverDeletedSecret('to-delete', { intervalInMs: 10 })).pollUntilDone();
    expect((await client.getSecret('to-delete')).value).toBe('v');
    await (await client.beginDeleteSecret('to-delete', { intervalInMs: 10 })).pollUntilDone();
    await client.purgeDeletedSecret('to-delete');
    expect((await client.setSecret('to-delete', 'fresh')).value).toBe('fresh');
  });

  it('the SDK retries a 429 (honouring Retry-After) and a dropped connection; the log counts each try', async () => {
    const client = imdsClient();
    await client.setSecret('retried', 'v');
    standIn.injectFault({
      fault: { kind: 'throttle', retryAfterSeconds: 1 },
      method: 'GET',
      pathPrefix: '/secrets/retried',
    });
    expect((await client.getSecret('retried')).value).toBe('v');
    expect(requestsFor('/secrets/retried/')).toEqual([429, 200]);
    standIn.injectFault({ fault: { kind: 'drop' }, method: 'GET', pathPrefix: '/secrets/retried' });
    expect((await client.getSecret('retried')).value).toBe('v');
    expect(requestsFor('/secrets/retried/')).toEqual([429, 200, 0, 200]);
  });
});
