// Every MCP tool declares an outputSchema, and every answer it gives — executed, denied, pending approval, failed at
// the venue, refused before it ran — carries structuredContent that the official SDK client validates against it
// (the client checks error results too). Run on `cofre demo`, over stdio (`cofre mcp --token-file`) and Streamable
// HTTP, with the client's tool list loaded first so that every call is validated.
import { readFileSync } from 'node:fs';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { JsonSchemaType } from '@modelcontextprotocol/sdk/validation/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ACTION_NAMES } from '../../src/broker/actions.js';
import { ENCRYPTION_ACTIONS, WALLET_ACTIONS } from '../../src/config/policy-config.js';
import { DATA_NOTICE } from '../../src/surfaces/mcp/mcp-tool-result.js';
import { cofreArgv, type QuietDemo, startQuietDemo } from '../cli/cli-harness.js';

let handle: QuietDemo;

beforeAll(async () => {
  handle = await startQuietDemo();
});

afterAll(async () => {
  await handle.close();
});

const transports = {
  stdio: () => {
    return new StdioClientTransport({
      command: process.execPath,
      args: cofreArgv(['--config', handle.configFile, 'mcp', '--token-file', handle.tokenFile]),
      env: { PATH: process.env['PATH'] ?? '' },
      stderr: 'pipe',
    });
  },
  http: () => {
    const token = readFileSync(handle.tokenFile, 'utf8').trim();
    return new StreamableHTTPClientTransport(new URL(`${handle.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
  },
};

const BTC = { account: 'paper', symbol: 'BTC/USDT' };
const order = (amount: string, clientOrderId: string, price?: string) => ({
  ...BTC,
  side: 'buy',
  type: price === undefined ? 'market' : 'limit',
  amount,
  ...(price === undefined ? {} : { price }),
  clientOrderId,
});

describe.each(Object.keys(transports) as (keyof typeof transports)[])('MCP over %s', (kind) => {
  let client: Client;
  let tools: Tool[];

  beforeAll(async () => {
    client = new Client({ name: 'cofre-schema-test', version: '1.0.0' });
    await client.connect(transports[kind]());
    // Loads the tools' output validators into the client: every callTool below is checked against its schema.
    ({ tools } = await client.listTools());
  });
  afterAll(async () => {
    await client.close();
  });

  /** Calls a tool; the SDK client throws if structuredContent does not match the tool's outputSchema. */
  async function call(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    const structured = result.structuredContent ?? {};
    // The text and structuredContent say the same: the notice line, then the answer as JSON.
    const text = result.content[0]?.type === 'text' ? result.content[0].text : '';
    const { notice, ...rest } = structured;
    expect(notice).toBe(DATA_NOTICE);
    expect(text).toBe(`${DATA_NOTICE}\n${JSON.stringify(rest)}`);
    expect(result.isError).toBe(
      structured['status'] !== 'executed' && structured['status'] !== 'pending_approval',
    );
    return structured;
  }

  it('declares an object outputSchema on every tool', () => {
    // The demo configures no wallet and no encryption key (issue 19), so its policy allows every other action.
    const demoActions = ACTION_NAMES.filter((n) => !WALLET_ACTIONS.has(n) && !ENCRYPTION_ACTIONS.has(n));
    expect(tools.map((t) => t.name).sort()).toEqual(demoActions.sort());
    for (const tool of tools) {
      expect(tool.outputSchema?.type, tool.name).toBe('object');
      expect(tool.outputSchema?.required, tool.name).toEqual(['notice']);
    }
  });

  it('answers every tool with structured content its schema accepts, whatever the status', async () => {
    const id = (n: string): string => `${kind}-${n}`;
    const executed = {
      list_accounts: {},
      get_limits: {},
      get_balance: { account: 'paper' },
      get_ticker: BTC,
      preview_order: { ...BTC, side: 'buy', type: 'market', amount: '0.001' },
      place_order: order('0.001', id('small')),
      get_order: { ...BTC, clientOrderId: id('small') },
      get_open_orders: { account: 'paper' },
    };
    for (const [name, args] of Object.entries(executed)) {
      expect(await call(name, args), name).toMatchObject({ status: 'executed', result: expect.anything() });
    }
    // The same order again: the stored answer, replayed.
    expect(await call('place_order', order('0.001', id('small')))).toMatchObject({ replayed: true });

    const resting = await call('place_order', order('0.001', id('resting'), '58000'));
    expect(resting).toMatchObject({ status: 'executed', result: { order: { status: 'open' } } });
    expect(await call('cancel_order', { ...BTC, clientOrderId: id('resting') })).toMatchObject({
      status: 'executed',
      result: { order: { status: 'canceled' } },
    });
    await call('place_order', order('0.001', id('resting-2'), '58000'));
    expect(await call('cancel_all_orders', BTC)).toMatchObject({ status: 'executed' });

    const pending = await call('place_order', order('0.05', id('large')));
    expect(pending).toMatchObject({
      status: 'pending_approval',
      approval: { payloadHash: expect.any(String) },
    });
    const withdrawal = await call('withdraw', {
      account: 'paper',
      asset: 'USDT',
      amount: '10',
      destination: 'cold-usdt',
      clientWithdrawId: id('withdraw'),
    });
    expect(withdrawal).toMatchObject({ status: 'pending_approval' });

    expect(await call('place_order', order('0.1', id('huge')))).toMatchObject({
      status: 'denied',
      rule: expect.any(String),
      reason: expect.any(String),
    });
    expect(await call('get_order', { ...BTC, clientOrderId: id('never-placed') })).toMatchObject({
      status: 'failed',
      error: { code: 'COFRE_VENUE_REJECTED', venueText: expect.any(String) },
    });
    const refused = await call('place_order', { ...order('-1', id('negative')) });
    expect(refused).toEqual({
      notice: DATA_NOTICE,
      error: { code: 'COFRE_INPUT_INVALID', message: expect.any(String), retryable: false },
    });

    // get_request answers with the stored answer of any earlier request, whatever its action and status.
    for (const earlier of [resting, pending, withdrawal]) {
      expect(await call('get_request', { requestId: earlier['requestId'] })).toMatchObject({
        requestId: earlier['requestId'],
        status: earlier['status'],
      });
    }
  });

  // The check above is only worth something if the schemas can refuse: the same validator the client uses rejects
  // answers that are not what the tool returns.
  it('publishes schemas that refuse what the tool would never return', () => {
    const validator = new AjvJsonSchemaValidator();
    const schemaOf = (name: string) => {
      const schema = tools.find((t) => t.name === name)?.outputSchema;
      if (schema === undefined) throw new Error(`no outputSchema for ${name}`);
      return validator.getValidator(schema as JsonSchemaType);
    };
    const balance = schemaOf('get_balance');
    const good = {
      notice: DATA_NOTICE,
      requestId: 'req_1',
      status: 'executed',
      result: { balance: { assets: { USDT: { free: '1', used: '0', total: '1' } } } },
    };
    expect(balance(good).valid).toBe(true);
    for (const bad of [
      { ...good, notice: 'Follow these instructions.' },
      { ...good, result: { balance: 5 } },
      { ...good, result: { ticker: { symbol: 'BTC/USDT' } } },
      { notice: DATA_NOTICE, requestId: 'req_1', status: 'executed' },
      { notice: DATA_NOTICE, requestId: 'req_1', status: 'failed' },
      { notice: DATA_NOTICE, requestId: 'req_1', status: 'running' },
      { notice: DATA_NOTICE },
      { notice: DATA_NOTICE, error: { code: 'COFRE_INTERNAL', message: 'x' } },
    ]) {
      expect(balance(bad).valid, JSON.stringify(bad)).toBe(false);
    }
  });
});
