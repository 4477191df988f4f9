import { describe, expect, it } from 'vitest';

import { serviceUrl } from './service-request.js';

describe('serviceUrl', () => {
  it("appends the agent's path to the base URL's path and its query after the base URL's own", () => {
    const url = serviceUrl('https://api.example.com/v2/?lang=en', '/posts/', [
      ['currencies', 'BTC'],
      ['q', 'a&b=c'],
    ]);
    expect(url.href).toBe('https://api.example.com/v2/posts/?lang=en&currencies=BTC&q=a%26b%3Dc');
  });

  it('keeps the host and port whatever the path holds', () => {
    for (const path of ['/@evil.com/x', '/:443@evil.com', '/x:y']) {
      const url = serviceUrl('https://api.example.com:8443/base', path, []);
      expect(url.origin).toBe('https://api.example.com:8443');
      expect(url.pathname.startsWith('/base/')).toBe(true);
    }
  });
});
