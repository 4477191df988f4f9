import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { OAuthIssuerConfig } from '../config/identity-config.js';
import type { OAuthVerifier } from './agent-authenticator.js';
import { createOAuthVerifier } from './oauth-verifier.js';

// The claims-to-agent side of the verifier, with an issuer whose key set this file serves on loopback. Signatures,
// audiences, expiry and the refusals are exercised end to end against OpenBao in
// test/oauth-resource/oauth-resource.integration.test.ts.

const PUBLIC_URL = 'https://cofre.example.com';
const ISSUER = 'https://auth.example.com';
const NOW = new Date('2026-11-30T12:00:00Z');
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

let server: Server;
let sign: (claims: Record<string, unknown>, audience?: string) => Promise<string>;
let jwks: string;

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const key = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [key] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwks = `http://127.0.0.1:${(server.address() as AddressInfo).port}/keys`;
  sign = (claims, audience = PUBLIC_URL) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(audience)
      .setSubject('user-7')
      .setIssuedAt(seconds(NOW) - 10)
      .setExpirationTime(seconds(NOW) + 300)
      .sign(privateKey);
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function verifier(overrides: Partial<OAuthIssuerConfig> = {}): OAuthVerifier {
  return createOAuthVerifier(
    [
      {
        issuer: ISSUER,
        jwks,
        algorithms: ['ES256'],
        clockSkew: 0,
        scopes: {
          read: 'cofre:read',
          trade: 'cofre:trade',
          withdraw: 'cofre:withdraw',
          services: 'x:services',
          wallet: 'cofre:wallet',
          encryption: 'cofre:encryption',
        },
        rules: [
          { claims: { azp: 'desktop' }, agent: 'oa-{team}', policy: 'trader' },
          { claims: { azp: 'ci' }, agent: 'ci-bot', policy: 'reader' },
        ],
        ...overrides,
      },
    ],
    PUBLIC_URL,
  );
}

describe('createOAuthVerifier', () => {
  it('maps a token to the agent and policy of the first matching rule, with the classes its scopes grant', async () => {
    const token = await sign({ azp: 'desktop', team: 'alpha', scope: 'openid cofre:read cofre:trade' });
    const agent = await verifier().verify(token, NOW);
    expect(agent).toEqual({
      id: 'oa-alpha',
      policy: 'trader',
      via: 'oauth',
      actionClasses: new Set(['read', 'trade']),
      credential: {
        kind: 'oauth',
        issuer: ISSUER,
        subject: 'user-7',
        expiresAt: new Date((seconds(NOW) + 300) * 1000),
      },
    });
    // SECURITY: the agent holds nothing of the token (no passthrough, nothing kept past the request).
    expect(JSON.stringify({ ...agent, actionClasses: [...agent.actionClasses!] })).not.toContain(
      token.split('.')[2],
    );
  });

  it('reads `scp` (a list), maps each class by its configured scope, and grants nothing without scopes', async () => {
    const scp = await verifier().verify(
      await sign({ azp: 'ci', scp: ['x:services', 'cofre:withdraw'] }),
      NOW,
    );
    expect(scp.actionClasses).toEqual(new Set(['services', 'withdraw']));
    // The default name of the services scope is not the one this issuer uses.
    const wrongName = await verifier().verify(await sign({ azp: 'ci', scope: 'cofre:services' }), NOW);
    expect(wrongName.actionClasses).toEqual(new Set());
    const none = await verifier().verify(await sign({ azp: 'ci' }), NOW);
    expect(none.actionClasses).toEqual(new Set());
  });

  it('accepts by default tokens for the API and for /mcp, and with `audience` set only those', async () => {
    const forMcp = await sign({ azp: 'ci' }, `${PUBLIC_URL}/mcp`);
    expect((await verifier().verify(forMcp, NOW)).id).toBe('ci-bot');
    await expect(verifier().verify(await sign({ azp: 'ci' }, 'https://other.example'), NOW)).rejects.toThrow(
      /another audience/,
    );
    const narrowed = verifier({ audience: [`${PUBLIC_URL}/mcp`] });
    expect((await narrowed.verify(forMcp, NOW)).id).toBe('ci-bot');
    await expect(narrowed.verify(await sign({ azp: 'ci' }), NOW)).rejects.toThrow(/another audience/);
  });

  it('refuses a valid token no rule maps, or whose template makes no valid agent id, saying so', async () => {
    await expect(verifier().verify(await sign({ azp: 'web' }), NOW)).rejects.toMatchObject({
      code: 'COFRE_UNAUTHENTICATED',
      message: expect.stringMatching(/no rule of agents\.oauth maps its claims/),
    });
    await expect(verifier().verify(await sign({ azp: 'desktop', team: 'Not An Id' }), NOW)).rejects.toThrow(
      /no rule/,
    );
  });

  it('refuses a token of an issuer not configured, and one naming no issuer, before fetching any key', async () => {
    const other = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer('https://evil.example')
      .sign((await generateKeyPair('ES256')).privateKey);
    await expect(verifier().verify(other, NOW)).rejects.toMatchObject({
      code: 'COFRE_UNAUTHENTICATED',
      message: expect.stringMatching(/issuer "https:\/\/evil\.example" is not trusted/),
    });
    const anonymous = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256' })
      .sign((await generateKeyPair('ES256')).privateKey);
    await expect(verifier().verify(anonymous, NOW)).rejects.toThrow(/names no issuer/);
  });

  it("refuses an expired token by cofre's clock", async () => {
    const token = await sign({ azp: 'ci' });
    await expect(verifier().verify(token, new Date(NOW.getTime() + 301_000))).rejects.toThrow(/expired/);
  });
});
