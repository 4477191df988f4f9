import type * as McpTransportModule from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';

import type { Broker } from '../../broker/broker.js';
import { CofreError } from '../../errors.js';
import type * as McpServerModule from '../mcp/mcp-server.js';
import type { AgentAuth } from './agent-auth.js';
import { httpErrorReply } from './http-error.js';

/** What the `/mcp` route needs from the HTTP server. */
export interface McpRouteOptions {
  readonly broker: Broker;
  readonly auth: AgentAuth;
  readonly logger: Logger;
}

/**
 * MCP Streamable HTTP at `/mcp`, stateless: every POST is authenticated with its own bearer token and served by a
 * fresh MCP server bound to that agent, then discarded. There are no MCP sessions, so there is nothing one agent
 * could reuse with another agent's token, and nothing to expire or clean up.
 *
 * - Responses are plain JSON (`enableJsonResponse`), not SSE: every tool call is one request and one answer.
 * - GET (the server-to-client SSE stream) and DELETE (ending a session) answer 405, as the specification allows a
 *   server without them to.
 * - The body is parsed by fastify, so the body limit, the JSON checks and the error shapes are the API's own; the
 *   `Host`/`Origin` check (DNS rebinding) runs before this route like before every other.
 * - The MCP SDK (and the zod-to-JSON-Schema work of building a server's tool list) is loaded on the first request to
 *   `/mcp`, not at start: it is ~25 MiB of RSS and ~100 ms of start-up that a broker used only over `/v1` never needs
 *   (bench/README.md, "Memory and start-up").
 */
export function registerMcpRoute(app: FastifyInstance, options: McpRouteOptions): void {
  const { broker, auth, logger } = options;

  app.post('/mcp', { onRequest: auth.authenticate }, async (request, reply) => {
    const agent = auth.agentOf(request);
    const { createMcpServer, StreamableHTTPServerTransport } = await loadMcp();
    const server = createMcpServer({ broker, agent, logger });
    // No sessionIdGenerator: stateless mode, one transport per request.
    const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true });
    reply.raw.setHeader('cache-control', 'no-store');
    reply.raw.setHeader('x-request-id', request.id);
    reply.hijack();
    reply.raw.once('close', () => {
      void transport.close().finally(() => server.close());
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(request.raw, reply.raw, request.body);
    } catch (err) {
      // The reply is hijacked, so fastify's error handler cannot answer; the one mapper still decides what to say.
      const answer = httpErrorReply(err, request.id, request.log);
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(answer.status, {
          ...answer.headers,
          'content-type': 'application/json; charset=utf-8',
        });
        reply.raw.end(JSON.stringify(answer.body));
      } else if (!reply.raw.writableEnded) {
        reply.raw.end();
      }
    }
  });

  const notAllowed = (_request: unknown, reply: FastifyReply): never => {
    reply.header('allow', 'POST');
    throw new CofreError('COFRE_METHOD_NOT_ALLOWED', 'this MCP server is stateless: use POST /mcp');
  };
  app.get('/mcp', { onRequest: auth.authenticate }, notAllowed);
  app.delete('/mcp', { onRequest: auth.authenticate }, notAllowed);
}

let mcpLoading: Promise<McpModules> | undefined;

type McpModules = typeof McpServerModule & typeof McpTransportModule;

/** The MCP SDK's HTTP transport and cofre's MCP server, imported on first use; a failed import is retried. */
function loadMcp(): Promise<McpModules> {
  mcpLoading ??= Promise.all([
    import('../mcp/mcp-server.js'),
    import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
  ]).then(
    ([server, transport]) => ({ ...server, ...transport }),
    (err: unknown) => {
      mcpLoading = undefined;
      throw err;
    },
  );
  return mcpLoading;
}
