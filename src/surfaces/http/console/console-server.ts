import fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';

import type { AuditSink } from '../../../audit/audit-log.js';
import type { OperatorActions } from '../../../broker/operator-actions.js';
import { randomId } from '../../../broker/random-id.js';
import type { ConsoleConfig } from '../../../config/console-config.js';
import { CofreError } from '../../../errors.js';
import type { ControlStore } from '../../../state/control-store.js';
import {
  checkingIntervalFor,
  type ConnectionOptions,
  DEFAULT_CONNECTION_OPTIONS,
  guardConnections,
} from '../connection-guard.js';
import { checkHostAndOrigin, LOOPBACK_HOSTS } from '../host-guard.js';
import { httpErrorReply } from '../http-error.js';
import { lazySchemaCompilers } from '../lazy-schema-compilers.js';
import { registerOperatorRoutes } from '../operator-routes.js';
import { RequestLogController } from '../request-log-controller.js';
import { type BundleFile, type ConsoleBundle, loadConsoleBundle, NOT_BUILT_PAGE } from './console-bundle.js';
import { consoleSecurityHeaders } from './console-headers.js';
import { type ConsoleOrigins, isOwnOrigin, SAFE_METHODS } from './console-origin.js';
import { registerConsoleSessionRoutes } from './console-session-routes.js';
import { ConsoleSessions } from './console-sessions.js';
import { type ConsoleTls, readConsoleTls } from './console-tls.js';
import { createCookieOperatorAuth } from './cookie-operator-auth.js';
import { endStreamsWithTheirSession } from './session-bound-streams.js';

/** What the console listener needs. */
export interface ConsoleServerOptions {
  /** `server.console` (paths absolute, as `loadConfig` leaves them). */
  readonly config: Readonly<Omit<ConsoleConfig, 'allowedHosts'>> & {
    readonly allowedHosts?: readonly string[] | undefined;
  };
  /** The one `OperatorActions` of this broker, the same the agent port's operator API uses. */
  readonly actions: OperatorActions;
  /** The operators (login, and the re-check of each session's operator on every request). */
  readonly store: ControlStore;
  /** Where logins, refused logins and logouts are recorded. */
  readonly audit: AuditSink | undefined;
  readonly logger: Logger;
  /** Connection limits and timeouts; default {@link DEFAULT_CONNECTION_OPTIONS}. */
  readonly connections?: ConnectionOptions;
  /** Where the built console is (default `dist/console` of this package); read once, here. */
  readonly bundleDir?: string;
  /** Clock of sessions and token expiry; tests pass one they move. */
  readonly now?: () => Date;
  /** Largest request body (default 64 KiB). */
  readonly bodyLimit?: number;
  /** How often an open event stream's session is checked (default 5 s, `STREAM_SESSION_CHECK_MS`). */
  readonly streamCheckMs?: number;
}

// SECURITY: defence in depth; the request log never passes a request, header or body to the logger at all.
const REDACT_PATHS = ['req.headers.cookie', 'headers.cookie', 'cookie', 'token', 'body', 'req.body'];

/**
 * The operator console's listener (issue 18): a fastify instance of its own, never the agent port.
 *
 * - `GET /` (and any other page path a browser asks for as HTML) → `index.html`; `GET /assets/<file>` → the bundle,
 *   from memory (see `loadConsoleBundle`). Without a built console, `/` answers 503 saying to run `npm run build`.
 * - `POST /console/login`, `GET /console/session`, `POST /console/logout`: sessions (see
 *   `registerConsoleSessionRoutes`).
 * - `/v1/operator/...`: the operator API, exactly the agent port's routes (`registerOperatorRoutes`) over the same
 *   `OperatorActions`, authenticated by session cookie with CSRF checks (`createCookieOperatorAuth`).
 *
 * SECURITY: every answer carries the console's CSP and security headers (`consoleSecurityHeaders`); every request's
 * `Host` must be loopback, `allowedHosts`, or `publicUrl`'s host (DNS rebinding); other sites may only navigate to
 * the page (`refuseOtherSites`); an open event stream ends with its session (`endStreamsWithTheirSession`).
 * Connections are capped and timed out as on the agent port. HTTPS when `config.tls` is set.
 *
 * Returns the fastify instance unstarted; the caller calls `listen` and `close`.
 */
