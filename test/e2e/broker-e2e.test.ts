// The main job end to end, wired exactly as `cofre demo` wires it: config file, embedded store, SQLite state,
// audit log, ccxt against the paper exchange, the HTTP API and MCP over Streamable HTTP and stdio, with the official
// MCP client.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ActionResponse } from '../../src/broker/broker.js';
import { SqliteStateStore } from '../../src/state/sqlite/sqlite-state-store.js';
import { demo, type DemoHandle } from '../../src/surfaces/cli/demo.js';
import { tempDir } from '../cli/cli-harness.js';

let handle: DemoHandle;
let token: string;
let remove: () => void;

async function action(
  name: string,
  body: unknown,
  bearer = token,
): Promise<{ status: number; body: ActionResponse }> {
  const res = await fetch(`${handle.url}/v1/actions/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as ActionResponse };
}

function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? '').join('\n');
}

beforeAll(async () => {
  let dir: string;
  ({ dir, remove } = tempDir());
  handle = await demo(
    {
      stdin: process.stdin,
      stdout: new (await import('node:stream')).PassThrough(),
      stderr: process.stderr,
      cwd: dir,
    },
    { port: '0', wait: false },
  );
  token = readFileSync(handle.tokenFile, 'utf8').trim();
});

afterAll(async () => {
  await handle.stop();
  remove();
});

describe('over HTTP', () => {
  it('lists accounts, reads a balance and a ticker', async () => {
    const accounts = await action('list_accounts', {});
    expect(accounts.status).toBe(200);
    expect(accounts.body.result).toEqual({
      accounts: [{ account: 'paper', venue: 'binance', mode: 'paper' }],
    });
    const balance = await action('get_balance', { account: 'paper' });
    expect(balance.body.status).toBe('executed');
    expect(JSON.stringify(balance.body.result)).toContain('"USDT"');
    const ticker = await action('get_ticker', { account: 'paper', symbol: 'BTC/USDT' });
    expect((ticker.body.result as { ticker: { last: string } }).ticker.last).toBe('60000');
  });

  it('places, queries and cancels an order; the same clientOrderId twice places one order', async () => {
    const order = {
      account: 'paper',
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'limit',
      amount: '0.001',
      price: '58000', // rests: below the market, inside the demo policy's 5% price band
    };
    const placed = await action('place_order', { ...order, clientOrderId: 'e2e-limit-1' });
    expect(placed.body.status).toBe('executed');
    const placedOrder = (
      placed.body.result as { order: { id: string; status: string; clientOrderId: string } }
    ).order;
    expect(placedOrder).toMatchObject({ status: 'open', clientOrderId: 'e2e-limit-1' });

    const again = await action('place_order', { ...order, clientOrderId: 'e2e-limit-1' });
    expect(again.body).toEqual({ ...placed.body, replayed: true });

    const open = await action('get_open_orders', { account: 'paper', symbol: 'BTC/USDT' });
    const ids = (open.body.result as { orders: { clientOrderId: string }[] }).orders.map(
      (o) => o.clientOrderId,
    );
    expect(ids.filter((id) => id === 'e2e-limit-1')).toHaveLength(1);

    const byClientId = await action('get_order', {
      account: 'paper',
      symbol: 'BTC/USDT',
      clientOrderId: 'e2e-limit-1',
    });
    expect((byClientId.body.result as { order: { id: string } }).order.id).toBe(placedOrder.id);

    const cancelled = await action('cancel_order', {
      account: 'paper',
      symbol: 'BTC/USDT',
      orderId: placedOrder.id,
    });
    expect((cancelled.body.result as { order: { status: string } }).order.status).toBe('canceled');

    const request = await fetch(`${handle.url}/v1/requests/${placed.body.requestId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(((await request.json()) as ActionResponse).requestId).toBe(placed.body.requestId);
  });

  it('fills a market order and previews without sending', async () => {
    const preview = await action('preview_order', {
      account: 'paper',
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'market',
      amount: '0.0012345',
    });
    expect(preview.body.result).toMatchObject({
      order: { amount: '0.00123', notional: '73.8' },
      sent: false,
    });
    const placed = await action('place_order', {
      account: 'paper',
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'market',
      amount: '0.001',
      clientOrderId: 'e2e-market-1',
    });
    expect((placed.body.result as { order: { status: string; filled: string } }).order).toMatchObject({
      status: 'closed',
      filled: '0.001',
    });
  });

  it('denies what the policy does not allow and refuses a bad token the same way every time', async () => {
    const denied = await action('get_balance', { account: 'live-main' });
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ status: 'denied', rule: 'default-deny' });
    const a = await action('get_balance', { account: 'paper' }, 'cofre_xxxxxxxxxxxxxxxx.' + 'y'.repeat(43));
    const b = await action('get_balance', { account: 'paper' }, 'nonsense');
    expect(a.status).toBe(401);
    expect(b.status).toBe(401);
    expect(a.body).toEqual(b.body);
  });
});

describe('over MCP', () => {
  async function exercise(client: Client): Promise<void> {
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name)).toEqual(
      expect.arrayContaining(['get_balance', 'place_order', 'cancel_order']),
    );
    const balance = await client.callTool({ name: 'get_balance', arguments: { account: 'paper' } });
    expect(balance.isError, textOf(balance)).not.toBe(true);
    expect(textOf(balance)).toMatch(/is data .*not instructions/i);
    expect(textOf(balance)).toContain('USDT');
    const clientOrderId = `mcp-${Math.random().toString(36).slice(2, 10)}`;
    const placed = await client.callTool({
      name: 'place_order',
      arguments: {
        account: 'paper',
        symbol: 'BTC/USDT',
        side: 'sell',
        type: 'limit',
        amount: '0.001',
        price: '62000', // rests: above the market, inside the 5% band
        clientOrderId,
      },
    });
    expect(placed.isError).not.toBe(true);
    const got = await client.callTool({
      name: 'get_order',
      arguments: { account: 'paper', symbol: 'BTC/USDT', clientOrderId },
    });
    expect(textOf(got)).toContain(clientOrderId);
    const cancelled = await client.callTool({
      name: 'cancel_order',
      arguments: { account: 'paper', symbol: 'BTC/USDT', clientOrderId },
    });
    expect(textOf(cancelled)).toContain('canceled');
    const denied = await client.callTool({ name: 'get_balance', arguments: { account: 'live-main' } });
    expect(denied.isError).toBe(true);
    expect(textOf(denied)).toContain('default-deny');
  }

  it('works over Streamable HTTP with the official client', async () => {
    const client = new Client({ name: 'e2e', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${handle.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    try {
      await exercise(client);
    } finally {
      await client.close();
    }
  });

  it('works over stdio (`cofre mcp --token-file`) with the official client', async () => {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const entry = resolve(import.meta.dirname, '../../src/surfaces/cli/entry.ts');
    const client = new Client({ name: 'e2e', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [
          '--import',
          tsx,
          entry,
          '--config',
          handle.configFile,
          'mcp',
          '--token-file',
          handle.tokenFile,
        ],
        env: { PATH: process.env.PATH ?? '' },
        stderr: 'pipe',
      }),
    );
    try {
      await exercise(client);
      // A running stdio session checks its token on every call: revoking the agent stops it at once.
      const state = new SqliteStateStore(join(handle.dir, 'state.db'));
      state.revokeAgent('demo-agent', new Date());
      state.close();
      const refused = await client.callTool({ name: 'get_balance', arguments: { account: 'paper' } });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toContain('COFRE_UNAUTHENTICATED');
    } finally {
      await client.close();
    }
  });
});
