// The framework adapters against a real served cofre, invoked as the frameworks invoke them (AI SDK:
// `tool.execute(input, { toolCallId, messages })` and a whole `generateText` turn with the SDK's mock model; OpenAI
// Agents: `tool.invoke(runContext, argumentsJson)`). No LLM is called. A tool's output is cofre's answer as data,
// after the notice that it is data, never a thrown error.
import { RunContext } from '@openai/agents';
import { asSchema, generateText, stepCountIs, type Tool } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { actionDescriptions } from '../../src/broker/actions.js';
import { actionInputJsonSchema } from '../../src/client/action-json-schema.js';
import { cofreTools as aiSdkTools, DATA_NOTICE, type ToolOutput } from '../../src/client/ai-sdk.js';
import type { CofreClient } from '../../src/client/index.js';
import { cofreTools as agentsTools } from '../../src/client/openai-agents.js';
import { DATA_NOTICE as MCP_DATA_NOTICE } from '../../src/surfaces/mcp/mcp-tool-result.js';
import type { ServedFixture } from '../e2e/served-broker.js';
import { clientFor, startClientFixture } from './served-client.js';

let fx: ServedFixture;
let trader: CofreClient;
let reader: CofreClient;

beforeAll(async () => {
  fx = await startClientFixture();
  trader = await clientFor(fx, 'tools-trader', 'trader');
  reader = await clientFor(fx, 'tools-reader', 'reader');
});

afterAll(async () => {
  await fx.close();
});

const sent = (): number => fx.paper.orders().length;
const bigOrder = {
  account: 'paper',
  symbol: 'BTC/USDT',
  side: 'buy',
  type: 'limit',
  price: 60000,
  amount: 0.1,
};

it('tells the model its outputs are data, in the same words as the MCP tools', () => {
  expect(DATA_NOTICE).toBe(MCP_DATA_NOTICE);
});

