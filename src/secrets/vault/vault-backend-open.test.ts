// Regression: the vault backend opened over plain http:// to any host, including an address from BAO_ADDR /
// VAULT_ADDR that the config schema never sees, and sent the token and secret_id in clear.
import { describe, expect, it } from 'vitest';

import { validateConfig } from '../../config/load-config.js';
import { CofreError } from '../../errors.js';
import { VaultBackend } from './vault-backend.js';

function vaultBackendConfig(backend: Record<string, unknown>) {
  const parsed = validateConfig({
    backends: { vault: { type: 'vault', auth: { method: 'token', tokenFile: '/nonexistent' }, ...backend } },
  }).backends['vault'];
  if (parsed?.type !== 'vault') throw new Error('not a vault backend');
  return parsed;
}

describe('VaultBackend.open over plain http', () => {
  it('refuses a non-loopback http:// address from the environment before sending anything', async () => {
    let sent = 0;
    const countingFetch: typeof fetch = () => {
      sent++;
      return Promise.reject(new Error('nothing may be sent'));
    };
    const open = VaultBackend.open('vault', vaultBackendConfig({ kvVersion: 2 }), {
      env: { VAULT_ADDR: 'http://vault.example:8200' },
      fetch: countingFetch,
    });
    await expect(open).rejects.toThrow(CofreError);
    await expect(open).rejects.toMatchObject({ code: 'COFRE_CONFIG_INVALID' });
    await expect(open).rejects.toThrow(/in clear.*insecureHttp: true/);
    expect(sent).toBe(0);
  });

  it('opens with insecureHttp: true, or to a loopback address (no request is needed with kvVersion set)', async () => {
    for (const [config, env] of [
      [{ kvVersion: 2, insecureHttp: true }, { VAULT_ADDR: 'http://vault.example:8200' }],
      [{ kvVersion: 2 }, { BAO_ADDR: 'http://127.0.0.1:8200' }],
    ] as const) {
      const backend = await VaultBackend.open('vault', vaultBackendConfig(config), { env });
      await backend.close();
    }
  });
});
