import { availableParallelism } from 'node:os';

import { bufferedDestination, createLogger } from '../../audit/create-logger.js';
import { type CofreConfig, MAX_SERVE_WORKERS } from '../../config/config-schema.js';
import { CofreError } from '../../errors.js';
import { startBrokerServer } from './broker-server.js';
import { type CliIo, println } from './cli-io.js';
import { cofreVersion } from './cofre-version.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import { describeBackends } from './preflight.js';
import { promptHidden } from './read-secret-input.js';
import type { WorkersServer } from './serve-workers.js';
import { untilSignal } from './until-signal.js';

/** Options of `cofre serve`. */
export interface ServeOptions {
  readonly host?: string;
  readonly port?: string;
  /** False with `--no-verify`: start without resolving the credential references first. */
  readonly verify?: boolean;
  /** `--workers`: a count, or `auto` (or 0) for one per CPU core; default `server.workers`. */
  readonly workers?: string;
  /** `--console-port`: the operator console's port instead of `server.console.port` (two replicas on one host). */
  readonly consolePort?: string;
}

/**
 * `cofre serve`: the HTTP API and MCP Streamable HTTP for a real config, until SIGINT or SIGTERM. Before listening it
 * resolves every credential reference and checks every venue id, and refuses to start on a problem (unless
 * `--no-verify`), so a typo shows now rather than at an agent's first request. Prints a summary on stderr.
 */
export async function serve(io: CliIo, global: GlobalOptions, options: ServeOptions = {}): Promise<void> {
  const config = withConsolePort(await loadCliConfig(io, global), options.consolePort);
  const workers = workerCount(options.workers ?? config.server.workers);
  const logger = createLogger({ destination: bufferedDestination() });
  const listen = {
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.port === undefined ? {} : { port: parsePort(options.port) }),
  };
  // One worker is today's single process, unchanged; more run under node:cluster (serve-workers.ts).
  const server =
    workers === 1
      ? await startBrokerServer(config, {
          logger,
          verify: options.verify !== false,
          ...listen,
          promptPassphrase: (q) => promptHidden(io, q),
        })
      : await (
          await import('./serve-workers.js')
        ).startServeWorkers(config, { logger, verify: options.verify !== false, workers, ...listen });
  try {
    const agents = await server.runtime.state.listAgents();
    const now = Date.now();
    const active = agents.filter((a) => a.revokedAt === undefined && a.expiresAt.getTime() > now).length;
    // Issue 12: an account refused for its key's scope is named as such (the log says why, `cofre doctor` too).
    const refused = new Set(server.keyScope?.filter((k) => k.state === 'refused').map((k) => k.account));
    const accounts = Object.entries(config.accounts).map(
      ([id, a]) =>
        `${id} (${a.venue}, ${a.mode}${refused.has(id) ? ', REFUSED: its key can do too much' : ''})`,
    );
    println(io.stderr, `cofre ${cofreVersion()} serving ${server.url} (HTTP API at /v1, MCP at /mcp)`);
    if (server.consoleUrl !== undefined) {
      println(
        io.stderr,
        `  console: ${consoleAddress(config.server.console?.publicUrl, server.consoleUrl)} (log in with an operator token: \`cofre operator add <id>\`)`,
      );
    }
    println(io.stderr, `  accounts: ${accounts.join(', ') || 'none'}`);
    println(
      io.stderr,
      server.preflight === undefined
        ? '  backends: not checked (--no-verify)'
        : `  backends: ${describeBackends(server.preflight).join('; ')}`,
    );
    println(
      io.stderr,
      `  agents: ${active} active${active === 0 ? ' (add one with `cofre agent add <id> --token-file <file>`)' : ''}`,
    );
    // Issue 19: what agents may sign and encrypt with, by name (`cofre wallet list` shows the addresses).
    const wallets = Object.entries(config.wallets).map(([id, w]) => `${id} (${w.chain}, ${w.key.type})`);
    if (wallets.length > 0) println(io.stderr, `  wallets: ${wallets.join(', ')}`);
    const keys = Object.entries(config.encryptionKeys).map(([id, k]) => `${id} (${k.type})`);
    if (keys.length > 0) println(io.stderr, `  encryption keys: ${keys.join(', ')}`);
    for (const [name, at] of Object.entries(server.databases ?? {})) {
      println(
        io.stderr,
        `  database ${name}: postgresql://<agent>@${at.host}:${at.port} (password: the agent token)`,
      );
    }
    // Issue 16: which replica this is, so an operator can match it with the `replica` of its audit records.
    if (config.state.type === 'postgres') {
      println(io.stderr, `  state: PostgreSQL, replica ${server.runtime.state.replicaId}`);
    }
    const pool = 'pids' in server ? (server as WorkersServer) : undefined;
    if (pool !== undefined) println(io.stderr, `  workers: ${workers} (pids ${pool.pids().join(', ')})`);
    logger.info({ address: server.url, workers }, 'cofre is serving');
    await (pool === undefined ? untilSignal() : Promise.race([untilSignal(), pool.failed]));
  } finally {
    await server.close();
  }
}

/**
 * The config with `--console-port` in place of `server.console.port`, so replicas started on one host from one
 * config (each with its own `--port`) can each serve a console. The config loader's check that the console does not
 * share the agent port does not see this; the second listener then fails with `COFRE_PORT_IN_USE`.
 */
function withConsolePort(config: CofreConfig, consolePort: string | undefined): CofreConfig {
  if (consolePort === undefined) return config;
  const consoleConfig = config.server.console;
  if (consoleConfig === undefined) {
    throw new CofreError(
      'COFRE_USAGE',
      '--console-port needs a `server.console` block in the config; there is no console to move',
    );
  }
  return {
    ...config,
    server: { ...config.server, console: { ...consoleConfig, port: parsePort(consolePort) } },
  };
}

/** Where operators open the console: its `publicUrl` (naming where it listens), or where it listens. */
function consoleAddress(publicUrl: string | undefined, listening: string): string {
  return publicUrl === undefined ? listening : `${publicUrl} (listening on ${listening})`;
}

/**
 * The number of workers `--workers` or `server.workers` asks for: a count from 1 to 4 per CPU core (at most
 * {@link MAX_SERVE_WORKERS}), or `auto` / `0` for one per core.
 */
export function workerCount(value: string | number, cores = availableParallelism()): number {
  if (value === 'auto' || value === 0 || value === '0') return cores;
  const count = Number(value);
  const most = Math.min(MAX_SERVE_WORKERS, Math.max(4, cores * 4));
  if ((typeof value === 'string' && !/^\d+$/.test(value)) || !Number.isInteger(count) || count > most) {
    throw new CofreError(
      'COFRE_USAGE',
      `invalid number of workers "${value}"; use a number from 1 to ${most} (4 per CPU core), or auto for one per core (${cores})`,
    );
  }
  return count;
}

/** A TCP port from the command line: an integer from 0 to 65535. */
export function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new CofreError('COFRE_USAGE', `invalid port "${text}"; use a number from 0 to 65535`);
  }
  return port;
}
