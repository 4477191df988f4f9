import { describe, expect, it } from 'vitest';

import { isCofreError } from '../errors.js';
import { validateConfig } from './load-config.js';

const POLICIES = { trader: { rules: [{ allow: ['list_accounts'] }] } };

function problems(input: unknown): string {
  try {
    validateConfig(input);
  } catch (err) {
    expect(isCofreError(err, 'COFRE_CONFIG_INVALID')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected COFRE_CONFIG_INVALID');
}

describe('identity config (issue 17)', () => {
  it('reads OAuth issuers, exchange issuers and delegation with their defaults', () => {
    const config = validateConfig({
      policies: POLICIES,
      server: { publicUrl: 'https://cofre.example.com/' },
      agents: {
        oauth: [{ issuer: 'https://auth.example.com', rules: [{ agent: 'claude', policy: 'trader' }] }],
        exchange: [
          {
            issuer: 'https://token.actions.githubusercontent.com',
            audience: 'cofre',
            rules: [{ claims: { repository: 'acme/*' }, agent: 'gh-{repository_owner}', policy: 'trader' }],
          },
        ],
      },
    });
    expect(config.server.publicUrl).toBe('https://cofre.example.com');
    expect(config.agents.oauth[0]).toMatchObject({
      algorithms: ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'],
      clockSkew: 30_000,
      scopes: {
        read: 'cofre:read',
        trade: 'cofre:trade',
        withdraw: 'cofre:withdraw',
        services: 'cofre:services',
      },
    });
    expect(config.agents.exchange[0]?.tokenTtl).toBe(600_000);
    expect(config.agents.delegation).toEqual({ maxDepth: 3, maxTtl: 3_600_000 });
  });

  it('reports every problem at once, with its path', () => {
    const message = problems({
      policies: POLICIES,
      agents: {
        oauth: [
          {
            issuer: 'http://auth.example.com',
            algorithms: ['HS256'],
            rules: [{ agent: 'claude', policy: 'nope' }],
          },
        ],
        exchange: [{ issuer: 'https://k8s.example', audience: 'cofre', tokenTtl: '2d', rules: [] }],
      },
    });
    for (const expected of [
      'agents.oauth[0].issuer',
      'agents.oauth[0].algorithms[0]',
      'agents.oauth[0].rules[0].policy',
      'policy "nope" is not configured',
      'server.publicUrl',
      'agents.exchange[0].tokenTtl',
      'agents.exchange[0].rules',
    ]) {
      expect(message).toContain(expected);
    }
  });
});
