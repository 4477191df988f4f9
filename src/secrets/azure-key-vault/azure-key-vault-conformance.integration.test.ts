import { afterAll, describe, vi } from 'vitest';

import { exerciseSecretBackend } from '../../testing/exercise-secret-backend.js';
import {
  type KeyVaultPeer,
  LOWKEY_ENABLED,
  lowkeyPeer,
  openOnPeer,
  standInPeer,
} from './testdata/key-vault-peers.js';

// The stand-in runs in this process and always starts: a failure to start fails the file, in CI and anywhere.
const standIn = await standInPeer();
const lowkey = LOWKEY_ENABLED ? await lowkeyPeer() : undefined;

afterAll(async () => {
  vi.unstubAllEnvs();
  await standIn.stop();
  await lowkey?.stop();
});

function harness(peer: KeyVaultPeer) {
  return async () => ({ backend: await openOnPeer(peer), separator: '-' });
}

describe('azure-key-vault against the Key Vault stand-in (through the SDK)', () => {
  exerciseSecretBackend('azure-key-vault (stand-in)', harness(standIn));
});

describe.skipIf(lowkey === undefined)('azure-key-vault against lowkey-vault (LOWKEY_VAULT_JAR)', () => {
  exerciseSecretBackend('azure-key-vault (lowkey-vault)', harness(lowkey!));
});
