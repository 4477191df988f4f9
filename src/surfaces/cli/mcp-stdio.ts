import { createLogger } from '../../audit/create-logger.js';
import type { AuthenticatedAgent } from '../../broker/agent-tokens.js';
import { openBrokerRuntime } from '../../broker/broker-runtime.js';
import { runMcpStdio } from '../mcp/mcp-stdio.js';
import type { CliIo } from './cli-io.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import { readTokenFile } from './read-token-file.js';
import { untilSignal } from './until-signal.js';

/**
 * `cofre mcp --token-file <f>`: an MCP server on stdin/stdout for one agent. The token comes from a file (never
 * argv) that only its owner may read; stdout carries only MCP messages, logs go to stderr.
 */
export async function mcpStdio(
  io: CliIo,
  global: GlobalOptions,
  options: { tokenFile: string },
): Promise<void> {
  const config = await loadCliConfig(io, global);
  const token = await readTokenFile(io, options.tokenFile);
  const logger = createLogger();
  // Its stdout is the MCP protocol: a stdout audit witness writes to stderr instead.
  const runtime = await openBrokerRuntime(config, { logger, witnessStdout: process.stderr });
  try {
    // Checked now (a bad token fails at start) and again on every call (revocation and expiry apply at once).
    const reauthenticate = (): Promise<AuthenticatedAgent> =>
      runtime.authenticator.authenticate(token, new Date());
    const agent = await reauthenticate();
    const session = await runMcpStdio({ broker: runtime.broker, agent, reauthenticate, logger });
    // Serve until the client closes stdin (in-flight calls finish first) or a signal arrives.
    await Promise.race([session.closed, untilSignal()]);
    await session.close();
  } finally {
    await runtime.close();
  }
}
