/**
 * Opens the backend on the Key Vaults its integration tests run against, the same way: the project's stand-in
 * (always; it runs in the test process) and lowkey-vault where `LOWKEY_VAULT_JAR` names its jar. Both are reached
 * with managed identity over the IMDS route (`AZURE_POD_IDENTITY_AUTHORITY_HOST`), through the official SDK.
 */
import { vi } from 'vitest';

import {
  type AzureKeyVaultBackendConfig,
  azureKeyVaultBackendSchema,
} from '../../../config/backend-config.js';
import type { SecretBackend } from '../../secret-backend.js';
import { AzureKeyVaultBackend, type AzureKeyVaultOpenOptions } from '../azure-key-vault-backend.js';

/**
 * One vault to test against; the test files start it (`startKeyVaultStandIn()`, `startLowkeyVault()` from test/,
 * which src/ code may not import).
 */
export interface KeyVaultPeer {
  readonly label: string;
  readonly vaultUrl: string;
  /** Set as `AZURE_POD_IDENTITY_AUTHORITY_HOST`. */
  readonly imdsHost: string;
  /** The stand-in's Entra authority; absent for lowkey-vault (managed identity needs none). */
  readonly authorityHost?: string;
}

/** True where lowkey-vault's jar is named, so its tests run (elsewhere they are skipped, as in peers.integration). */
export const LOWKEY_ENABLED = (process.env['LOWKEY_VAULT_JAR'] ?? '') !== '';

/** The parsed config block for `peer`, with managed identity; `overrides` set any other field. */
export function peerConfig(
  peer: KeyVaultPeer,
  overrides: Record<string, unknown> = {},
): AzureKeyVaultBackendConfig {
  return azureKeyVaultBackendSchema.parse({
    type: 'azure-key-vault',
    vaultUrl: peer.vaultUrl,
    credential: { type: 'managed-identity' },
    verifyChallengeResource: false,
    instanceDiscovery: false,
    ...(peer.authorityHost === undefined ? {} : { authorityHost: peer.authorityHost }),
    ...overrides,
  });
}

/**
 * Opens the backend on `peer` with managed identity over IMDS. The env var is stubbed for the test (call
 * `vi.unstubAllEnvs()` after); the identity SDK reads it when the credential is built and when it asks for a token.
 */
export async function openOnPeer(
  peer: KeyVaultPeer,
  overrides: Record<string, unknown> = {},
  options: AzureKeyVaultOpenOptions = {},
  name = 'azure',
): Promise<SecretBackend> {
  vi.stubEnv('AZURE_POD_IDENTITY_AUTHORITY_HOST', peer.imdsHost);
  return AzureKeyVaultBackend.open(name, peerConfig(peer, overrides), {
    retryDelayMs: 20,
    deletePollMs: 50,
    ...options,
  });
}
