// The provider peer issues what the OAuth tests rely on: RFC 9068 JWT access tokens bound to the resource asked
// for, with only the scopes the client is allowed, and nothing for a resource it does not know.
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';

import { peerOrSkip } from '../peer-or-skip.js';
import { startOidcProvider } from './oidc-provider-peer.js';

const RESOURCE = 'http://127.0.0.1:1/mcp';
const op = await peerOrSkip('oidc-provider', () =>
  startOidcProvider({
    resources: [RESOURCE],
    clients: [
      { clientId: 'full', clientSecret: 'full-secret', scopes: ['cofre:read', 'cofre:trade'] },
      {
        clientId: 'reader',
        clientSecret: 'reader-secret',
        authMethod: 'client_secret_post',
        scopes: ['cofre:read'],
      },
    ],
  }),
);
afterAll(() => op?.stop());

async function tokenRequest(params: Record<string, string>, basic?: string): Promise<Response> {
  return fetch(op!.tokenEndpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(basic === undefined ? {} : { authorization: `Basic ${Buffer.from(basic).toString('base64')}` }),
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...params }),
  });
}

describe.skipIf(op === undefined)('oidc-provider peer', () => {
  it('issues a JWT access token bound to the resource, with the scopes the client may have', async () => {
    const answer = await tokenRequest(
      { resource: RESOURCE, scope: 'cofre:read cofre:trade cofre:withdraw' },
      'full:full-secret',
    );
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { access_token: string; scope: string };
    expect(body.scope).toBe('cofre:read cofre:trade');
    expect(decodeProtectedHeader(body.access_token)).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
    const discovery = (await (await fetch(`${op!.issuer}/.well-known/openid-configuration`)).json()) as {
      jwks_uri: string;
    };
    const { payload } = await jwtVerify(body.access_token, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
      issuer: op!.issuer,
      audience: RESOURCE,
    });
    expect(payload).toMatchObject({ client_id: 'full', sub: 'full', scope: 'cofre:read cofre:trade' });
  });

  it('gives a client only its own scopes (client_secret_post)', async () => {
    const answer = await tokenRequest({
      resource: RESOURCE,
      scope: 'cofre:read cofre:trade',
      client_id: 'reader',
      client_secret: 'reader-secret',
    });
    expect(((await answer.json()) as { scope: string }).scope).toBe('cofre:read');
  });

  it('refuses a resource it does not serve, and a wrong secret', async () => {
    const other = await tokenRequest({ resource: 'http://127.0.0.1:2/mcp' }, 'full:full-secret');
    expect(other.status).toBe(400);
    expect(await other.json()).toMatchObject({ error: 'invalid_target' });
    const wrong = await tokenRequest({ resource: RESOURCE }, 'full:not-the-secret');
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_client' });
  });
});