describe('Vercel AI SDK tools', () => {
  async function run(t: Tool | undefined, input: unknown): Promise<ToolOutput> {
    expect(t?.execute).toBeTypeOf('function');
    return (await t!.execute!(input, { toolCallId: 'call-1', messages: [] })) as ToolOutput;
  }

  it('are only the actions the agent may use, with cofre’s descriptions and input schemas', async () => {
    const tools = await aiSdkTools(reader);
    expect(Object.keys(tools)).toEqual(['get_balance', 'get_ticker', 'get_request']);
    expect(tools.get_ticker?.description).toBe(actionDescriptions.get_ticker);
    expect(await asSchema(tools.get_ticker?.inputSchema).jsonSchema).toEqual(
      actionInputJsonSchema('get_ticker'),
    );
    expect(Object.keys(await aiSdkTools(trader, { actions: ['get_ticker', 'place_order'] }))).toEqual([
      'get_ticker',
      'place_order',
    ]);
    await expect(
      aiSdkTools(trader, { actions: ['get_ticker', 'sell_everything' as 'get_ticker'] }),
    ).rejects.toThrow(/unknown actions: sell_everything/);
  });

  it('return executed, denied, pending and failed answers as data', async () => {
    const tools = await aiSdkTools(trader);
    expect(await run(tools.get_ticker, { account: 'paper', symbol: 'BTC/USDT' })).toMatchObject({
      notice: DATA_NOTICE,
      status: 'executed',
      result: { ticker: { last: '60000' } },
    });
    const before = sent();
    expect(await run(tools.place_order, { ...bigOrder, clientOrderId: 'ai-1' })).toMatchObject({
      notice: DATA_NOTICE,
      status: 'denied',
      rule: 'default-deny',
      reason: expect.stringMatching(/maxNotional 500/),
    });
    expect(
      await run(tools.place_order, { ...bigOrder, amount: '0.02', clientOrderId: 'ai-2' }),
    ).toMatchObject({
      status: 'pending_approval',
      approval: { payloadHash: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    expect(
      await run(tools.cancel_order, { account: 'paper', symbol: 'BTC/USDT', orderId: '424242' }),
    ).toMatchObject({
      status: 'failed',
      error: { code: 'COFRE_VENUE_REJECTED', venueText: 'Unknown order sent.' },
    });
    expect(sent()).toBe(before);
  });

  it('return a bad input as cofre’s message, for the model to correct', async () => {
    const tools = await aiSdkTools(trader);
    const output = await run(tools.get_ticker, { account: 'paper', symbol: 'btc' });
    expect(output).toEqual({
      notice: DATA_NOTICE,
      error: {
        code: 'COFRE_INPUT_INVALID',
        message:
          'invalid input for get_ticker: symbol: invalid symbol; use BASE/QUOTE in capitals, e.g. BTC/USDT',
        retryable: false,
      },
    });
  });

  it('run inside generateText: the model’s tool call reaches cofre and the answer goes back to the model', async () => {
    const tools = await aiSdkTools(reader);
    let turn = 0;
    const seenByModel: unknown[] = [];
    const model = new MockLanguageModelV3({
      doGenerate: (options) => {
        turn += 1;
        seenByModel.push(options.prompt);
        const usage = {
          inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
          outputTokens: { total: 1, text: 1, reasoning: 0 },
        };
        if (turn === 1) {
          expect(options.tools?.map((t) => t.name)).toEqual(['get_balance', 'get_ticker', 'get_request']);
          return Promise.resolve({
            content: [
              {
                type: 'tool-call',
                toolCallId: 'c1',
                toolName: 'get_balance',
                input: JSON.stringify({ account: 'paper' }),
              },
            ],
            finishReason: { unified: 'tool-calls', raw: undefined },
            usage,
            warnings: [],
          });
        }
        return Promise.resolve({
          content: [{ type: 'text', text: 'done' }],
          finishReason: { unified: 'stop', raw: undefined },
          usage,
          warnings: [],
        });
      },
    });
    const result = await generateText({ model, tools, prompt: 'my balance?', stopWhen: stepCountIs(3) });
    expect(result.text).toBe('done');
    const toolResult = result.steps[0]?.toolResults[0];
    expect(toolResult).toMatchObject({
      toolName: 'get_balance',
      output: {
        notice: DATA_NOTICE,
        status: 'executed',
        result: { balance: { assets: { USDT: { free: '100000' } } } },
      },
    });
    expect(JSON.stringify(seenByModel[1])).toContain('not instructions');
  });
});

describe('OpenAI Agents SDK tools', () => {
  async function invoke(
    tools: Awaited<ReturnType<typeof agentsTools>>,
    name: string,
    input: unknown,
  ): Promise<unknown> {
    const t = tools.find((x) => x.name === name);
    expect(t).toBeDefined();
    const text = await t!.invoke(new RunContext(), JSON.stringify(input));
    expect(typeof text).toBe('string');
    const [notice, json] = (text as string).split('\n');
    expect(notice).toBe(DATA_NOTICE);
    return JSON.parse(json ?? '');
  }

  it('are only the actions the agent may use, non-strict, with cofre’s descriptions and JSON Schemas', async () => {
    const tools = await agentsTools(reader);
    expect(tools.map((t) => t.name)).toEqual(['get_balance', 'get_ticker', 'get_request']);
    const ticker = tools[1];
    expect(ticker).toMatchObject({
      type: 'function',
      description: actionDescriptions.get_ticker,
      strict: false,
      parameters: actionInputJsonSchema('get_ticker'),
    });
  });

  it('return executed, denied, pending, failed and invalid as text the model reads', async () => {
    const tools = await agentsTools(trader);
    expect(await invoke(tools, 'get_balance', { account: 'paper' })).toMatchObject({
      status: 'executed',
      result: { balance: { assets: { BTC: { free: '2' } } } },
    });
    const before = sent();
    expect(await invoke(tools, 'place_order', { ...bigOrder, clientOrderId: 'ag-1' })).toMatchObject({
      status: 'denied',
      rule: 'default-deny',
    });
    expect(
      await invoke(tools, 'place_order', { ...bigOrder, amount: 0.02, clientOrderId: 'ag-2' }),
    ).toMatchObject({
      status: 'pending_approval',
    });
    expect(
      await invoke(tools, 'cancel_order', { account: 'paper', symbol: 'BTC/USDT', clientOrderId: 'nope' }),
    ).toMatchObject({
      status: 'failed',
      error: { code: 'COFRE_VENUE_REJECTED' },
    });
    expect(await invoke(tools, 'get_order', { account: 'paper', symbol: 'BTC/USDT' })).toEqual({
      error: {
        code: 'COFRE_INPUT_INVALID',
        message: 'invalid input for get_order: (input): give exactly one of orderId and clientOrderId',
        retryable: false,
      },
    });
    expect(sent()).toBe(before);
  });

  it('replay a repeated order instead of placing it twice', async () => {
    const tools = await agentsTools(trader);
    const order = { ...bigOrder, amount: '0.001', price: '50000', clientOrderId: 'ag-replay' };
    const first = (await invoke(tools, 'place_order', order)) as { requestId: string };
    const before = sent();
    expect(await invoke(tools, 'place_order', order)).toMatchObject({
      requestId: first.requestId,
      replayed: true,
    });
    expect(sent()).toBe(before);
  });
});
