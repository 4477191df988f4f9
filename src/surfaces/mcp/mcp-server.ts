import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';

import {
  ACTION_NAMES,
  actionDescriptions,
  actionInputSchemas,
  type ActionName,
  WRITE_ACTIONS,
} from '../../broker/actions.js';
import type { AuthenticatedAgent } from '../../broker/agent-tokens.js';
import type { Broker, ExecuteOptions } from '../../broker/broker.js';
import { actionToolResult, DATA_NOTICE, errorToolResult } from './mcp-tool-result.js';
import { toolInputSchema, toolOutputSchema } from './mcp-tool-schemas.js';

/** What an MCP server for one agent needs. */
export interface McpServerOptions {
  readonly broker: Broker;
  /** The agent every tool call runs as, authenticated by the caller (HTTP: the bearer of this request). */
  readonly agent: AuthenticatedAgent;
  /**
   * Authenticates the agent again on every call (stdio: the token file, so a revoked or expired token stops working
   * in a running session too); without it, {@link agent} is used as is.
   */
  readonly reauthenticate?: (() => Promise<AuthenticatedAgent>) | undefined;
  /** For unexpected errors only; the broker logs its own. Must not write to stdout when serving stdio. */
  readonly logger?: Logger | undefined;
}

/** The server's instructions to the model (MCP `initialize`); exported so a test holds them to the schemas. */
export const MCP_INSTRUCTIONS = [
  'cofre runs trading actions on exchange accounts for you; you never see or need an API key.',
  'Start with list_accounts. Every action may be denied by policy: a denied result names the rule and the reason.',
  'place_order needs a clientOrderId you choose; repeating it never places a second order.',
  'cancel_order names the order by exactly one of its orderId and the clientOrderId it was placed with.',
  DATA_NOTICE,
].join(' ');

/**
 * An MCP server with one tool per broker action, bound to one authenticated agent. Tool names, input schemas,
 * output schemas and descriptions are the broker's own (`ACTION_NAMES`, `actionInputSchemas`, `actionResultSchemas`,
 * `actionDescriptions`), so MCP, HTTP and the OpenAPI document cannot drift apart. Every result carries
 * `structuredContent` that the tool's `outputSchema` accepts, whatever its status.
 *
 * `tools/call` goes straight to the broker, which validates the arguments with the same zod schemas: a rejection
 * is a tool error with cofre's code (`COFRE_INPUT_INVALID`) and message, like every other error, instead of the
 * SDK's own wording. Every result starts with {@link DATA_NOTICE}; `denied` and `failed` are tool errors.
 *
 * Holds no state beyond the agent; connect it to one transport. Tool calls may run concurrently.
 */
export function createMcpServer(options: McpServerOptions): McpServer {
  return buildMcpServer(options, undefined);
}

/**
 * {@link createMcpServer} that also records each running tool call in `inFlight` until it settles, so a transport
 * that is shutting down can let them finish first. Internal to `surfaces/mcp`.
 */
export function buildMcpServer(
  options: McpServerOptions,
  inFlight: Set<Promise<unknown>> | undefined,
): McpServer {
  const server = new McpServer({ name: 'cofre', version: '1' }, { instructions: MCP_INSTRUCTIONS });
  const call = (name: ActionName, args: unknown): Promise<CallToolResult> => {
    const running = runTool(server, options, name, args);
    if (inFlight !== undefined) {
      inFlight.add(running);
      void running.finally(() => inFlight.delete(running));
    }
    return running;
  };

  // Issue 9: a tool the agent's policy can never allow is not listed, so a model is not tempted by it (calling it
  // anyway still reaches the broker, which denies it).
  const visible = options.broker.actionsFor(options.agent);
  const tools: Tool[] = ACTION_NAMES.filter((name) => visible.has(name)).map(toolDefinition);

  // Both tool requests are answered here rather than through the SDK's registerTool:
  // - tools/list: each tool's outputSchema is a union (executed with its typed result, denied, pending, failed, or
  //   the refusal), which the SDK would drop, converting object schemas only;
  // - tools/call: the SDK's handler validates first and words rejections its own way, without a code or the notice.
  server.server.registerCapabilities({ tools: {} });
  server.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));
  server.server.setRequestHandler(CallToolRequestSchema, (request) => {
    const name = request.params.name;
    if (!isActionName(name)) throw new McpError(ErrorCode.InvalidParams, 'unknown tool; see tools/list');
    return call(name, request.params.arguments ?? {});
  });
  return server;
}

function isActionName(name: string): name is ActionName {
  return Object.hasOwn(actionInputSchemas, name);
}

async function runTool(
  server: McpServer,
  options: McpServerOptions,
  name: ActionName,
  args: unknown,
): Promise<CallToolResult> {
  try {
    const agent = (await options.reauthenticate?.()) ?? options.agent;
    return actionToolResult(await options.broker.execute(agent, name, args, confirmThrough(server)));
  } catch (err) {
    return errorToolResult(err, options.logger);
  }
}

/**
 * How a `confirm` rule asks the person at this agent's client (MCP elicitation, form mode): only when the client
 * declared it can, and only an explicit "accept" with the box ticked counts. Over stateless HTTP the client's answer
 * could not reach this server, so no client there is asked and such requests are denied (fail closed).
 */
function confirmThrough(server: McpServer): ExecuteOptions {
  if (server.server.getClientCapabilities()?.elicitation === undefined) return {};
  return {
    confirm: async (question) => {
      const answer = await server.server.elicitInput({
        message: `Confirm this action? ${question.summary}. Payload SHA-256: ${question.payloadHash}`,
        requestedSchema: {
          type: 'object',
          properties: {
            confirm: { type: 'boolean', title: 'Yes, do exactly this', default: false },
          },
          required: ['confirm'],
        },
      });
      return answer.action === 'accept' && answer.content?.['confirm'] === true;
    },
  };
}

function toolDefinition(name: ActionName): Tool {
  return {
    name,
    description: actionDescriptions[name],
    inputSchema: toolInputSchema(name),
    outputSchema: toolOutputSchema(name),
    annotations: annotationsFor(name),
  };
}

function annotationsFor(name: ActionName) {
  const write = WRITE_ACTIONS.has(name);
  return {
    readOnlyHint: !write,
    destructiveHint: write,
    // Writes are idempotent by clientOrderId: the same call twice places or cancels once.
    idempotentHint: true,
    openWorldHint: name !== 'list_accounts' && name !== 'get_request',
  };
}
