import { describe, expect, it } from 'vitest';

import type { ServiceConfig } from '../../config/config-schema.js';
import { parseAuthority } from './egress-proxy.js';
import { headerHolds, newPlaceholder, swapBytes, swapHeader, swapTarget } from './placeholder-swap.js';
import { pathAllowed, type RunService, serviceTarget } from './run-service.js';

const P = newPlaceholder('news');

describe('placeholders', () => {
  it('are recognisable, random and made of characters no encoder changes', () => {
    expect(P).toMatch(/^cofre-placeholder-news-[0-9a-f]{32}$/);
    expect(newPlaceholder('news')).not.toBe(P);
    expect(encodeURIComponent(P)).toBe(P);
    expect(JSON.stringify(P)).toBe(`"${P}"`);
  });
});

describe('the swap', () => {
  it('replaces every occurrence in a body, byte for byte, and leaves a body without one as it is', () => {
    const body = Buffer.from(`{"a":"${P}","b":"x${P}y"}`);
    expect(swapBytes(body, P, Buffer.from('s3cr3t')).toString()).toBe('{"a":"s3cr3t","b":"xs3cr3ty"}');
    const none = Buffer.from([0, 255, 1]);
    expect(swapBytes(none, P, Buffer.from('v'))).toBe(none);
  });

  it('URL-encodes the value in a request target', () => {
    expect(swapTarget(`/v1/posts?auth_token=${P}&q=1`, P, 'a&b=c')).toBe(
      '/v1/posts?auth_token=a%26b%3Dc&q=1',
    );
  });

  it('swaps inside a header and inside Authorization: Basic', () => {
    expect(swapHeader('X-Api-Key', `Bearer ${P}`, P, 'v')).toBe('Bearer v');
    const basic = `Basic ${Buffer.from(`me:${P}`).toString('base64')}`;
    expect(headerHolds('Authorization', basic, P)).toBe(true);
    const swapped = swapHeader('Authorization', basic, P, 'pw');
    expect(Buffer.from(swapped.slice('Basic '.length), 'base64').toString()).toBe('me:pw');
    expect(headerHolds('Accept', 'text/plain', P)).toBe(false);
  });
});

describe('destinations', () => {
  it('parses CONNECT authorities and refuses malformed ones', () => {
    expect(parseAuthority('API.example.com:443')).toEqual({ host: 'api.example.com', port: 443 });
    expect(parseAuthority('[::1]:8443')).toEqual({ host: '::1', port: 8443 });
    for (const bad of ['example.com', 'example.com:0', 'example.com:70000', 'a b:443', 'user@host:443', '']) {
      expect(parseAuthority(bad), bad).toBeUndefined();
    }
  });

  it('keeps requests under the base path and inside the path globs', () => {
    const service = {
      ...serviceTarget('https://cryptopanic.com/api/developer/v2/'),
      config: { paths: ['/posts/*', '/news/**'] } as unknown as ServiceConfig,
    } as RunService;
    expect(service).toMatchObject({ host: 'cryptopanic.com', port: 443, basePath: '/api/developer/v2' });
    expect(pathAllowed(service, '/api/developer/v2/posts/')).toBe(true);
    expect(pathAllowed(service, '/api/developer/v2/news/a/b')).toBe(true);
    expect(pathAllowed(service, '/api/developer/v2/posts/a/b')).toBe(false);
    expect(pathAllowed(service, '/api/developer/v2x/posts/')).toBe(false);
    expect(pathAllowed(service, '/api/developer/v2/news/../../admin')).toBe(false);
    expect(pathAllowed(service, '/other')).toBe(false);
  });
});
