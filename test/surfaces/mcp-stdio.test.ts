// MCP over stdio: in process (linked transports and runMcpStdio on streams) and one real child process spoken to by
// the official client's StdioClientTransport.
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ACTION_NAMES } from '../../src/broker/actions.js';
import type { AuthenticatedAgent } from '../../src/broker/agent-tokens.js';
import type { Broker } from '../../src/broker/broker.js';
import { CofreError } from '../../src/errors.js';
import { createMcpServer } from '../../src/surfaces/mcp/mcp-server.js';
import { runMcpStdio } from '../../src/surfaces/mcp/mcp-stdio.js';
import { DATA_NOTICE } from '../../src/surfaces/mcp/mcp-tool-result.js';
import {
  ALL_ACTIONS,
  CANARY_KEY,
  CANARY_SECRET,
  startSurfaceFixture,
  type SurfaceFixture,
} from './surface-fixture.js';

const here = dirname(fileURLToPath(import.meta.url));

let fx: SurfaceFixture;

beforeAll(async () => {
  fx = await startSurfaceFixture();
});

afterAll(async () => {
  await fx.close();
});

async function linkedClient(broker: Broker, given?: AuthenticatedAgent) {
  const agent = given ?? (await fx.issue(`agent-${Math.random().toString(36).slice(2, 8)}`, 'trader')).agent;
  const server = createMcpServer({ broker, agent, logger: fx.logger });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'test', version: '0' });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  return { client, close: () => client.close() };
}

function textOf(result: CallToolResult): string {
  const first = result.content[0];
  return first?.type === 'text' ? first.text : '';
}

describe('MCP tools in process', () => {
  it('answers an unknown tool with a protocol error', async () => {
    const { client, close } = await linkedClient(fx.broker);
    try {
      await expect(client.callTool({ name: 'withdraw_all', arguments: {} })).rejects.toThrow(/unknown tool/);
    } finally {
      await close();
    }
  });

  it('rejects control characters in input as a tool error, with no stack trace', async () => {
    const { client, close } = await linkedClient(fx.broker);
    try {
      const result = (await client.callTool({
        name: 'get_balance',
        arguments: { account: 'pa\r\nper' },
      })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(textOf(result).split('\n')[0]).toBe(DATA_NOTICE);
      expect(result.structuredContent).toMatchObject({
        error: { code: 'COFRE_INPUT_INVALID', message: expect.stringContaining('control characters') },
      });
      expect(textOf(result)).not.toMatch(/\n\s+at /);
    } finally {
      await close();
    }
  });

  it('maps a broker CofreError to a tool error with its code', async () => {
    const broker = {
      actionsFor: () => new Set(ACTION_NAMES),
      execute: () =>
        Promise.reject(new CofreError('COFRE_AUDIT_UNAVAILABLE', 'cannot append to the audit log')),
    } as unknown as Broker;
    const { client, close } = await linkedClient(broker);
    try {
      const result = (await client.callTool({ name: 'list_accounts', arguments: {} })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(textOf(result).split('\n')[0]).toBe(DATA_NOTICE);
      expect(result.structuredContent).toMatchObject({
        error: { code: 'COFRE_AUDIT_UNAVAILABLE', retryable: true },
      });
    } finally {
      await close();
    }
  });

  it('hides an unexpected error behind a generic message and logs it', async () => {
    const broker = {
      actionsFor: () => new Set(ACTION_NAMES),
      execute: () => Promise.reject(new Error('kaboom in a dependency')),
    } as unknown as Broker;
    const { client, close } = await linkedClient(broker);
    try {
      const result = (await client.callTool({ name: 'list_accounts', arguments: {} })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(textOf(result)).not.toContain('kaboom');
      const errorId = /see the server log for (mcp_[A-Za-z0-9_-]+)/.exec(textOf(result))?.[1];
      expect(errorId).toBeDefined();
      expect(
        fx.logLines.some((l) => l.includes('kaboom in a dependency') && l.includes(errorId ?? '?')),
      ).toBe(true);
    } finally {
      await close();
    }
  });
});

describe('runMcpStdio', () => {
  it('answers calls still running when the client closes stdin, then stops; stdout holds only MCP messages', async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const chunks: Buffer[] = [];
    stdout.on('data', (c: Buffer) => chunks.push(c));
    const { agent } = await fx.issue('stdio-streams', 'trader');
    const session = await runMcpStdio({ broker: fx.broker, agent, logger: fx.logger, stdin, stdout });

    const send = (message: unknown) => stdin.write(`${JSON.stringify(message)}\n`);
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
    });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'get_balance', arguments: { account: 'paper' } },
    });
    stdin.end();
    await session.closed;

    const lines = Buffer.concat(chunks)
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== '');
    const messages = lines.map(
      (l) => JSON.parse(l) as { jsonrpc: string; id?: number; result?: CallToolResult },
    );
    expect(messages.every((m) => m.jsonrpc === '2.0')).toBe(true);
    const call = messages.find((m) => m.id === 2);
    expect(call?.result?.isError).toBe(false);
    expect(call?.result?.structuredContent).toMatchObject({ status: 'executed' });
    await session.close();
  });
});

