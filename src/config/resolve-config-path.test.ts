import { describe, expect, it } from 'vitest';

import { readEnv } from './read-env.js';
import { resolveConfigPath } from './resolve-config-path.js';

describe('resolveConfigPath', () => {
  it('prefers the --config flag over COFRE_CONFIG', () => {
    expect(resolveConfigPath('flag.yaml', { COFRE_CONFIG: 'env.yaml' })).toBe('flag.yaml');
  });

  it('uses COFRE_CONFIG when there is no flag', () => {
    expect(resolveConfigPath(undefined, { COFRE_CONFIG: '/etc/cofre/cofre.yaml' })).toBe(
      '/etc/cofre/cofre.yaml',
    );
  });

  it('falls back to ./cofre.yaml', () => {
    expect(resolveConfigPath(undefined, {})).toBe('./cofre.yaml');
  });

  it('treats an empty flag or variable as absent', () => {
    expect(resolveConfigPath('', { COFRE_CONFIG: '' })).toBe('./cofre.yaml');
    expect(resolveConfigPath('', { COFRE_CONFIG: 'env.yaml' })).toBe('env.yaml');
  });
});

describe('readEnv', () => {
  it('reads a variable, treating empty as unset', () => {
    expect(readEnv('A', { A: 'x' })).toBe('x');
    expect(readEnv('A', { A: '' })).toBeUndefined();
    expect(readEnv('A', {})).toBeUndefined();
  });
});
