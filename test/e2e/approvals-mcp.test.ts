// Issue 9 over MCP: an order that needs approval, placed by an agent through the official MCP client at /mcp
// (Streamable HTTP) on the served broker, and a `confirm` rule answered by the person at the agent's client through
// MCP elicitation (in process, on the same broker). The paper exchange counts what reached it.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  type CallToolResult,
  type ElicitRequest,
  ElicitRequestSchema,
  type ElicitResult,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createMcpServer } from '../../src/surfaces/mcp/mcp-server.js';
import { DATA_NOTICE } from '../../src/surfaces/mcp/mcp-tool-result.js';
import { buyAtMarket } from '../resting-buy.js';
import { type ServedFixture, startServedBroker, TRADER_POLICY } from './served-broker.js';

let fx: ServedFixture;
let operator: string;
const clients: Client[] = [];

beforeAll(async () => {
  fx = await startServedBroker((url, credentials) => [
    'accounts:',
    `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
    'policies:',
    ...TRADER_POLICY,
    '  careful:',
    '    rules:',
    '      - name: ask-the-human',
    '        confirm: [place_order]',
    '        accounts: [paper]',
    '        maxNotional: 5000',
  ]);
  operator = await fx.operatorToken('alice');
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await fx.close();
});

let next = 0;
function orderArgs(amount: string): Record<string, unknown> {
  return buyAtMarket(amount, `mcp-${++next}`);
}

/** The official client over Streamable HTTP at /mcp, as an agent connects to `cofre serve`. */
async function overHttp(token: string): Promise<Client> {
  const client = new Client({ name: 'e2e-agent', version: '0.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${fx.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  clients.push(client);
  return client;
}

/**
 * The official client in process, bound to an agent of the served broker; with `answer`, it declares the elicitation
 * capability and answers every elicitation with it (recording what it was asked).
 */
async function inProcess(
  agentId: string,
  policy: string,
  answer?: (request: ElicitRequest) => ElicitResult,
): Promise<{ client: Client; asked: ElicitRequest[] }> {
  await fx.agentToken(agentId, policy);
  const server = createMcpServer({ broker: fx.server.runtime.broker, agent: { id: agentId, policy } });
  const client = new Client(
    { name: 'e2e-agent', version: '0.0.0' },
    answer === undefined ? {} : { capabilities: { elicitation: {} } },
  );
  const asked: ElicitRequest[] = [];
  if (answer !== undefined) {
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      asked.push(request);
      return answer(request);
    });
  }
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  clients.push(client);
  return { client, asked };
}

async function tool(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

function textOf(result: CallToolResult): string {
  const first = result.content[0];
  return first?.type === 'text' ? first.text : '';
}

const sent = (): number => fx.paper.orders().length;

describe('place_order that needs approval, over MCP at /mcp', () => {
  it('says pending_approval in words a model follows, then get_request shows the outcome once approved', async () => {
    const client = await overHttp(await fx.agentToken('mcp-trader', 'trader'));
    const before = sent();
    const placed = await tool(client, 'place_order', orderArgs('0.02')); // 1,200 USDT: the `large` rule
    expect(placed.isError).toBe(false);
    const text = textOf(placed);
    expect(text.split('\n')[0]).toBe(DATA_NOTICE);
    const { requestId, status, approval } = placed.structuredContent as {
      requestId: string;
      status: string;
      approval: { payloadHash: string };
    };
    expect(status).toBe('pending_approval');
    // What a model needs to act right: the id to ask about, the tool to ask with, and not to send it again.
    expect(text).toContain(requestId);
    expect(text).toContain('pending_approval');
    expect(text).toMatch(/ask get_request with this requestId/);
    expect(text).toMatch(/do not send it again/);
    expect(sent()).toBe(before);

    const waiting = await tool(client, 'get_request', { requestId });
    expect(waiting.structuredContent).toMatchObject({ status: 'pending_approval' });

    const approved = await fx.call('POST', `/v1/operator/approvals/${requestId}/approve`, operator, {
      payloadHash: approval.payloadHash,
    });
    expect(approved.body).toMatchObject({ outcome: 'executed' });
    expect(sent()).toBe(before + 1);

    const done = await tool(client, 'get_request', { requestId });
    expect(done.isError).toBe(false);
    expect(done.structuredContent).toMatchObject({ requestId, status: 'executed' });
  });
});

describe('a confirm rule, through MCP elicitation', () => {
  it('sends the order once when the person accepts, after showing them what exactly will be sent', async () => {
    const { client, asked } = await inProcess('careful-1', 'careful', () => ({
      action: 'accept',
      content: { confirm: true },
    }));
    const before = sent();
    const result = await tool(client, 'place_order', orderArgs('0.02'));
    expect(result.structuredContent).toMatchObject({
      status: 'executed',
      rule: expect.stringContaining('ask-the-human'),
    });
    expect(sent()).toBe(before + 1);
    expect(asked).toHaveLength(1);
    const message = asked[0]?.params.message ?? '';
    expect(message).toMatch(/buy 0\.02 BTC\/USDT at 60000/);
    expect(message).toMatch(/SHA-256: [0-9a-f]{64}/);
  });

  it('denies and sends nothing when the person declines, or accepts without ticking the box', async () => {
    for (const answer of [
      { action: 'decline' } as const,
      { action: 'cancel' } as const,
      { action: 'accept', content: { confirm: false } } as const,
    ]) {
      const { client, asked } = await inProcess(
        `careful-${answer.action}-${++next}`,
        'careful',
        () => answer,
      );
      const before = sent();
      const result = await tool(client, 'place_order', orderArgs('0.02'));
      expect(result.isError).toBe(true);
      expect(result.structuredContent).toMatchObject({
        status: 'denied',
        reason: expect.stringContaining('did not confirm'),
      });
      expect(asked).toHaveLength(1);
      expect(sent()).toBe(before);
    }
  });

  it('denies and sends nothing for a client that cannot ask (no elicitation capability)', async () => {
    const { client } = await inProcess('careful-blind', 'careful');
    const before = sent();
    const result = await tool(client, 'place_order', orderArgs('0.02'));
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({
      status: 'denied',
      reason: expect.stringContaining('cannot ask'),
    });
    expect(sent()).toBe(before);
  });

  it('denies over stateless /mcp, where no answer could come back', async () => {
    const client = await overHttp(await fx.agentToken('careful-http', 'careful'));
    const before = sent();
    const result = await tool(client, 'place_order', orderArgs('0.02'));
    expect(result.structuredContent).toMatchObject({ status: 'denied' });
    expect(sent()).toBe(before);
  });

  it('a denied confirmation leaves the clientOrderId free for the next try', async () => {
    let accept = false;
    const { client } = await inProcess('careful-retry', 'careful', () =>
      accept ? { action: 'accept', content: { confirm: true } } : { action: 'decline' },
    );
    const args = orderArgs('0.02');
    const before = sent();
    expect((await tool(client, 'place_order', args)).structuredContent).toMatchObject({ status: 'denied' });
    accept = true;
    const second = await tool(client, 'place_order', args);
    expect(second.structuredContent).toMatchObject({ status: 'executed' });
    expect((second.structuredContent as { replayed?: boolean }).replayed).toBeUndefined();
    expect(sent()).toBe(before + 1);
  });
});
