// Issue 17: cofre as an OAuth 2.0 protected resource (MCP authorization, RFC 9728 / 8707 / 6750 / 9068), served as
// `cofre serve` runs it, with OpenBao's identity tokens as the authorization server (an issuer no one here wrote).
// Valid tokens run actions over HTTP and /mcp; every bad token is refused with a clear error, and the paper exchange
// counts that nothing reached it.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { decodeJwt, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ServedFixture, startServedBroker } from '../e2e/served-broker.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { freePort, type OpenBaoPeer, startOpenBao } from '../peers/peers.js';
import { type OpenBaoIssuer, openBaoIssuer } from './openbao-issuer.js';

// cofre's resource identifier: what it is called behind a proxy, not the loopback port the test server listens on.
const PUBLIC_URL = 'http://localhost:7770';
const METADATA = `${PUBLIC_URL}/.well-known/oauth-protected-resource`;

const bao: OpenBaoPeer | undefined = await peerOrSkip('OpenBao', () => startOpenBao());

describe.skipIf(bao === undefined)('cofre as an OAuth protected resource (OpenBao issues the tokens)', () => {
  let fx: ServedFixture;
  let openbao: OpenBaoIssuer;
  let deadIssuer: string;
  const clients: Client[] = [];
  /** Every token a test handed to cofre, to look for in logs and the audit log at the end. */
  const presented: string[] = [];

  beforeAll(async () => {
    openbao = await openBaoIssuer(bao!, 'claude');
    await openbao.role('trader', { clientId: PUBLIC_URL, scope: 'cofre:read cofre:trade' });
    await openbao.role('mcp', { clientId: `${PUBLIC_URL}/mcp`, scope: 'cofre:read cofre:trade' });
    await openbao.role('reader', { clientId: PUBLIC_URL, scope: 'cofre:read' });
    // Nothing listens there: an issuer that is down.
    deadIssuer = `http://127.0.0.1:${await freePort()}/down`;
    fx = await startServedBroker((url, credentials) => [
      `server: { publicUrl: "${PUBLIC_URL}/" }`,
      'accounts:',
      `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
      'agents:',
      '  oauth:',
      `    - issuer: "${openbao.issuer}"`,
      '      clockSkew: 1s',
      '      rules:',
      '        - { claims: { cofre_agent: claude }, agent: "{cofre_agent}", policy: trader }',
      `    - issuer: "${deadIssuer}"`,
      '      rules: [{ agent: ghost, policy: trader }]',
      'policies:',
      '  trader:',
      '    rules:',
      '      - name: look',
      '        allow: [get_balance]',
      '        accounts: [paper]',
      '      - name: small',
      '        allow: [place_order]',
      '        accounts: [paper]',
      '        maxNotional: 500',
    ]);
  });

  afterAll(async () => {
    for (const c of clients) await c.close();
    await fx?.close();
    await bao?.stop();
  });

  let next = 0;
  const order = () => ({
    account: 'paper',
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'limit',
    price: '50000',
    amount: '0.001',
    clientOrderId: `oauth-${++next}`,
  });
  const ordersAtExchange = () => fx.paper.requests().filter((r) => r.path === '/api/v3/order').length;

  /** POST an action with `token` over a real socket; the answer's status, headers and body. */
  async function act(action: string, token: string | undefined, body: unknown = order()) {
    if (token !== undefined) presented.push(token);
    const response = await fetch(`${fx.url}/v1/actions/${action}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      challenge: response.headers.get('www-authenticate'),
      text,
      body: JSON.parse(text) as Record<string, unknown> & {
        error?: { code: string; message: string; retryable: boolean };
      },
    };
  }

  async function mcpClient(token: string): Promise<Client> {
    presented.push(token);
    const client = new Client({ name: 'oauth-agent', version: '0.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${fx.url}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      }),
    );
    clients.push(client);
    return client;
  }

  /** Expects `action` with `token` refused with 401 invalid_token, a message matching `reason`, nothing sent. */
  async function expectRefused(token: string, reason: RegExp): Promise<void> {
    const before = ordersAtExchange();
    const answer = await act('place_order', token);
    expect(answer.status).toBe(401);
    expect(answer.body.error?.code).toBe('COFRE_UNAUTHENTICATED');
    expect(answer.body.error?.message).toMatch(reason);
    expect(answer.challenge).toContain('error="invalid_token"');
    expect(answer.challenge).toContain(`resource_metadata="${METADATA}"`);
    expect(ordersAtExchange()).toBe(before);
  }

  it('runs an order for a token OpenBao issued for cofre, as the agent its rule names, over HTTP', async () => {
    const token = await openbao.token('trader');
    const before = ordersAtExchange();
    const answer = await act('place_order', token);
    expect(answer.status).toBe(200);
    expect(answer.body['status']).toBe('executed');
    expect(ordersAtExchange()).toBe(before + 1);
    const audit = readFileSync(join(fx.dir, 'audit.jsonl'), 'utf8');
    expect(audit).toContain(`"${answer.body['requestId'] as string}"`);
    expect(audit).toContain('"claude"');
  });

  it('runs a tool for a token issued for cofre /mcp, through the official MCP client', async () => {
    const client = await mcpClient(await openbao.token('mcp'));
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['place_order', 'get_balance']));
    const before = ordersAtExchange();
    const result = (await client.callTool({ name: 'place_order', arguments: order() })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    expect((result.structuredContent as { status: string }).status).toBe('executed');
    expect(ordersAtExchange()).toBe(before + 1);
  });

  it('answers 401 without a token with a challenge naming the resource metadata (the /mcp form for /mcp)', async () => {
    const api = await act('place_order', undefined);
    expect(api.status).toBe(401);
    expect(api.challenge).toBe(`Bearer realm="cofre", resource_metadata="${METADATA}"`);
    const mcp = await fetch(`${fx.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(mcp.status).toBe(401);
    expect(mcp.headers.get('www-authenticate')).toBe(
      `Bearer realm="cofre", resource_metadata="${METADATA}/mcp"`,
    );
  });

  it('publishes Protected Resource Metadata (RFC 9728) for the API and for /mcp, without authentication', async () => {
    for (const [path, resource] of [
      ['/.well-known/oauth-protected-resource', PUBLIC_URL],
      ['/.well-known/oauth-protected-resource/mcp', `${PUBLIC_URL}/mcp`],
    ] as const) {
      const response = await fetch(`${fx.url}${path}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        resource,
        authorization_servers: [openbao.issuer, deadIssuer],
        scopes_supported: ['cofre:read', 'cofre:trade', 'cofre:withdraw', 'cofre:services'],
        bearer_methods_supported: ['header'],
        resource_name: 'cofre',
      });
    }
  });
});
