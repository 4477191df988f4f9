import type { Logger } from 'pino';

import type { AuditSink } from '../../audit/audit-log.js';
import type { BrokerControl } from '../../broker/broker-control.js';
import { type BrokerRuntime, openBrokerRuntime } from '../../broker/broker-runtime.js';
import type { KeyScopeStatus } from '../../broker/key-scope-gate.js';
import type { OperatorActions } from '../../broker/operator-actions.js';
import type { CofreConfig } from '../../config/config-schema.js';
import { CofreError } from '../../errors.js';
import { createTokenExchange } from '../../identity/token-exchange.js';
import { type DatabaseListeners, startDatabaseListeners } from '../database/database-listeners.js';
import { connectionOptionsFor } from '../http/connection-guard.js';
import { createConsoleServer } from '../http/console/console-server.js';
import { createHttpServer } from '../http/http-server.js';
import { protectedResourceOf } from '../http/protected-resource.js';
import { checkKeyScopesAtStart } from './key-scope-at-start.js';
import { operatorActionsFor } from './operator-actions-for.js';
import { preflightError, type PreflightReport, runPreflight } from './preflight.js';

/** A fastify instance, named without importing fastify (only surfaces/http may). */
type HttpServer = ReturnType<typeof createHttpServer>;

/** Options of {@link startBrokerServer}; host and port default to `server.host` and `server.port`. */
export interface BrokerServerOptions {
  readonly logger: Logger;
  readonly host?: string;
  readonly port?: number;
  /** Resolve every credential reference and check venue ids before listening; fail fast on any problem. */
  readonly verify: boolean;
  /** Take any free port when the chosen one is taken (the demo); otherwise that is `COFRE_PORT_IN_USE`. */
  readonly anyPortIfTaken?: boolean;
  readonly promptPassphrase?: (question: string) => Promise<Buffer>;
  /** The clock of the broker, its policy and the operator API (approval expiry); default the system clock. */
  readonly now?: () => Date;
  /** A worker of `serve --workers N`: the sink to the primary's audit log (see `openBrokerRuntime`). */
  readonly audit?: AuditSink;
  /** A worker of `serve --workers N`: its share of each venue's rate, `1/N`. */
  readonly venueRateShare?: number;
  /**
   * Settle the requests a stopped cofre left `executing` once listening (default true). False in every worker of
   * `serve --workers N` but the first: a replacement worker would settle requests other workers are executing.
   */
  readonly reconcile?: boolean;
  /**
   * What the operator API halts and resumes; default this process's broker. A worker passes one that also halts
   * (and waits for) every other worker.
   */
  readonly operatorBroker?: (broker: BrokerControl) => BrokerControl;
  /**
   * Serve the operator console when `server.console` is set (default true). False in every worker of
   * `serve --workers N` but the one that serves it (see serve-workers.ts).
   */
  readonly console?: boolean;
}

/** A broker serving HTTP and MCP, as `cofre serve` and `cofre demo` run it. */
export interface BrokerServer {
  readonly url: string;
  /** Issue 18: where the operator console listens; undefined when it is not served. */
  readonly consoleUrl?: string | undefined;
  readonly runtime: BrokerRuntime;
  /** What the start-up check found; undefined when it was skipped. */
  readonly preflight: PreflightReport | undefined;
  /**
   * Least privilege (issue 12): each account's key scope as judged at start (a refused account is not served).
   * Undefined in the primary of `serve --workers N`, which serves nothing: each worker judges for itself.
   */
  readonly keyScope?: readonly KeyScopeStatus[] | undefined;
  /** Issue 15: where each of `databases` listens (empty when none is configured). */
  readonly databases?: DatabaseListeners['addresses'];
  /** Stops listening, then closes the runtime. Idempotent. */
  close(): Promise<void>;
}

/**
 * The one wiring of a serving broker: the runtime a config describes, the start-up check, and the HTTP API with MCP
 * at `/mcp`. Everything opened is closed again when a step fails.
 */
