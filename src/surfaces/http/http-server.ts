import fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  type FastifySchemaCompiler,
} from 'fastify';
import type { Logger } from 'pino';
import type { z } from 'zod';

import { ACTION_NAMES, actionInputSchemas, type ActionName } from '../../broker/actions.js';
import type { Broker } from '../../broker/broker.js';
import type { OperatorActions } from '../../broker/operator-actions.js';
import { randomId } from '../../broker/random-id.js';
import { CofreError } from '../../errors.js';
import { type AgentAuthenticator, createAgentAuthenticator } from '../../identity/agent-authenticator.js';
import type { StateStore } from '../../state/state-store.js';
import { createAgentAuth } from './agent-auth.js';
import {
  checkingIntervalFor,
  type ConnectionOptions,
  DEFAULT_CONNECTION_OPTIONS,
  guardConnections,
} from './connection-guard.js';
import { checkHostAndOrigin, type HostGuardOptions } from './host-guard.js';
import { httpErrorReply, httpStatusForResponse } from './http-error.js';
import { lazySchemaCompilers } from './lazy-schema-compilers.js';
import { registerMcpRoute } from './mcp-route.js';
import { actionBodySchema, buildOpenApiDocument } from './openapi-document.js';
import { createOperatorAuth } from './operator-auth.js';
import { registerOperatorRoutes } from './operator-routes.js';
import {
  bearerChallengeOf,
  type ProtectedResource,
  registerProtectedResourceRoutes,
} from './protected-resource.js';
import { RequestLogController } from './request-log-controller.js';

/** What the HTTP server needs. The caller decides where it listens (`server.host`, 127.0.0.1 by default). */
export interface HttpServerOptions extends HostGuardOptions {
  readonly broker: Broker;
  /** Where agent and session tokens are checked (and operator tokens, for the operator API). */
  readonly state: StateStore;
  /**
   * How agents authenticate (issue 17: OAuth access tokens, exchanged and delegated tokens); by default
   * `cofre agent add` tokens and session tokens from `state`, and no OAuth issuer.
   */
  readonly authenticator?: AgentAuthenticator;
  /** Request lines go to a child of this logger; never the Authorization header, a body or a token. */
  readonly logger: Logger;
  /** Largest accepted request body in bytes (`server.bodyLimit`); larger bodies get 413. */
  readonly bodyLimit: number;
  /** Clock for token expiry; tests pass a fixed one. */
  readonly now?: () => Date;
  /**
   * The operator API under `/v1/operator/` (approvals, halt, resume), authenticated with operator tokens from
   * `state`; not served when absent.
   */
  readonly operator?: OperatorActions;
  /** Serve MCP Streamable HTTP at `/mcp` (default true). */
  readonly mcp?: boolean;
  /**
   * Connection limits and timeouts (`server.connections`, see {@link connectionOptionsFor}); default
   * {@link DEFAULT_CONNECTION_OPTIONS}.
   */
  readonly connections?: ConnectionOptions;
  /**
   * Issue 17: cofre as an OAuth protected resource (`protectedResourceOf(config)`): its metadata (RFC 9728) is
   * served and every 401 names it; absent without `server.publicUrl` and `agents.oauth`.
   */
  readonly protectedResource?: ProtectedResource | undefined;
}

// SECURITY: defence in depth; the request log below never passes a request, header or body to the logger at all.
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'authorization',
  'token',
  'body',
  'req.body',
];

const ACTION_ROUTE = /^\/v1\/actions\/([a-z_]+)$/;

/**
 * The HTTP API of DESIGN.md on fastify:
 *
 * - `POST /v1/actions/<action>`: one route per action, `Authorization: Bearer <agent token>`, JSON body validated
 *   against the action's zod schema (its JSON Schema is attached to the route and published in the OpenAPI
 *   document). Answers the broker's `ActionResponse`; status: executed 200, pending_approval 202, denied 403,
 *   failed 502 for exchange-side codes (`COFRE_VENUE_*`), else the code's status (see `httpStatusForResponse`).
 *   An unknown action is 400 `COFRE_ACTION_UNKNOWN` (after authentication).
 * - `GET /v1/requests/<id>`: the agent's own earlier request (200), another agent's or none: 404.
 * - `GET /v1/health`: `{ status: "ok" }`, no auth, no version; behind the Host guard like every route.
 * - `GET /v1/openapi.json`: OpenAPI 3.1, no auth.
 * - `GET /.well-known/oauth-protected-resource[/mcp]`: OAuth protected resource metadata (RFC 9728), no auth, when
 *   `protectedResource` is given; every 401 then names it in `WWW-Authenticate` (see `bearerChallengeHeader`).
 * - `/mcp`: MCP Streamable HTTP, stateless, bearer token per request (see `registerMcpRoute`).
 * - `/v1/operator/...`: approvals and the kill switch, operator tokens only (see `registerOperatorRoutes`).
 *   SECURITY: agent routes and `/mcp` refuse operator tokens (`COFRE_AGENT_TOKEN_REQUIRED`), operator routes refuse
 *   agent tokens (`COFRE_OPERATOR_TOKEN_REQUIRED`).
 *
 * Every error, fastify's own included, goes through `httpErrorReply` and has the shape
 * `{ error: { code, message, retryable } }`. Authentication runs before the body is read. Every route checks
 * `Host` and `Origin` (DNS rebinding; see `checkHostAndOrigin`): pass `allowedHosts` when the server is reached by
 * a name other than localhost/127.0.0.1/[::1] (health probes that call by IP included). Connections are capped and
 * timed out (`guardConnections`, `options.connections`).
 *
 * Logs one line per request: method, route pattern, status, request id and duration, nothing else.
 * Returns the fastify instance unstarted; the caller calls `listen` and `close`.
 */
