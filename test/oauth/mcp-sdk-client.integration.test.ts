// Issue 17, "must show": the official MCP TypeScript SDK client, given only a client id and secret registered at an
// authorization server no one here wrote (oidc-provider), connects to cofre's /mcp holding no token, follows the
// 401 to the protected resource metadata and the authorization server by itself, gets a token for cofre's resource
// (client credentials) and calls tools as the agent its token maps to. A token without `cofre:trade` places nothing.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  ClientCredentialsProvider,
  PrivateKeyJwtProvider,
} from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { MCPServerStreamableHttp } from '@openai/agents';
import { decodeJwt } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';

import { buyAtMarket } from '../resting-buy.js';
import { CLIENTS, OTHER_RESOURCE, type RegisteredClient, startOAuthFixture } from './oauth-fixture.js';

const oauth = await startOAuthFixture();
const clients: Client[] = [];
afterAll(async () => {
  for (const c of clients) await c.close();
  await oauth?.close();
});

/** One request the client made, as it left the client. */
interface Sent {
  readonly method: string;
  readonly url: string;
  readonly authorized: boolean;
  readonly body: string | undefined;
  readonly status: number;
}

/** The SDK client with nothing but `registered`'s id and secret; `sent` records every request it makes. */
async function connect(registered: RegisteredClient): Promise<{
  client: Client;
  provider: ClientCredentialsProvider;
  sent: Sent[];
}> {
  const sent: Sent[] = [];
  const recording = async (input: string | URL, init?: RequestInit): Promise<Response> => {
    const response = await fetch(input, init);
    sent.push({
      method: init?.method ?? 'GET',
      url: String(input),
      authorized: new Headers(init?.headers).get('authorization')?.startsWith('Bearer ') === true,
      body:
        typeof init?.body === 'string' || init?.body instanceof URLSearchParams
          ? String(init.body)
          : undefined,
      status: response.status,
    });
    return response;
  };
  const provider = new ClientCredentialsProvider({
    clientId: registered.clientId,
    clientSecret: registered.clientSecret,
    // What a trading agent asks for; the authorization server grants what the client may have.
    scope: 'cofre:read cofre:trade',
    expectedIssuer: oauth!.op.issuer,
  });
  const client = new Client({ name: `oauth-${registered.clientId}`, version: '0.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(oauth!.mcpUrl), { authProvider: provider, fetch: recording }),
  );
  clients.push(client);
  return { client, provider, sent };
}

async function call(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  return result.structuredContent ?? {};
}

let orders = 0;
function order(amount: string): Record<string, unknown> {
  return buyAtMarket(amount, `oauth-ts-${++orders}`);
}

describe.skipIf(oauth === undefined)('MCP TypeScript SDK client with client credentials', () => {
  it('discovers the authorization server from the 401, gets a token for /mcp and calls tools as its agent', async () => {
    const { client, provider, sent } = await connect(CLIENTS.tsTrader);
    const { mcpUrl, publicUrl, op } = oauth!;

    // The path it took, by itself: refused without a token, the metadata, the authorization server, a token.
    expect(sent[0]).toMatchObject({ method: 'POST', url: mcpUrl, authorized: false, status: 401 });
    const metadata = sent.find((s) => s.url.startsWith(`${publicUrl}/.well-known/oauth-protected-resource`));
    expect(metadata).toMatchObject({ status: 200 });
    const tokenRequest = sent.find((s) => s.url.startsWith(op.issuer) && s.method === 'POST');
    expect(tokenRequest).toMatchObject({ status: 200 });
    const form = new URLSearchParams(tokenRequest!.body);
    expect(form.get('grant_type')).toBe('client_credentials');
    expect(form.get('resource')).toBe(mcpUrl);
    expect(form.get('scope')).toBe('cofre:read cofre:trade');
    expect(sent.filter((s) => s.url === mcpUrl && s.authorized).every((s) => s.status < 400)).toBe(true);

    // What it holds is an access token for cofre's resource, from that server, with the client's scopes.
    expect(decodeJwt(provider.tokens()!.access_token)).toMatchObject({
      iss: op.issuer,
      aud: mcpUrl,
      client_id: 'ts-trader',
      scope: 'cofre:read cofre:trade',
    });

    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['get_balance', 'place_order']));
    expect(await call(client, 'get_balance', { account: 'paper' })).toMatchObject({
      status: 'executed',
      result: { balance: { assets: { USDT: { free: '100000' } } } },
    });
    const placed = await call(client, 'place_order', order('0.001'));
    expect(placed).toMatchObject({ status: 'executed' });

    // The exchange got the order, and the audit log has it as the agent the token's client_id maps to.
    expect(
      oauth!.fx.paper.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/order')),
    ).toHaveLength(1);
    const intents = oauth!
      .auditRecords()
      .filter((r) => r['kind'] === 'intent' && r['agent'] === 'ts-trader' && r['action'] === 'place_order');
    expect(intents).toMatchObject([{ decision: 'allow', clientOrderId: 'oauth-ts-1' }]);

    // SECURITY: the access token (or its signature) is nowhere in what cofre wrote or sent on.
    const token = provider.tokens()!.access_token;
    const signature = token.split('.')[2]!;
    const written = [
      readFileSync(join(oauth!.fx.dir, 'audit.jsonl'), 'utf8'),
      oauth!.fx.logLines.join(''),
      JSON.stringify(oauth!.fx.paper.requests()),
    ].join('\n');
    expect(written).toContain('oauth-ts-1'); // they do hold this call
    expect(written).not.toContain(signature);
  });

  it('refuses place_order for a token without cofre:trade, and nothing reaches the exchange', async () => {
    const { client, provider } = await connect(CLIENTS.reader);
    expect(decodeJwt(provider.tokens()!.access_token)).toMatchObject({
      client_id: 'reader',
      scope: 'cofre:read',
    });
    expect(await call(client, 'get_balance', { account: 'paper' })).toMatchObject({ status: 'executed' });

    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('get_balance');
    expect(names).not.toContain('place_order');

    // Called anyway: a tool error naming the scope, and nothing reaches the exchange.
    const before = oauth!.fx.paper.requests().length;
    const refused = (await client.callTool({
      name: 'place_order',
      arguments: order('0.001'),
    })) as CallToolResult;
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent).toMatchObject({ error: { code: 'COFRE_INSUFFICIENT_SCOPE' } });
    expect(oauth!.fx.paper.requests()).toHaveLength(before);
    const intents = oauth!
      .auditRecords()
      .filter((r) => r['agent'] === 'reader' && r['action'] === 'place_order');
    expect(intents.every((r) => r['decision'] !== 'allow')).toBe(true);
  });
});