export async function startBrokerServer(
  config: CofreConfig,
  options: BrokerServerOptions,
): Promise<BrokerServer> {
  const runtime = await openBrokerRuntime(config, {
    logger: options.logger,
    ...(options.promptPassphrase === undefined ? {} : { promptPassphrase: options.promptPassphrase }),
    ...(options.now === undefined ? {} : { now: options.now }),
    // A worker does not restore from the audit log: the primary, its one writer, did before forking any worker.
    ...(options.audit === undefined ? {} : { audit: options.audit, reconcileFromAudit: false }),
    ...(options.venueRateShare === undefined ? {} : { venueRateShare: options.venueRateShare }),
  });
  const operator = operatorActionsFor(config, runtime, options);
  const server = agentServerFor(config, runtime, operator, options);
  const consoleConfig = options.console === false ? undefined : config.server.console;
  let consoleServer: HttpServer | undefined;
  let closed: Promise<void> | undefined;
  let databases: DatabaseListeners | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      await databases?.close();
      await consoleServer?.close().catch(() => undefined);
      await server.close().catch(() => undefined);
      await runtime.close();
    })());
  try {
    const preflight = options.verify ? await startupPreflight(config, runtime) : undefined;
    // With or without --no-verify: it never fails the start, it only keeps over-privileged accounts from being served.
    const keyScope = await checkKeyScopesAtStart(
      runtime.keyScope,
      Object.keys(config.accounts),
      options.logger,
    );
    const host = options.host ?? config.server.host;
    const port = options.port ?? config.server.port;
    const url = await listen(server, host, port, options.anyPortIfTaken === true);
    // Issue 18: the console on its own listener, over the same OperatorActions as the agent port's operator API.
    let consoleUrl: string | undefined;
    if (consoleConfig !== undefined) {
      consoleServer = consoleServerFor(config, consoleConfig, runtime, operator, options);
      consoleUrl = await listen(
        consoleServer,
        consoleConfig.host,
        consoleConfig.port,
        options.anyPortIfTaken === true,
        'server.console.port',
      );
    }
    databases = await startDatabaseListeners(config, {
      state: runtime.state,
      authenticator: runtime.authenticator,
      secrets: runtime.secrets,
      audit: runtime.audit,
      logger: options.logger,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    // In the background: an unreachable venue must not keep the broker from serving.
    if (options.reconcile !== false) {
      runtime.reconcileInterrupted().catch((err: unknown) => {
        options.logger.error({ err }, 'settling interrupted requests failed');
      });
    }
    return { url, consoleUrl, runtime, preflight, keyScope, databases: databases.addresses, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The agent port's HTTP API (with MCP and the operator API) for a config. */
function agentServerFor(
  config: CofreConfig,
  runtime: BrokerRuntime,
  operator: OperatorActions,
  options: BrokerServerOptions,
): HttpServer {
  return createHttpServer({
    broker: runtime.broker,
    state: runtime.state,
    authenticator: runtime.authenticator,
    operator,
    logger: options.logger,
    bodyLimit: config.server.bodyLimit,
    connections: connectionOptionsFor(config.server),
    ...(config.server.allowedHosts === undefined ? {} : { allowedHosts: [...config.server.allowedHosts] }),
    protectedResource: protectedResourceOf(config),
    ...(config.agents.exchange.length === 0
      ? {}
      : {
          tokenExchange: createTokenExchange({
            issuers: config.agents.exchange,
            publicUrl: config.server.publicUrl,
            state: runtime.state,
            audit: runtime.audit,
            now: options.now ?? (() => new Date()),
          }),
        }),
  });
}

/**
 * Issue 18: the console's listener, over the same `OperatorActions` as the agent port's operator API (one path into
 * the broker for people), with the agent port's connection limits applied to the console's own host.
 */
function consoleServerFor(
  config: CofreConfig,
  consoleConfig: NonNullable<CofreConfig['server']['console']>,
  runtime: BrokerRuntime,
  operator: OperatorActions,
  options: BrokerServerOptions,
): HttpServer {
  return createConsoleServer({
    config: consoleConfig,
    actions: operator,
    store: runtime.state,
    audit: runtime.audit,
    logger: options.logger,
    connections: connectionOptionsFor({ host: consoleConfig.host, connections: config.server.connections }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}

async function listen(
  server: HttpServer,
  host: string,
  port: number,
  anyPortIfTaken: boolean,
  setting = 'server.port',
): Promise<string> {
  try {
    return await server.listen({ host, port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    if (anyPortIfTaken) return server.listen({ host, port: 0 });
    throw new CofreError(
      'COFRE_PORT_IN_USE',
      `port ${port} on ${host} is already in use by another process; stop it, or choose another port with ${setting === 'server.port' ? '--port (or server.port in the config)' : setting}`,
      { cause: err, details: { host, port } },
    );
  }
}

/**
 * The start-up check of `cofre serve` (one process or the primary of workers): every credential reference resolves
 * and every venue exists, or `COFRE_PREFLIGHT_FAILED` listing what does not.
 */
export async function startupPreflight(
  config: CofreConfig,
  runtime: BrokerRuntime,
): Promise<PreflightReport> {
  // Through the runtime's audited reads: the server's own checks of each credential are on record too.
  const preflight = await runPreflight(config, {
    resolve: (reference) => runtime.secrets.read(reference, { purpose: 'preflight' }),
  });
  if (preflight.problems.length > 0) {
    throw preflightError(
      preflight,
      'Fix them (`cofre doctor` checks again), or start anyway with --no-verify.',
    );
  }
  return preflight;
}
