import { describe, expect, it } from 'vitest';

import { CofreError } from '../errors.js';
import { parseConfig } from './load-config.js';
import { vaultEnvironmentDefaults } from './vault-config.js';

function vaultOf(yaml: string, sourcePath = '/etc/cofre/cofre.yaml') {
  const backend = parseConfig(yaml, { sourcePath }).backends['vault'];
  if (backend?.type !== 'vault') throw new Error('not a vault backend');
  return backend;
}

function problems(yaml: string): string {
  try {
    parseConfig(yaml, { sourcePath: 'c.yaml' });
  } catch (err) {
    if (err instanceof CofreError) return err.message;
    throw err;
  }
  throw new Error('expected an invalid config');
}

describe('vault backend config', () => {
  it('fills defaults and resolves the auth files against the config directory', () => {
    const backend = vaultOf(
      'backends:\n  vault:\n    type: vault\n    address: https://vault.example:8200\n    auth:\n      method: approle\n      roleIdFile: creds/role-id\n      secretIdFile: /run/secret-id\n',
    );
    expect(backend).toMatchObject({
      mount: 'secret',
      timeout: 10_000,
      retry: { maxAttempts: 3, baseDelay: 100, maxDelay: 1_000, maxElapsed: 2_000 },
      circuitBreaker: { failureThreshold: 5, resetTimeout: 10_000 },
      auth: {
        method: 'approle',
        mount: 'approle',
        roleIdFile: '/etc/cofre/creds/role-id',
        secretIdFile: '/run/secret-id',
      },
    });
    expect(backend.kvVersion).toBeUndefined();
  });

  it('wants exactly one secret_id source, and a role with a wrapped one', () => {
    const base =
      'backends:\n  vault:\n    type: vault\n    auth:\n      method: approle\n      roleIdFile: r\n';
    expect(problems(base)).toContain('no secret_id source');
    expect(problems(`${base}      secretIdFile: s\n      wrappedSecretIdFile: w\n`)).toContain('not both');
    expect(problems(`${base}      wrappedSecretIdFile: w\n`)).toContain('wrappedSecretIdFile needs role');
  });

  it('rejects an unknown auth method and a kvVersion other than 1 or 2', () => {
    const message = problems(
      'backends:\n  vault:\n    type: vault\n    kvVersion: 3\n    auth:\n      method: userpass\n',
    );
    expect(message).toContain('backends.vault.kvVersion');
    expect(message).toContain('backends.vault.auth.method');
  });

  it('reads BAO_* before VAULT_* and treats empty as unset', () => {
    expect(
      vaultEnvironmentDefaults({ BAO_ADDR: 'http://bao:8200', VAULT_ADDR: 'http://vault:8200' }).address,
    ).toBe('http://bao:8200');
    expect(
      vaultEnvironmentDefaults({
        BAO_ADDR: '',
        VAULT_ADDR: 'http://vault:8200',
        VAULT_NAMESPACE: 'ns',
        VAULT_CACERT: '/ca.pem',
      }),
    ).toEqual({ address: 'http://vault:8200', namespace: 'ns', caFile: '/ca.pem' });
    expect(vaultEnvironmentDefaults({})).toEqual({
      address: undefined,
      namespace: undefined,
      caFile: undefined,
    });
  });
});
