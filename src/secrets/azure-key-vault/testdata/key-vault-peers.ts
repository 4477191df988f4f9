/**
 * The Key Vaults the backend's integration tests run against, opened the same way: the project's stand-in (always;
 * it runs in the test process) and lowkey-vault where `LOWKEY_VAULT_JAR` names its jar. Both are reached with
 * managed identity over the IMDS route (`AZURE_POD_IDENTITY_AUTHORITY_HOST`), through the official SDK.
 */
import { vi } from 'vitest';

import { type KeyVaultStandIn, startKeyVaultStandIn } from '../../../../test/key-vault-standin/index.js';
import { startLowkeyVault } from '../../../../test/peers/peers.js';
import {
  type AzureKeyVaultBackendConfig,
  azureKeyVaultBackendSchema,
} from '../../../config/backend-config.js';
import type { SecretBackend } from '../../secret-backend.js';
import { AzureKeyVaultBackend, type AzureKeyVaultOpenOptions } from '../azure-key-vault-backend.js';

/** One vault to test against. */
export interface KeyVaultPeer {
  readonly label: string;
  readonly vaultUrl: string;
  /** Set as `AZURE_POD_IDENTITY_AUTHORITY_HOST`. */
  readonly imdsHost: string;
  /** Present for the stand-in: faults, request log, roles. */
  readonly standIn?: KeyVaultStandIn;
  stop(): Promise<void>;
}

/** Starts the stand-in. */
export async function standInPeer(): Promise<KeyVaultPeer> {
  const standIn = await startKeyVaultStandIn();
  return {
    label: 'stand-in',
    vaultUrl: standIn.vaultUrl,
    imdsHost: standIn.imdsHost,
    standIn,
    stop: () => standIn.stop(),
  };
}

/** True where lowkey-vault's jar is named, so its tests run (elsewhere they are skipped, as in peers.integration). */
export const LOWKEY_ENABLED = (process.env['LOWKEY_VAULT_JAR'] ?? '') !== '';

/** Starts lowkey-vault (its certificate must be trusted through NODE_EXTRA_CA_CERTS before Node starts). */
export async function lowkeyPeer(): Promise<KeyVaultPeer> {
  const lowkey = await startLowkeyVault();
  return {
    label: 'lowkey-vault',
    vaultUrl: lowkey.vaultUrl,
    imdsHost: lowkey.tokenBaseUrl,
    stop: () => lowkey.stop(),
  };
}

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
    ...(peer.standIn === undefined ? {} : { authorityHost: peer.standIn.authorityHost }),
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
