import { createHmac } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { auditHmac } from './audit-hmac.js';

const key = Buffer.alloc(32, 7);

describe('auditHmac', () => {
  it('is HMAC-SHA256 of the framed input, prefixed', () => {
    const expected = createHmac('sha256', key)
      .update('cofre-audit-hmac\nreference\nlocal:exchanges/binance#apiKey')
      .digest('hex');
    expect(auditHmac(key, 'reference', 'local:exchanges/binance#apiKey')).toBe(`hmac-sha256:${expected}`);
  });

  it('gives the same result for a string and its UTF-8 bytes', () => {
    expect(auditHmac(key, 'value', 'é')).toBe(auditHmac(key, 'value', Buffer.from('é', 'utf8')));
  });

  it('separates kinds and keys', () => {
    expect(auditHmac(key, 'value', 'x')).not.toBe(auditHmac(key, 'reference', 'x'));
    expect(auditHmac(key, 'value', 'x')).not.toBe(auditHmac(Buffer.alloc(32, 8), 'value', 'x'));
  });
});