export function createConsoleServer(options: ConsoleServerOptions): FastifyInstance {
  const { config } = options;
  const now = options.now ?? (() => new Date());
  const logger = options.logger.child(
    { component: 'console' },
    { redact: { paths: REDACT_PATHS, censor: '[REDACTED]' } },
  );
  const tls = config.tls === undefined ? undefined : readConsoleTls(config.tls);
  const app = fastifyFor(options, logger, tls);
  const https = tls !== undefined || config.publicUrl?.startsWith('https://') === true;
  const origins: ConsoleOrigins = {
    scheme: tls === undefined ? 'http' : 'https',
    publicUrl: config.publicUrl,
  };
  const allowedHosts = [
    ...LOOPBACK_HOSTS,
    ...(config.allowedHosts ?? []),
    ...(config.publicUrl === undefined ? [] : [new URL(config.publicUrl).hostname]),
  ];
  const headers = consoleSecurityHeaders(https);
  const sessions = new ConsoleSessions({
    store: options.store,
    idleTimeoutMs: config.idleTimeout,
    lifetimeMs: config.sessionLifetime,
    now,
  });
  const auth = createCookieOperatorAuth(sessions, origins);

  app.removeContentTypeParser('text/plain');
  app.setErrorHandler((err, request, reply) => {
    const answer = httpErrorReply(err, request.id, request.log);
    // A session cookie is no bearer scheme: no `WWW-Authenticate: Bearer` on the console's 401s.
    const { 'www-authenticate': _bearer, ...rest } = answer.headers;
    return reply.code(answer.status).headers(rest).send(answer.body);
  });

  app.addHook('onRequest', (request, reply, done) => {
    void reply.headers(headers);
    reply.header('cache-control', 'no-store');
    reply.header('x-request-id', request.id);
    try {
      checkHostAndOrigin(request.headers.host, undefined, { allowedHosts });
      // The login checks the same itself, after its rate limit, so that each refusal can be audited.
      if (request.routeOptions.url !== '/console/login') refuseOtherSites(request, origins);
    } catch (err) {
      done(err as Error);
      return;
    }
    done();
  });

  endStreamsWithTheirSession(app, sessions, options.streamCheckMs);
  const bundle = loadConsoleBundle(options.bundleDir);
  if (bundle === undefined) {
    logger.warn('the console is not built (dist/console is missing): run `npm run build`');
  }
  registerStaticRoutes(app, bundle);
  registerConsoleSessionRoutes(app, {
    sessions,
    auth,
    origins,
    store: options.store,
    audit: options.audit,
    logger,
    secureCookie: https,
    now,
  });
  registerOperatorRoutes(app, { actions: options.actions, auth });
  return app;
}

/**
 * The fastify instance of the console: HTTP, or HTTPS with `tls`, with the agent port's slow-loris bounds and
 * connection limits (`guardConnections`).
 */
function fastifyFor(
  options: ConsoleServerOptions,
  logger: Logger,
  tls: ConsoleTls | undefined,
): FastifyInstance {
  const loggerInstance: FastifyBaseLogger = logger;
  const limits = options.connections ?? DEFAULT_CONNECTION_OPTIONS;
  const requestTimeout = limits.requestTimeoutMs;
  const timeouts = {
    headersTimeout: Math.min(limits.headersTimeoutMs, requestTimeout),
    requestTimeout,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: checkingIntervalFor(limits),
  };
  const common = {
    loggerInstance,
    logController: new RequestLogController(),
    bodyLimit: options.bodyLimit ?? 65_536,
    requestTimeout,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    genReqId: () => `console_${randomId(9)}`,
    return503OnClosing: true,
    schemaController: { compilersFactory: lazySchemaCompilers() },
  };
  // The HTTPS instance is typed for https.Server; the routes need only what both server kinds share.
  const app =
    tls === undefined
      ? fastify({ ...common, http: timeouts })
      : (fastify({
          ...common,
          https: { cert: tls.cert, key: tls.key, handshakeTimeout: timeouts.headersTimeout, ...timeouts },
        }) as unknown as FastifyInstance);
  guardConnections(app.server, limits, logger, tls !== undefined);
  return app;
}

