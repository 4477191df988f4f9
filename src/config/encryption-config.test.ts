import { describe, expect, it } from 'vitest';

import { CofreError } from '../errors.js';
import { listSecretReferences } from './config-schema.js';
import { parseConfig } from './load-config.js';

const BACKENDS = [
  'backends:',
  '  local: { type: embedded, path: s.store, keyFile: s.key }',
  '  vault: { type: vault, address: "http://127.0.0.1:8200", auth: { method: token, tokenFile: t } }',
];

function problems(lines: readonly string[]): string {
  try {
    parseConfig([...BACKENDS, ...lines, ''].join('\n'), { sourcePath: 'c.yaml' });
  } catch (err) {
    if (err instanceof CofreError) return err.message;
    throw err;
  }
  throw new Error('expected an invalid config');
}

describe('encryptionKeys config', () => {
  it('reads the three kinds of key, with the Transit mount by default', () => {
    const config = parseConfig(
      [
        ...BACKENDS,
        'encryptionKeys:',
        '  notes: { type: transit, backend: vault, key: cofre-data }',
        '  kms: { type: aws-kms, keyId: alias/cofre-data, region: eu-central-1 }',
        '  dev: { type: embedded, secret: "local:keys/dev" }',
        '',
      ].join('\n'),
      { sourcePath: 'c.yaml' },
    );
    expect(config.encryptionKeys['notes']).toEqual({
      type: 'transit',
      backend: 'vault',
      mount: 'transit',
      key: 'cofre-data',
    });
    expect(config.encryptionKeys['kms']).toMatchObject({ keyId: 'alias/cofre-data', region: 'eu-central-1' });
    expect(listSecretReferences(config).map((r) => r.reference)).toContain('local:keys/dev');
  });

  it('reports every mistake at once, each with its path', () => {
    const message = problems([
      'encryptionKeys:',
      '  a: { type: transit, backend: nowhere, key: k }',
      '  b: { type: transit, backend: local, key: k }',
      '  c: { type: transit, backend: vault, key: "bad key" }',
      '  d: { type: aws-kms, region: moon-1 }',
      '  e: { type: embedded, secret: "not a reference" }',
      '  f: { type: rot13 }',
      '  g: { type: embedded, secret: "local:k", extra: 1 }',
    ]);
    for (const path of [
      'encryptionKeys.a.backend',
      'encryptionKeys.b.backend',
      'encryptionKeys.c.key',
      'encryptionKeys.d.keyId',
      'encryptionKeys.d.region',
      'encryptionKeys.e.secret',
      'encryptionKeys.f.type',
      'encryptionKeys.g',
    ]) {
      expect(message).toContain(path);
    }
    expect(message).toContain('backend "nowhere" is not configured');
    expect(message).toContain('not a vault backend');
  });
});
