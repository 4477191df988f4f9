import { describe, expect, it } from 'vitest';

import { AuditHasher, HMAC_UNAVAILABLE } from './audit-hasher.js';
import { auditHmac } from './audit-hmac.js';

// Computed outside cofre: printf 'cofre-audit-hmac\nreference\nlocal:exchanges/binance#secret' \
//   | openssl dgst -sha256 -hmac k   (and `value` for the second)
const REFERENCE_VECTOR = '375173a0d31a0a1c2607e4a6ebeb21ff25522731fea082dc48ec8e9333bf6c30';
const VALUE_VECTOR = 'f5a35c36303fc7c3b34c0ce44ab355dfb718977f6f4964f1d8edde113758747f';
const REF = 'local:exchanges/binance#secret';

describe('auditHmac', () => {
  it('is HMAC-SHA256 over the framed message, as openssl computes it', () => {
    expect(auditHmac(Buffer.from('k'), 'reference', REF)).toBe(`hmac-sha256:${REFERENCE_VECTOR}`);
    expect(auditHmac(Buffer.from('k'), 'value', Buffer.from(REF))).toBe(`hmac-sha256:${VALUE_VECTOR}`);
  });

  it('separates kinds and keys', () => {
    const key = Buffer.alloc(32, 7);
    expect(auditHmac(key, 'reference', REF)).not.toBe(auditHmac(key, 'value', REF));
    expect(auditHmac(key, 'reference', REF)).not.toBe(auditHmac(Buffer.alloc(32, 8), 'reference', REF));
  });
});

describe('AuditHasher', () => {
  it('HMACs with its own copy of the key', () => {
    const key = Buffer.from('k');
    const hasher = new AuditHasher(key);
    key.fill(0); // the caller zeroes its copy
    expect(hasher.available).toBe(true);
    expect(hasher.reference(REF)).toBe(`hmac-sha256:${REFERENCE_VECTOR}`);
    expect(hasher.value(REF)).toBe(`hmac-sha256:${VALUE_VECTOR}`);
  });

  it('records identifiers as [unavailable] without a key, never in the clear', () => {
    const hasher = new AuditHasher(undefined);
    expect(hasher.available).toBe(false);
    expect(hasher.reference(REF)).toBe(HMAC_UNAVAILABLE);
    expect(hasher.value('x')).toBe(HMAC_UNAVAILABLE);
  });

  it('forgets the key when zeroed', () => {
    const hasher = new AuditHasher(Buffer.from('k'));
    hasher.zero();
    hasher.zero();
    expect(hasher.available).toBe(false);
    expect(hasher.reference(REF)).toBe(HMAC_UNAVAILABLE);
  });
});