/**
 * SECURITY: what another site may ask of the console: nothing but to open the page. A request with a foreign
 * `Origin` is refused (`COFRE_CSRF_REJECTED` when it would change something, else `COFRE_ORIGIN_REFUSED`), and so is
 * a request a browser marks `Sec-Fetch-Site: cross-site` or `same-site` (another port of the same host is the same
 * site, and `SameSite` cookies go along) unless it is a top-level navigation: an `<img>` or `<script>` of another
 * page cannot read the operator API, nor keep a session alive through `GET /console/session` (fetch metadata
 * resource isolation).
 */
function refuseOtherSites(request: FastifyRequest, origins: ConsoleOrigins): void {
  const safe = SAFE_METHODS.has(request.method);
  const origin = request.headers.origin;
  if (origin !== undefined && !isOwnOrigin(origin, request.headers.host, origins)) {
    throw safe
      ? new CofreError('COFRE_ORIGIN_REFUSED', 'requests from other sites are not allowed')
      : new CofreError('COFRE_CSRF_REJECTED', 'this request comes from another site; nothing was done');
  }
  const site = request.headers['sec-fetch-site'];
  if (site !== 'cross-site' && site !== 'same-site') return;
  const navigation =
    request.method === 'GET' &&
    request.headers['sec-fetch-mode'] === 'navigate' &&
    request.headers['sec-fetch-dest'] === 'document';
  if (navigation) return;
  throw safe
    ? new CofreError('COFRE_ORIGIN_REFUSED', 'requests from other sites are not allowed')
    : new CofreError('COFRE_CSRF_REJECTED', 'this request comes from another site; nothing was done');
}

/** Where the console's own paths live; a browser asking for any other path as a page gets `index.html`. */
const NOT_PAGES = /^\/(?:v1|console|assets)(?:\/|$)/;

function registerStaticRoutes(app: FastifyInstance, bundle: ConsoleBundle | undefined): void {
  const page = (reply: FastifyReply) => {
    if (bundle === undefined) {
      return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
    }
    return send(reply, bundle.index, 'no-store', undefined);
  };
  app.get('/', (_request, reply) => page(reply));
  // Browsers ask for it unprompted; an empty answer keeps a 404 out of every page's console.
  app.get('/favicon.ico', (_request, reply) => reply.code(204).send());
  app.get<{ Params: { '*': string } }>('/assets/*', (request, reply) => {
    const file = bundle?.assets.get(`assets/${request.params['*']}`);
    if (file === undefined) throw notFound();
    // Not content-hashed names: cached, but revalidated (304 when unchanged) so an upgrade is seen at once.
    return send(reply, file, 'no-cache', request.headers['if-none-match']);
  });
  app.setNotFoundHandler((request, reply) => {
    // Client-side routes (`/approvals`, reloaded or bookmarked) are the page itself.
    const html = request.headers.accept?.includes('text/html') === true;
    if (request.method === 'GET' && html && !NOT_PAGES.test(request.url)) return page(reply);
    throw notFound();
  });
}

function send(
  reply: FastifyReply,
  file: BundleFile,
  cacheControl: string,
  ifNoneMatch: string | undefined,
): FastifyReply {
  void reply.header('cache-control', cacheControl).header('etag', file.etag);
  if (ifNoneMatch === file.etag) return reply.code(304).send();
  return reply.type(file.contentType).send(file.body);
}

function notFound(): CofreError {
  return new CofreError('COFRE_ROUTE_NOT_FOUND', 'no such page or file in the console');
}
