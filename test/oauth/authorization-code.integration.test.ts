// Issue 17: the flow interactive MCP clients (Claude) run, with the official MCP TypeScript SDK's `auth()`: from
// cofre's 401 to the authorization server, dynamic client registration (RFC 7591), authorization code with PKCE
// and the `resource` indicator, a person's login and consent at oidc-provider's own pages (filled in by this test in
// place of a browser), the code exchanged for a token bound to /mcp, then tools called as that person's agent.
import { type OAuthClientProvider, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { decodeJwt } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';

import { PERSON, startOAuthFixture } from './oauth-fixture.js';

const oauth = await startOAuthFixture();
afterAll(() => oauth?.close());

// Never listened on: the test reads the code off the provider's last redirect, as a browser would hand it over.
const REDIRECT = 'http://127.0.0.1:1/callback';

/** An interactive client's state, in memory: what Claude keeps for a connector. */
class InteractiveClient implements OAuthClientProvider {
  authorizationUrl: URL | undefined;
  private info: OAuthClientInformationMixed | undefined;
  private saved: OAuthTokens | undefined;
  private verifier = '';

  get redirectUrl(): string {
    return REDIRECT;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'interactive MCP client',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
    } as OAuthClientMetadata;
  }
  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.info = info;
  }
  tokens(): OAuthTokens | undefined {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens): void {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL): void {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }
  codeVerifier(): string {
    return this.verifier;
  }
}

/**
 * What a browser does with the authorization URL: follows the provider's redirects with its cookies, signs in as
 * `login` on the login page and presses Continue on the consent page, until the provider redirects to the client.
 * Returns that redirect's query (code, state, iss).
 */
async function signInAndConsent(authorizationUrl: URL, login: string): Promise<URLSearchParams> {
  const cookies = new Map<string, string>();
  let next: { url: string; form?: URLSearchParams } = { url: authorizationUrl.href };
  for (let step = 0; step < 12; step++) {
    const response = await fetch(next.url, {
      method: next.form === undefined ? 'GET' : 'POST',
      redirect: 'manual',
      headers: {
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(next.form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      ...(next.form === undefined ? {} : { body: next.form }),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const location = response.headers.get('location');
    if (location !== null) {
      const target = new URL(location, next.url);
      if (target.href.startsWith(REDIRECT)) return target.searchParams;
      next = { url: target.href };
      continue;
    }
    const page = await response.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(page)?.[1];
    const prompt = /name="prompt" value="([a-z]+)"/.exec(page)?.[1];
    if (response.status !== 200 || action === undefined) {
      throw new Error(`unexpected page from the provider (${response.status}): ${page.slice(0, 500)}`);
    }
    const form =
      prompt === 'login'
        ? new URLSearchParams({ prompt, login, password: 'any' })
        : new URLSearchParams({ prompt: prompt ?? '' });
    next = { url: new URL(action, next.url).href, form };
  }
  throw new Error('the provider never redirected back to the client');
}

describe.skipIf(oauth === undefined)('MCP TypeScript SDK client, authorization code with PKCE', () => {
  it('registers, sends the person to log in, exchanges the code for a /mcp token and calls tools as them', async () => {
    const { mcpUrl, op } = oauth!;
    const provider = new InteractiveClient();

    // First attempt: no token; the SDK registers itself and asks to send the person to the authorization server.
    const first = new Client({ name: 'interactive', version: '0.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
    await expect(first.connect(transport)).rejects.toThrow(UnauthorizedError);
    const url = provider.authorizationUrl!;
    expect(url.origin).toBe(op.issuer);
    expect(url.searchParams.get('resource')).toBe(mcpUrl);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(provider.clientInformation()?.client_id).toEqual(expect.any(String));

    const redirect = await signInAndConsent(url, PERSON.login);
    expect(redirect.get('state')).toBe(url.searchParams.get('state'));
    await transport.finishAuth(redirect.get('code')!);
    expect(decodeJwt(provider.tokens()!.access_token)).toMatchObject({
      iss: op.issuer,
      aud: mcpUrl,
      sub: PERSON.login,
      scope: 'cofre:read cofre:trade',
    });

    // Connected again with the token it now holds.
    const client = new Client({ name: 'interactive', version: '0.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }));
    try {
      const balance = (await client.callTool({
        name: 'get_balance',
        arguments: { account: 'paper' },
      })) as CallToolResult;
      expect(balance.structuredContent).toMatchObject({ status: 'executed' });
    } finally {
      await client.close();
    }
    const reads = oauth!
      .auditRecords()
      .filter((r) => r['agent'] === PERSON.agent && r['action'] === 'get_balance');
    expect(reads.length).toBeGreaterThan(0);
  });
});
