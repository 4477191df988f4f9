// examples/typescript/agent.ts, wired as a user runs it, against a served cofre: its tools are the agent's own
// actions, and a whole Agents SDK run — with a scripted stand-in for the model, no LLM — calls cofre through them.
import { type Model, type ModelRequest, type ModelResponse, Runner, Usage } from '@openai/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildAgent, buildTools } from '../../examples/typescript/agent.js';
import { DATA_NOTICE } from '../../src/client/tool-output.js';
import type { ServedFixture } from '../e2e/served-broker.js';
import { clientFor, startClientFixture } from './served-client.js';

let fx: ServedFixture;

beforeAll(async () => {
  fx = await startClientFixture();
});

afterAll(async () => {
  await fx.close();
});

/** A model that asks for one tool call, then answers with the tool output it was given. */
class ScriptedModel implements Model {
  readonly requests: ModelRequest[] = [];
  constructor(private readonly call: { name: string; arguments: unknown }) {}

  getResponse(request: ModelRequest): Promise<ModelResponse> {
    this.requests.push(request);
    if (this.requests.length === 1) {
      return Promise.resolve({
        usage: new Usage(),
        output: [
          {
            type: 'function_call',
            callId: 'call-1',
            name: this.call.name,
            arguments: JSON.stringify(this.call.arguments),
            status: 'completed',
          },
        ],
      });
    }
    const toolOutput = JSON.stringify(request.input).includes('not instructions')
      ? 'saw cofre data'
      : 'no data';
    return Promise.resolve({
      usage: new Usage(),
      output: [
        {
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text: toolOutput }],
        },
      ],
    });
  }

  // eslint-disable-next-line require-yield -- the example is never streamed in this test
  async *getStreamedResponse(): AsyncIterable<never> {
    await Promise.resolve();
    throw new Error('not streamed');
  }
}

describe('the TypeScript example agent', () => {
  it('gets the tools of its own policy only', async () => {
    const reader = await clientFor(fx, 'example-reader', 'reader');
    expect((await buildTools(reader)).map((t) => t.name)).toEqual([
      'get_balance',
      'get_ticker',
      'get_request',
    ]);
  });

  it('runs a turn: the model’s tool call goes through cofre and the answer comes back as data', async () => {
    const trader = await clientFor(fx, 'example-trader', 'trader');
    const before = fx.paper.orders().length;
    const model = new ScriptedModel({
      name: 'place_order',
      arguments: {
        account: 'paper',
        symbol: 'BTC/USDT',
        side: 'buy',
        type: 'market',
        amount: '0.001',
        clientOrderId: 'ex-1',
      },
    });
    const agent = await buildAgent(trader, model);
    const result = await new Runner({ tracingDisabled: true }).run(agent, 'buy 0.001 BTC');
    expect(result.finalOutput).toBe('saw cofre data');
    expect(fx.paper.orders().length).toBe(before + 1);
    expect(fx.paper.orders().at(-1)).toMatchObject({ side: 'BUY', origQty: '0.001' });
    const toolTurn = JSON.stringify(model.requests[1]?.input);
    expect(toolTurn).toContain(JSON.stringify(DATA_NOTICE).slice(1, -1));
    expect(toolTurn).toContain('executed');
    // The tools the model was offered are cofre's, described as cofre describes them.
    expect(model.requests[0]?.tools.map((t) => t.name)).toContain('place_order');
  });
});
