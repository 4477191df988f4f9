/**
 * `cofre/client/ai-sdk`: cofre's actions as Vercel AI SDK tools (`ai` 6, an optional peer dependency).
 *
 * ```ts
 * const tools = await cofreTools(client);            // only the actions this agent may use
 * await generateText({ model, tools, prompt: '...' });
 * ```
 */
import { jsonSchema, type Tool, tool } from 'ai';

import { actionDescriptions } from '../broker/actions.js';
import { actionInputJsonSchema } from './action-json-schema.js';
import type { ActionName } from './action-types.js';
import type { CofreClient } from './cofre-client.js';
import { runTool, toolActions, type ToolOutput, type ToolsOptions } from './tool-output.js';

export { DATA_NOTICE, type ToolOutput, type ToolsOptions } from './tool-output.js';

/**
 * One AI SDK tool per action, named as cofre names it (`get_balance`, `place_order`, ...), described with cofre's
 * descriptions, with the input JSON Schema of the OpenAPI document. A tool's output is a {@link ToolOutput}: cofre's
 * answer (denied, pending and failed included) as data, after the notice that it is data. Input is checked by the
 * client with cofre's zod schemas; a bad input comes back as `COFRE_INPUT_INVALID` data the model can correct.
 */
export async function cofreTools(
  client: CofreClient,
  options: ToolsOptions = {},
): Promise<Partial<Record<ActionName, Tool<unknown, ToolOutput>>>> {
  const tools: Partial<Record<ActionName, Tool<unknown, ToolOutput>>> = {};
  for (const action of await toolActions(client, options)) {
    tools[action] = tool<unknown, ToolOutput>({
      description: actionDescriptions[action],
      // No `validate` here on purpose: the client validates, so a bad input reaches the model as cofre's message.
      inputSchema: jsonSchema(actionInputJsonSchema(action)),
      execute: (input, { abortSignal }) => runTool(client, action, input, abortSignal),
    });
  }
  return tools;
}
