import { describe, expect, it } from 'vitest';

import { isCofreError } from '../../errors.js';
import { isKeyVaultVersion, keyVaultSecretName, suggestName } from './key-vault-name.js';

describe('Key Vault names', () => {
  it.each(['binance', 'binance-api', 'A1-b2', 'x'.repeat(127)])('accepts %s', (name) => {
    expect(keyVaultSecretName('azure', name)).toBe(name);
  });

  it.each([
    ['binance_api', 'binance-api'],
    ['prod/binance.key', 'prod-binance-key'],
    ['_x_', 'x'],
  ])('refuses %s, naming %s instead', (name, suggestion) => {
    let err: unknown;
    try {
      keyVaultSecretName('azure', name);
    } catch (e) {
      err = e;
    }
    expect(isCofreError(err, 'COFRE_REFERENCE_INVALID')).toBe(true);
    expect((err as Error).message).toContain(`"${suggestion}" (azure:${suggestion})`);
    expect((err as Error).message).toContain('letters, digits and dashes');
  });

  it('refuses names that are too long or have no usable character, without quoting odd input', () => {
    expect(() => keyVaultSecretName('azure', 'x'.repeat(128))).toThrow(
      /128 characters long; Key Vault allows 127/,
    );
    expect(() => keyVaultSecretName('azure', '')).toThrow(/letters, digits and dashes/);
    expect(() => keyVaultSecretName('azure', 'with space\u0007')).toThrow(/of 11 characters/);
    expect(suggestName('___')).toBeUndefined();
  });

  it('knows a version id: 32 hex digits', () => {
    expect(isKeyVaultVersion('0123456789abcdef0123456789ABCDEF')).toBe(true);
    expect(isKeyVaultVersion('999999')).toBe(false);
    expect(isKeyVaultVersion('g123456789abcdef0123456789abcdef')).toBe(false);
  });
});
