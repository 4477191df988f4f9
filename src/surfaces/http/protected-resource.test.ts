import { describe, expect, it } from 'vitest';

import { validateConfig } from '../../config/load-config.js';
import { protectedResourceOf, resourceMetadataUrl } from './protected-resource.js';

const oauth = [{ issuer: 'https://auth.example.com', rules: [{ agent: 'claude', policy: 'p' }] }];
const config = (server: Record<string, unknown>, agents: Record<string, unknown> = {}) =>
  validateConfig({ server, agents, policies: { p: { rules: [{ allow: ['get_ticker'] }] } } });

describe('protected resource (RFC 9728)', () => {
  it('is one only with a public URL and at least one OAuth issuer', () => {
    expect(protectedResourceOf(config({}))).toBeUndefined();
    expect(protectedResourceOf(config({ publicUrl: 'https://cofre.example.com' }))).toBeUndefined();
    expect(protectedResourceOf(config({ publicUrl: 'https://cofre.example.com/' }, { oauth }))).toMatchObject(
      {
        publicUrl: 'https://cofre.example.com',
        issuers: [{ issuer: 'https://auth.example.com', scopes: { trade: 'cofre:trade' } }],
      },
    );
  });

  it('names the metadata of /mcp for /mcp and of the API for every other path, after any path of publicUrl', () => {
    const root = protectedResourceOf(config({ publicUrl: 'https://cofre.example.com' }, { oauth }))!;
    expect(resourceMetadataUrl(root, '/mcp')).toBe(
      'https://cofre.example.com/.well-known/oauth-protected-resource/mcp',
    );
    expect(resourceMetadataUrl(root, '/mcp?x=1')).toBe(
      'https://cofre.example.com/.well-known/oauth-protected-resource/mcp',
    );
    expect(resourceMetadataUrl(root, '/v1/actions/place_order')).toBe(
      'https://cofre.example.com/.well-known/oauth-protected-resource',
    );
    const under = protectedResourceOf(config({ publicUrl: 'https://example.com/cofre' }, { oauth }))!;
    expect(resourceMetadataUrl(under, '/mcp')).toBe(
      'https://example.com/.well-known/oauth-protected-resource/cofre/mcp',
    );
  });
});
