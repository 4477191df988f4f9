import { afterAll, describe, vi } from 'vitest';

import { startKeyVaultStandIn } from '../../../test/key-vault-standin/index.js';
import { startLowkeyVault } from '../../../test/peers/peers.js';
import { exerciseSecretBackend } from '../../testing/exercise-secret-backend.js';
import { type KeyVaultPeer, LOWKEY_ENABLED, openOnPeer } from './testdata/key-vault-peers.js';

// The stand-in runs in this process and always starts: a failure to start fails the file, in CI and anywhere.
const standIn = await startKeyVaultStandIn();
// lowkey-vault runs where LOWKEY_VAULT_JAR names its jar (skipped elsewhere, like peers.integration's lowkey test).
const lowkey = LOWKEY_ENABLED ? await startLowkeyVault() : undefined;

afterAll(async () => {
  vi.unstubAllEnvs();
  await standIn.stop();
  await lowkey?.stop();
});

function harness(peer: KeyVaultPeer, tlsCa?: string) {
  // Key Vault names hold no "/": the suite joins its run folder and leaf names with "-".
  return async () => ({
    backend: await openOnPeer(peer, {}, tlsCa === undefined ? {} : { tlsCa }),
    separator: '-',
  });
}

describe('azure-key-vault against the Key Vault stand-in (through the SDK)', () => {
  exerciseSecretBackend('azure-key-vault (stand-in)', harness({ label: 'stand-in', ...standIn }));
});

describe.skipIf(lowkey === undefined)('azure-key-vault against lowkey-vault (LOWKEY_VAULT_JAR)', () => {
  exerciseSecretBackend(
    'azure-key-vault (lowkey-vault)',
    harness({
      label: 'lowkey-vault',
      vaultUrl: lowkey?.vaultUrl ?? '',
      imdsHost: lowkey?.tokenBaseUrl ?? '',
    }),
  );
});
