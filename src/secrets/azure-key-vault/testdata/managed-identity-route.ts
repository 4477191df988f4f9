/**
 * What every managed-identity token route (IMDS on VMs; App Service, Functions and Container Apps) must show
 * against the stand-in, through the official SecretClient: the system-assigned and a user-assigned identity sign
 * in, an identity the platform does not know is refused without retry, an identity without a role gets one 403,
 * and DefaultAzureCredential reaches the route.
 *
 * Each route runs in its own test file: msal-node picks the managed-identity source once per process, from the
 * environment of the first sign-in, and keeps it (`ManagedIdentityClient.identitySource` is static).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import type { KeyVaultStandIn } from '../../../../test/key-vault-standin/index.js';
import { isCofreError } from '../../../errors.js';
import { mapAzureCredentialError } from '../map-azure-credential-error.js';
import { isolateAzureIdentity } from './identity-environment.js';
import {
  readWith,
  recordingCredential,
  rejection,
  secretClient,
  standInConfig,
  tokenRequestsOf,
  vaultRequestsOf,
} from './stand-in-client.js';

/** A managed-identity token route and how the environment names it. */
export type ManagedIdentityRoute = 'imds' | 'app-service';

/** The route's suite, set up; `standIn()` is the running stand-in, `secret` holds `value`. */
export interface ManagedIdentityRouteFixture {
  readonly standIn: () => KeyVaultStandIn;
  readonly secret: string;
  readonly value: string;
}

function useRoute(route: ManagedIdentityRoute, standIn: KeyVaultStandIn, tools: string): void {
  isolateAzureIdentity(tools);
  if (route === 'imds') {
    vi.stubEnv('AZURE_POD_IDENTITY_AUTHORITY_HOST', standIn.imdsHost);
  } else {
    vi.stubEnv('IDENTITY_ENDPOINT', standIn.appService.endpoint);
    vi.stubEnv('IDENTITY_HEADER', standIn.appService.header);
  }
}

/**
 * Registers the hooks and the shared tests of `route`; the file adds its own tests with the returned fixture.
 * `start` is `startKeyVaultStandIn`, passed in by the test file (code under src/ may not import test/).
 */
export function managedIdentityRouteSuite(
  route: ManagedIdentityRoute,
  start: () => Promise<KeyVaultStandIn>,
): ManagedIdentityRouteFixture {
  const secret = `${route}-api`;
  const value = `value-for-${route}`;
  let standIn: KeyVaultStandIn;
  let tools: string;
  const requestsOf = (clientId: string) => vaultRequestsOf(standIn, clientId);

  beforeAll(async () => {
    standIn = await start();
    tools = mkdtempSync(join(tmpdir(), `cofre-azure-${route}-`));
    useRoute(route, standIn, tools);
    const config = standInConfig(standIn, { type: 'managed-identity' });
    await secretClient(standIn, await recordingCredential(config), config).setSecret(secret, value);
    vi.unstubAllEnvs();
  });
  afterAll(async () => {
    await standIn.stop();
    rmSync(tools, { recursive: true, force: true });
  });
  beforeEach(() => {
    useRoute(route, standIn, tools);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    standIn.setTokenLifetime(3600);
  });

  describe(`managed identity over ${route}`, () => {
    it('signs in as the system-assigned identity', async () => {
      const before = requestsOf(standIn.systemAssignedClientId).length;
      expect(await readWith(standIn, { type: 'managed-identity' }, secret)).toBe(value);
      expect(requestsOf(standIn.systemAssignedClientId).length).toBe(before + 1);
    });

    it('signs in as a user-assigned identity named by its client id', async () => {
      const clientId = standIn.addUserAssignedIdentity('secrets-user');
      expect(await readWith(standIn, { type: 'managed-identity', clientId }, secret)).toBe(value);
      expect(requestsOf(clientId).map((r) => `${r.method} ${r.status}`)).toEqual(['GET 200']);
      expect(tokenRequestsOf(standIn, clientId)).toEqual([`${route} 200`]);
    });

    it('refuses an identity the platform does not know as COFRE_BACKEND_DENIED, naming backend and kind', async () => {
      const unknown = `0badc0de-0000-4000-8000-00000000000${route === 'imds' ? 0 : 1}`;
      const sdk = await rejection(readWith(standIn, { type: 'managed-identity', clientId: unknown }, secret));
      const err = mapAzureCredentialError(sdk, {
        backend: 'azure',
        credential: 'managed-identity',
        reference: `azure:${secret}`,
      });
      expect(isCofreError(err, 'COFRE_BACKEND_DENIED')).toBe(true);
      expect(err?.message).toMatch(
        new RegExp(
          `^backend "azure" \\(managed-identity credential\\) reading azure:${secret}: Entra ID refused the sign-in \\(HTTP 400.*; check that the managed identity is enabled`,
        ),
      );
      expect(err?.message).not.toContain('Identity not found');
      expect(requestsOf(unknown)).toEqual([]);
      expect(tokenRequestsOf(standIn, unknown)).toEqual([`${route} 400`]); // asked once: not retried
    });

    it('is refused by the vault, once and without retry, when the identity has no role (role none: 403)', async () => {
      const clientId = standIn.addUserAssignedIdentity('none');
      const sdk = await rejection(readWith(standIn, { type: 'managed-identity', clientId }, secret));
      expect(sdk.statusCode).toBe(403);
      // Not a sign-in failure: the backend's own mapper turns Key Vault's 403 into COFRE_BACKEND_DENIED.
      expect(
        mapAzureCredentialError(sdk, { backend: 'azure', credential: 'managed-identity' }),
      ).toBeUndefined();
      expect(requestsOf(clientId).map((r) => `${r.method} ${r.status}`)).toEqual(['GET 403']);
    });

    it('is what DefaultAzureCredential reaches when the environment holds no other credential', async () => {
      const before = requestsOf(standIn.systemAssignedClientId).length;
      expect(await readWith(standIn, { type: 'default' }, secret)).toBe(value);
      expect(requestsOf(standIn.systemAssignedClientId).length).toBe(before + 1);
    });
  });

  return { standIn: () => standIn, secret, value };
}
