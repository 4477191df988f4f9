/**
 * `cofre/client/openai-agents`: cofre's actions as OpenAI Agents SDK (JS) function tools (`@openai/agents`, an
 * optional peer dependency).
 *
 * ```ts
 * const agent = new Agent({ name: 'trader', instructions: '...', tools: await cofreTools(client) });
 * ```
 */
import { type FunctionTool, tool } from '@openai/agents';

import { actionDescriptions } from '../broker/actions.js';
import { actionInputJsonSchema } from './action-json-schema.js';
import type { CofreClient } from './cofre-client.js';
import { runTool, toolActions, toolOutputText, type ToolsOptions } from './tool-output.js';

export { DATA_NOTICE, type ToolOutput, type ToolsOptions } from './tool-output.js';

type NonStrictParameters = Extract<Parameters<typeof tool>[0], { strict: false }>['parameters'];

/**
 * One function tool per action, named as cofre names it, described with cofre's descriptions. The parameters are
 * the JSON Schema of the OpenAPI document, non-strict: OpenAI's strict mode cannot say "a string or a number" for
 * amounts nor leave optional fields out, and the client checks every input with cofre's own zod schemas anyway.
 * A tool returns the notice line and cofre's answer as JSON (denied, pending and failed included, never thrown),
 * the same text as cofre's MCP tools.
 */
export async function cofreTools(client: CofreClient, options: ToolsOptions = {}): Promise<FunctionTool[]> {
  const actions = await toolActions(client, options);
  return actions.map((action) =>
    tool({
      name: action,
      description: actionDescriptions[action],
      parameters: actionInputJsonSchema(action) as NonStrictParameters,
      strict: false,
      execute: async (input, _context, details) =>
        toolOutputText(await runTool(client, action, input, details?.signal)),
    }),
  );
}
