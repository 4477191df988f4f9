import { bufferedDestination, createLogger } from '../../audit/create-logger.js';
import { CofreError } from '../../errors.js';
import { startBrokerServer } from './broker-server.js';
import { type CliIo, println } from './cli-io.js';
import { cofreVersion } from './cofre-version.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import { describeBackends } from './preflight.js';
import { promptHidden } from './read-secret-input.js';
import { untilSignal } from './until-signal.js';

/** Options of `cofre serve`. */
export interface ServeOptions {
  readonly host?: string;
  readonly port?: string;
  /** False with `--no-verify`: start without resolving the credential references first. */
  readonly verify?: boolean;
}

/**
 * `cofre serve`: the HTTP API and MCP Streamable HTTP for a real config, until SIGINT or SIGTERM. Before listening it
 * resolves every credential reference and checks every venue id, and refuses to start on a problem (unless
 * `--no-verify`), so a typo shows now rather than at an agent's first request. Prints a summary on stderr.
 */
export async function serve(io: CliIo, global: GlobalOptions, options: ServeOptions = {}): Promise<void> {
  const config = await loadCliConfig(io, global);
  const logger = createLogger({ destination: bufferedDestination() });
  const server = await startBrokerServer(config, {
    logger,
    verify: options.verify !== false,
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.port === undefined ? {} : { port: parsePort(options.port) }),
    promptPassphrase: (q) => promptHidden(io, q),
  });
  try {
    const agents = server.runtime.state.listAgents();
    const now = Date.now();
    const active = agents.filter((a) => a.revokedAt === undefined && a.expiresAt.getTime() > now).length;
    const accounts = Object.entries(config.accounts).map(([id, a]) => `${id} (${a.venue}, ${a.mode})`);
    println(io.stderr, `cofre ${cofreVersion()} serving ${server.url} (HTTP API at /v1, MCP at /mcp)`);
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
    logger.info({ address: server.url }, 'cofre is serving');
    await untilSignal();
  } finally {
    await server.close();
  }
}

/** A TCP port from the command line: an integer from 0 to 65535. */
export function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new CofreError('COFRE_USAGE', `invalid port "${text}"; use a number from 0 to 65535`);
  }
  return port;
}
