import { describe, expect, it } from 'vitest';

import { CofreError } from '../errors.js';
import { parseConfig } from './load-config.js';
import { isLoopbackHost, vaultEnvironmentDefaults } from './vault-config.js';

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

  // Regression: http:// to any host was accepted, sending the token and the secret_id in clear.
  describe('plain http', () => {
    const backend = (address: string, extra = ''): string =>
      `backends:\n  vault:\n    type: vault\n    address: ${address}\n${extra}    auth:\n      method: token\n      tokenFile: t\n`;

    it('refuses http:// to a host that is not loopback, saying what to do', () => {
      const message = problems(backend('http://vault.example:8200'));
      expect(message).toContain('backends.vault.address');
      expect(message).toContain('in clear');
      expect(message).toContain('https://');
      expect(message).toContain('insecureHttp: true');
      expect(problems(backend('http://10.0.0.5:8200'))).toContain('in clear');
      expect(problems(backend('http://127.0.0.1.example.com:8200'))).toContain('in clear');
    });

    it('accepts https://, loopback http:// and an explicit insecureHttp: true', () => {
      for (const address of [
        'https://vault.example:8200',
        'http://127.0.0.1:8200',
        'http://127.8.9.10:8200',
        'http://localhost:8200',
        'http://[::1]:8200',
      ]) {
        expect(vaultOf(backend(address)).insecureHttp).toBe(false);
      }
      expect(vaultOf(backend('http://vault.example:8200', '    insecureHttp: true\n')).insecureHttp).toBe(
        true,
      );
    });

    it('knows loopback hosts as URL.hostname writes them', () => {
      expect(['localhost', '127.0.0.1', '127.255.0.1', '[::1]'].map(isLoopbackHost)).toEqual([
        true,
        true,
        true,
        true,
      ]);
      expect(['128.0.0.1', '127.0.0.1.nip.io', '[::2]', 'vault', '0.0.0.0'].some(isLoopbackHost)).toBe(false);
    });
  });

  it('caps responses at 1 MiB unless maxResponseSize says otherwise', () => {
    const base =
      'backends:\n  vault:\n    type: vault\n    address: https://v.example\n    auth:\n      method: token\n      tokenFile: t\n';
    expect(vaultOf(base).maxResponseSize).toBe(1024 * 1024);
    expect(vaultOf(`${base}    maxResponseSize: 4MiB\n`).maxResponseSize).toBe(4 * 1024 * 1024);
  });
});
