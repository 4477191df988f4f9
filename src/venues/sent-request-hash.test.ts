import { describe, expect, it } from 'vitest';

import { sentRequestSha256 } from './sent-request-hash.js';

describe('sentRequestSha256', () => {
  it('is the SHA-256 of "<METHOD> <URL>\\n<body>", as sha256sum computes it', () => {
    // printf 'POST http://127.0.0.1:1/api/v3/order?a=1&signature=ab\nx=2' | sha256sum
    expect(sentRequestSha256('POST', 'http://127.0.0.1:1/api/v3/order?a=1&signature=ab', 'x=2')).toBe(
      'fdc515bf611857927437d3391e20282d999a84a0073bc0cbf775820ff26d4175',
    );
  });

  it('hashes an absent body as an empty one', () => {
    expect(sentRequestSha256('DELETE', 'http://h/x', undefined)).toBe(
      sentRequestSha256('DELETE', 'http://h/x', ''),
    );
  });
});
