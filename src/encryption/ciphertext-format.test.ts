import { describe, expect, it } from 'vitest';

import { isCofreError } from '../errors.js';
import { bodyOf, formatCiphertext } from './ciphertext-format.js';

const refusal = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    return isCofreError(err, 'COFRE_DECRYPT_REFUSED') ? err.message : undefined;
  }
  return undefined;
};

describe('ciphertext format', () => {
  it('names the key kind and keeps the body as it is', () => {
    const text = formatCiphertext('transit', 'vault:v2:abc=');
    expect(text).toBe('cofre:v1:transit:vault:v2:abc=');
    expect(bodyOf(text, 'transit')).toBe('vault:v2:abc=');
  });

  it('refuses another kind, another format, an unknown kind or an empty body, quoting none of it', () => {
    expect(refusal(() => bodyOf('cofre:v1:kms:QUJD', 'embedded'))).toContain('made by a kms key');
    expect(refusal(() => bodyOf('vault:v1:QUJD', 'transit'))).toContain('not a cofre ciphertext');
    expect(refusal(() => bodyOf('cofre:v1:rot13:QUJD', 'kms'))).toContain('no known key kind');
    expect(refusal(() => bodyOf('cofre:v1:kms:', 'kms'))).toContain('empty');
    expect(refusal(() => bodyOf('cofre:v1:kms:SECRETBODY', 'transit'))).not.toContain('SECRETBODY');
  });
});
