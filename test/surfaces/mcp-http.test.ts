// MCP Streamable HTTP at /mcp with the official MCP client against a real broker and the paper exchange.
import type { AddressInfo } from 'node:net';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ACTION_NAMES, actionDescriptions } from '../../src/broker/actions.js';
import { createHttpServer } from '../../src/surfaces/http/http-server.js';
import { DATA_NOTICE } from '../../src/surfaces/mcp/mcp-tool-result.js';
import { leaks } from '../invariants/canary.js';
import { ALL_ACTIONS, startSurfaceFixture, type SurfaceFixture } from './surface-fixture.js';

let fx: SurfaceFixture;
let app: FastifyInstance;
let base: string;
let trader: string;
let reader: string;
const clients: Client[] = [];
const seen: string[] = [];

beforeAll(async () => {
  fx = await startSurfaceFixture();
  trader = (await fx.issue('mcp-trader', 'trader')).token;
  reader = (await fx.issue('mcp-reader', 'reader')).token;
  app = createHttpServer({ broker: fx.broker, state: fx.state, logger: fx.logger, bodyLimit: 65_536 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await app.close();
  await fx.close();
});

async function connect(token: string): Promise<Client> {
  const client = new Client({ name: 'cofre-test', version: '0.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  clients.push(client);
  return client;
}

async function tool(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  seen.push(JSON.stringify(result));
  return result;
}

function body(result: CallToolResult): Record<string, unknown> {
  const first = result.content[0];
  if (first?.type !== 'text') throw new Error('expected text content');
  const [notice, json] = first.text.split('\n', 2);
  expect(notice).toBe(DATA_NOTICE);
  return JSON.parse(json ?? '') as Record<string, unknown>;
}

describe('MCP over Streamable HTTP', () => {
  it("lists the actions the agent's policy allows as tools, with description and input schema", async () => {
    const client = await connect(trader);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...ALL_ACTIONS, 'get_request'].sort());
    for (const t of tools) {
      expect(t.description).toBe(actionDescriptions[t.name as keyof typeof actionDescriptions]);
      expect(t.inputSchema.type).toBe('object');
    }
    const place = tools.find((t) => t.name === 'place_order');
    expect(place?.inputSchema.required).toContain('clientOrderId');
    expect(place?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(client.getInstructions()).toContain('not instructions');
  });

  // Issue 9: a model is not shown tools its policy can never allow.
  it('lists no tool the policy cannot allow', async () => {
    const client = await connect(reader);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['get_balance', 'get_request', 'list_accounts']);
    expect(ACTION_NAMES.length).toBeGreaterThan(tools.length);
  });

  it('runs list_accounts and says the result is data, not instructions', async () => {
    const client = await connect(trader);
    const result = await tool(client, 'list_accounts', {});
    expect(result.isError).toBe(false);
    expect(body(result)).toMatchObject({
      status: 'executed',
      result: { accounts: [{ account: 'paper', venue: 'binance', mode: 'paper' }] },
    });
    expect(result.structuredContent).toMatchObject({ notice: DATA_NOTICE, status: 'executed' });
  });

  it('answers a denied call as an error result naming the rule', async () => {
    const client = await connect(reader);
    const result = await tool(client, 'get_ticker', { account: 'paper', symbol: 'BTC/USDT' });
    expect(result.isError).toBe(true);
    expect(body(result)).toMatchObject({
      status: 'denied',
      rule: 'default-deny',
      reason: expect.any(String),
    });
  });

  it('answers bad input as an error result, sending nothing', async () => {
    const client = await connect(trader);
    const before = fx.paper.orders().length;
    for (const args of [
      {
        account: 'paper\n',
        symbol: 'BTC/USDT',
        side: 'buy',
        type: 'market',
        amount: '1',
        clientOrderId: 'x1',
      },
      {
        account: 'paper',
        symbol: 'BTC/USDT',
        side: 'buy',
        type: 'market',
        amount: '-1',
        clientOrderId: 'x2',
      },
      {
        account: 'paper',
        symbol: 'BTC/USDT',
        side: 'buy',
        type: 'market',
        amount: '1e30',
        clientOrderId: 'x3',
      },
      { account: 'paper', symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: '1' },
    ]) {
      const result = await tool(client, 'place_order', args);
      expect(result.isError, JSON.stringify(args)).toBe(true);
      expect(body(result), JSON.stringify(args)).toMatchObject({ error: { code: 'COFRE_INPUT_INVALID' } });
    }
    expect(fx.paper.orders()).toHaveLength(before);
  });

  it("answers another agent's request id like a missing one, with the cofre code", async () => {
    const mine = await connect(trader);
    const requestId = body(await tool(mine, 'list_accounts', {}))['requestId'] as string;
    const other = await connect(reader);
    const result = await tool(other, 'get_request', { requestId });
    expect(result.isError).toBe(true);
    expect(body(result)).toMatchObject({ error: { code: 'COFRE_REQUEST_NOT_FOUND' } });
    expect(result.content[0]?.type === 'text' && result.content[0].text).not.toContain('at ');
  });

  it('balance, place, query and cancel on the paper exchange', async () => {
    const client = await connect(trader);
    const balance = await tool(client, 'get_balance', { account: 'paper' });
    expect(body(balance)).toMatchObject({
      status: 'executed',
      result: { balance: { assets: { BTC: { free: '2' } } } },
    });

    const order = {
      account: 'paper',
      symbol: 'BTC/USDT',
      side: 'sell',
      type: 'limit',
      amount: 0.5,
      price: '70000',
      clientOrderId: 'mcp-http-1',
    };
    const placed = await tool(client, 'place_order', order);
    expect(placed.isError).toBe(false);
    expect(body(placed)).toMatchObject({
      status: 'executed',
      result: { order: { clientOrderId: 'mcp-http-1', status: 'open' } },
    });
    const again = await tool(client, 'place_order', order);
    expect(body(again)).toEqual({ ...body(placed), replayed: true });
    expect(fx.paper.orders().filter((o) => o.clientOrderId === 'mcp-http-1')).toHaveLength(1);

    const got = await tool(client, 'get_order', {
      account: 'paper',
      symbol: 'BTC/USDT',
      clientOrderId: 'mcp-http-1',
    });
    expect(body(got)).toMatchObject({ result: { order: { status: 'open', amount: '0.5' } } });

    const cancelled = await tool(client, 'cancel_order', {
      account: 'paper',
      symbol: 'BTC/USDT',
      clientOrderId: 'mcp-http-1',
    });
    expect(body(cancelled)).toMatchObject({ status: 'executed', result: { order: { status: 'canceled' } } });

    const signed = fx.paper.requests().filter((r) => r.signed);
    expect(signed.length).toBeGreaterThan(0);
    expect(signed.every((r) => r.verified)).toBe(true);
  });

  it('is stateless: no session id, so nothing can be carried to another token', async () => {
    const r = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${trader}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'raw', version: '0' },
        },
      }),
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('mcp-session-id')).toBeNull();
    await r.text();

    // A request made with a session id header from elsewhere still runs as the token's own agent.
    const asReader = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${reader}`,
        'mcp-session-id': 'session-of-someone-else',
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'get_ticker', arguments: { account: 'paper', symbol: 'BTC/USDT' } },
      }),
    });
    const answer = (await asReader.json()) as { result?: CallToolResult };
    expect(answer.result?.isError).toBe(true);
    expect(answer.result?.structuredContent).toMatchObject({ status: 'denied' });
  });

  it('answers a missing or bad token on /mcp with 401 and WWW-Authenticate', async () => {
    for (const authorization of [
      undefined,
      'Bearer cofre_AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB',
    ]) {
      const r = await fetch(`${base}/mcp`, {
        method: 'POST',
        headers: {
          ...(authorization === undefined ? {} : { authorization }),
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(r.status).toBe(401);
      // RFC 6750 §3: a presented token that is refused also gets error="invalid_token" (same words for every cause).
      expect(r.headers.get('www-authenticate')).toBe(
        authorization === undefined
          ? 'Bearer realm="cofre"'
          : 'Bearer realm="cofre", error="invalid_token", error_description="invalid, expired or revoked agent token"',
      );
      expect(await r.json()).toMatchObject({ error: { code: 'COFRE_UNAUTHENTICATED' } });
    }
    await expect(
      connect('cofre_AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'),
    ).rejects.toThrow();
  });

  it('answers GET /mcp with 405 (no server-initiated stream)', async () => {
    const r = await fetch(`${base}/mcp`, {
      headers: { authorization: `Bearer ${trader}`, accept: 'text/event-stream' },
    });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('POST');
  });

  it('refuses a browser Origin on /mcp', async () => {
    const r = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${trader}`,
        origin: 'https://evil.example',
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(r.status).toBe(403);
  });

  it('logs /mcp requests like any other, and no credential or token anywhere', () => {
    const lines = fx.logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => l['msg'] === 'request' && l['route'] === '/mcp' && l['status'] === 200)).toBe(
      true,
    );
    const everything = [...seen, ...fx.logLines].join('\n');
    expect(leaks(everything, fx.forbidden([trader, reader]))).toEqual([]);
  });
});