export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const now = options.now ?? (() => new Date());
  const logger = options.logger.child(
    { component: 'http' },
    { redact: { paths: REDACT_PATHS, censor: '[REDACTED]' } },
  );
  // Typed as fastify's base logger so the instance has the plain `FastifyInstance` type callers expect.
  const loggerInstance: FastifyBaseLogger = logger;
  const limits = options.connections ?? DEFAULT_CONNECTION_OPTIONS;
  const requestTimeout = limits.requestTimeoutMs;
  const app = fastify({
    loggerInstance,
    logController: new RequestLogController(),
    bodyLimit: options.bodyLimit,
    // SECURITY: slow-loris bounds that hold (issue 8, item 19): headers, whole request, idle keep-alive, silence.
    http: {
      headersTimeout: Math.min(limits.headersTimeoutMs, requestTimeout),
      requestTimeout,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: checkingIntervalFor(limits),
    },
    requestTimeout,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    // Never taken from a request header: a caller must not choose the id that appears in the logs.
    genReqId: () => `http_${randomId(9)}`,
    return503OnClosing: true,
    // Start-up and memory (issue 11): ajv and fast-json-stringify load only if a route ever needs them.
    schemaController: { compilersFactory: lazySchemaCompilers() },
  });
  guardConnections(app.server, limits, logger);
  const auth = createAgentAuth(options.authenticator ?? createAgentAuthenticator(options.state), now);

  // Only JSON bodies: text/plain (fastify's other default) is refused with 415 like any other type.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(zodBodyValidator);

  const challengeOf = (request: FastifyRequest) =>
    bearerChallengeOf(request, options.protectedResource, auth.authenticatedAgent(request));
  app.setErrorHandler((err, request, reply) => {
    const answer = httpErrorReply(err, request.id, request.log, challengeOf(request));
    return reply.code(answer.status).headers(answer.headers).send(answer.body);
  });
  app.setNotFoundHandler((request, reply) => {
    const answer = httpErrorReply(
      new CofreError('COFRE_ROUTE_NOT_FOUND', 'no such endpoint; see GET /v1/openapi.json'),
      request.id,
      request.log,
      challengeOf(request),
    );
    return reply.code(answer.status).headers(answer.headers).send(answer.body);
  });

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-request-id', request.id);
    // Every route, health included: a probe that calls cofre by IP lists that IP in `server.allowedHosts`.
    try {
      checkHostAndOrigin(request.headers.host, request.headers.origin, options);
    } catch (err) {
      done(err as Error);
      return;
    }
    done();
  });
  app.get('/v1/health', () => ({ status: 'ok' }));
  if (options.protectedResource !== undefined)
    registerProtectedResourceRoutes(app, options.protectedResource);
  const documentOptions = { protectedResource: options.protectedResource !== undefined };
  const openApi = buildOpenApiDocument(undefined, documentOptions);
  // Issue 9: with an agent's token, the document lists only the actions that agent's policy can allow; without one,
  // every action (the document is public: it holds no account, policy or secret).
  app.get(
    '/v1/openapi.json',
    {
      onRequest: async (request) => {
        if (request.headers.authorization !== undefined) await auth.authenticate(request);
      },
    },
    (request) =>
      request.headers.authorization === undefined
        ? openApi
        : buildOpenApiDocument(options.broker.actionsFor(auth.agentOf(request)), documentOptions),
  );

  for (const name of ACTION_NAMES) {
    app.post(
      `/v1/actions/${name}`,
      { onRequest: auth.authenticate, schema: { body: actionBodySchema(name) } },
      async (request, reply) => {
        const response = await options.broker.execute(auth.agentOf(request), name, request.body ?? {});
        return reply.code(httpStatusForResponse(name, response)).send(response);
      },
    );
  }
  // SECURITY: the unknown name is not echoed back (it may hold anything a path can carry, decoded).
  app.post('/v1/actions/:action', { onRequest: auth.authenticate }, () => {
    throw new CofreError(
      'COFRE_ACTION_UNKNOWN',
      'unknown action; the actions are listed in GET /v1/openapi.json',
    );
  });

  app.get<{ Params: { requestId: string } }>(
    '/v1/requests/:requestId',
    { onRequest: auth.authenticate },
    async (request) => {
      const { requestId } = request.params;
      return options.broker.execute(auth.agentOf(request), 'get_request', { requestId });
    },
  );

  if (options.mcp !== false) registerMcpRoute(app, { broker: options.broker, auth, logger });
  if (options.operator !== undefined) {
    registerOperatorRoutes(app, { actions: options.operator, auth: createOperatorAuth(options.state, now) });
  }
  return app;
}

/**
 * Validates each action route's body with the action's zod schema, the same one the broker and the MCP tools use,
 * so HTTP, MCP and the published JSON Schema agree and the messages are the broker's own. The broker validates again;
 * it is the authority.
 */
const zodBodyValidator: FastifySchemaCompiler<unknown> = ({ url, httpPart }) => {
  const name = ACTION_ROUTE.exec(url)?.[1];
  if (httpPart !== 'body' || name === undefined || !Object.hasOwn(actionInputSchemas, name))
    return () => true;
  const action = name as ActionName;
  const schema: z.ZodType = actionInputSchemas[action];
  return (data: unknown) => {
    const parsed = schema.safeParse(data ?? {});
    if (parsed.success) return { value: data };
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`);
    return {
      error: new CofreError('COFRE_INPUT_INVALID', `invalid input for ${action}: ${problems.join('; ')}`, {
        details: { problems },
      }),
    };
  };
};