describe('cofre-like stdio process with the official client', () => {
  it('lists tools and runs balance, place, query and cancel', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--import', 'tsx', join(here, 'mcp-stdio-entry.ts')],
      cwd: join(here, '../..'),
      stderr: 'pipe',
    });
    const stderr: Buffer[] = [];
    transport.stderr?.on('data', (c: Buffer) => stderr.push(c));
    const errors: Error[] = [];
    const client = new Client({ name: 'stdio-test', version: '0' });
    client.onerror = (err) => errors.push(err);
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual([...ALL_ACTIONS, 'get_request'].sort());

      const call = async (name: string, args: Record<string, unknown>) => {
        const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
        expect(textOf(result).split('\n')[0]).toBe(DATA_NOTICE);
        return result;
      };
      const balance = await call('get_balance', { account: 'paper' });
      expect(balance.structuredContent).toMatchObject({
        status: 'executed',
        result: { balance: { assets: { USDT: { free: '100000' } } } },
      });

      const order = {
        account: 'paper',
        symbol: 'BTC/USDT',
        side: 'buy',
        type: 'limit',
        amount: '0.01',
        price: '40000',
        clientOrderId: 'stdio-1',
      };
      const placed = await call('place_order', order);
      expect(placed.isError).toBe(false);
      expect(placed.structuredContent).toMatchObject({
        result: { order: { clientOrderId: 'stdio-1', status: 'open' } },
      });
      const again = await call('place_order', order);
      expect(again.structuredContent).toEqual({ ...placed.structuredContent, replayed: true });

      const got = await call('get_order', { account: 'paper', symbol: 'BTC/USDT', clientOrderId: 'stdio-1' });
      expect(got.structuredContent).toMatchObject({ result: { order: { status: 'open' } } });
      const open = await call('get_open_orders', { account: 'paper' });
      expect((open.structuredContent as { result: { orders: unknown[] } }).result.orders).toHaveLength(1);

      const cancelled = await call('cancel_order', {
        account: 'paper',
        symbol: 'BTC/USDT',
        clientOrderId: 'stdio-1',
      });
      expect(cancelled.structuredContent).toMatchObject({
        status: 'executed',
        result: { order: { status: 'canceled' } },
      });

      const denied = await call('get_balance', { account: 'other' });
      expect(denied.isError).toBe(true);
      expect(denied.structuredContent).toMatchObject({ status: 'denied', rule: 'default-deny' });
    } finally {
      await client.close();
    }
    // Anything but MCP on stdout would have surfaced as a parse error on the client.
    expect(errors).toEqual([]);
    const log = Buffer.concat(stderr).toString('utf8');
    // The child stopped on its own when the client closed stdin, after answering every call.
    expect(log).toContain('stdio-entry: closed');
    expect(log).not.toContain(CANARY_KEY);
    expect(log).not.toContain(CANARY_SECRET);
  });
});