describe.skipIf(oauth === undefined)('MCP TypeScript SDK client with a key instead of a secret', () => {
  it('gets its token with a signed client assertion (private_key_jwt) and calls a tool as its agent', async () => {
    const { keyClient, mcpUrl, op } = oauth!;
    const provider = new PrivateKeyJwtProvider({
      clientId: keyClient.clientId,
      privateKey: keyClient.privateKey,
      algorithm: 'ES256',
      scope: 'cofre:read',
      expectedIssuer: op.issuer,
    });
    const client = new Client({ name: 'oauth-keyed', version: '0.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }));
    clients.push(client);
    expect(decodeJwt(provider.tokens()!.access_token)).toMatchObject({ aud: mcpUrl, client_id: 'keyed' });
    expect(await call(client, 'get_balance', { account: 'paper' })).toMatchObject({ status: 'executed' });
    const reads = oauth!
      .auditRecords()
      .filter((r) => r['agent'] === 'keyed' && r['action'] === 'get_balance');
    expect(reads.length).toBeGreaterThan(0);
  });
});

describe.skipIf(oauth === undefined)('a token the same server issued for another resource', () => {
  it('is refused at /mcp with invalid_token, and nothing runs (RFC 8707 audience binding)', async () => {
    const { op, mcpUrl } = oauth!;
    const { tsTrader } = CLIENTS;
    const issued = await fetch(op.tokenEndpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${tsTrader.clientId}:${tsTrader.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        resource: OTHER_RESOURCE,
        scope: 'cofre:read cofre:trade',
      }),
    });
    const { access_token: token } = (await issued.json()) as { access_token: string };
    expect(decodeJwt(token)).toMatchObject({ iss: op.issuer, aud: OTHER_RESOURCE, client_id: 'ts-trader' });

    const before = oauth!.fx.paper.requests().length;
    const answer = await fetch(mcpUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'place_order', arguments: order('0.001') },
      }),
    });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    expect(await answer.text()).not.toContain(token);
    expect(oauth!.fx.paper.requests()).toHaveLength(before);
  });
});

describe.skipIf(oauth === undefined)(
  'OpenAI Agents SDK (JavaScript) MCP server with an auth provider',
  () => {
    it('connects with the SDK client-credentials provider and calls a tool, no token configured', async () => {
      const server = new MCPServerStreamableHttp({
        name: 'cofre',
        url: oauth!.mcpUrl,
        authProvider: new ClientCredentialsProvider({
          clientId: CLIENTS.agentsJs.clientId,
          clientSecret: CLIENTS.agentsJs.clientSecret,
          scope: 'cofre:read',
          expectedIssuer: oauth!.op.issuer,
        }),
      });
      await server.connect();
      try {
        expect((await server.listTools()).map((t) => t.name)).toContain('get_balance');
        const result = await server.callToolResult('get_balance', { account: 'paper' });
        expect(result.structuredContent).toMatchObject({ status: 'executed' });
      } finally {
        await server.close();
      }
      // The read ran as the agent the token maps to.
      const reads = oauth!
        .auditRecords()
        .filter((r) => r['agent'] === 'agents-js' && r['action'] === 'get_balance');
      expect(reads.length).toBeGreaterThan(0);
    });
  },
);
