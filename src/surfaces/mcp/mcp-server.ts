import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { z } from 'zod';

import {
  ACTION_NAMES,
  actionDescriptions,
  actionInputSchemas,
  type ActionName,
  WRITE_ACTIONS,
} from '../../broker/actions.js';
import type { AuthenticatedAgent } from '../../broker/agent-tokens.js';
import type { Broker } from '../../broker/broker.js';
import { actionToolResult, DATA_NOTICE, errorToolResult } from './mcp-tool-result.js';

/** What an MCP server for one agent needs. */
export interface McpServerOptions {
  readonly broker: Broker;
  /**
   * The agent every tool call runs as, authenticated by the caller (HTTP: the bearer of this request), or a function
   * that authenticates it again on every call (stdio: the token file, so a revoked or expired token stops working
   * in a running session too).
   */
  readonly agent: AuthenticatedAgent | (() => AuthenticatedAgent);
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
 * An MCP server with one tool per broker action, bound to one authenticated agent. Tool names, input schemas and
 * descriptions are the broker's own (`ACTION_NAMES`, `actionInputSchemas`, `actionDescriptions`), so MCP, HTTP and
 * the OpenAPI document cannot drift apart.
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
    const running = runTool(options, name, args);
    if (inFlight !== undefined) {
      inFlight.add(running);
      void running.finally(() => inFlight.delete(running));
    }
    return running;
  };

  for (const name of ACTION_NAMES) {
    const inputSchema: z.ZodType = actionInputSchemas[name];
    server.registerTool(
      name,
      { description: actionDescriptions[name], inputSchema, annotations: annotationsFor(name) },
      (args: unknown) => call(name, args),
    );
  }

  // The registered tools serve tools/list (names, descriptions, JSON Schemas). tools/call is answered here instead
  // of by the SDK, whose handler validates first and words rejections its own way, without a code or the notice.
  server.server.removeRequestHandler(CallToolRequestSchema.shape.method.value);
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

async function runTool(options: McpServerOptions, name: ActionName, args: unknown): Promise<CallToolResult> {
  try {
    const agent = typeof options.agent === 'function' ? options.agent() : options.agent;
    return actionToolResult(await options.broker.execute(agent, name, args));
  } catch (err) {
    return errorToolResult(err, options.logger);
  }
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
