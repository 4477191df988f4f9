import { resolve } from 'node:path';

import { authenticateAgent, type AuthenticatedAgent } from '../../broker/agent-tokens.js';
import type { CofreConfig } from '../../config/config-schema.js';
import { loadConfig } from '../../config/load-config.js';
import { resolveConfigPath } from '../../config/resolve-config-path.js';
import { CofreError } from '../../errors.js';
import type { StateStore } from '../../state/state-store.js';
import { type CliIo, println } from './cli-io.js';
import { openCliState } from './cli-state.js';
import { cofreCommand, shellLine } from './cofre-command.js';
import type { GlobalOptions } from './command-spec.js';
import {
  type McpClient,
  mcpClientConfig,
  type McpTransport,
  parseMcpClient,
  parseMcpTransport,
} from './mcp-client-config.js';
import { readTokenFile } from './read-token-file.js';

/** What `--mcp-config <client> [--transport t] [--url u]` asks for, checked before anything is done. */
export interface McpConfigRequest {
  readonly client: McpClient;
  readonly transport: McpTransport;
  /** The absolute config file the printed `cofre mcp` command runs on. */
  readonly configFile: string;
  /** The broker's `/mcp` URL; empty for stdio. */
  readonly url: string;
}

/** The options shared by `cofre agent mcp-config` and `cofre agent add --mcp-config`. */
export interface McpConfigOptions {
  readonly transport?: string;
  readonly url?: string;
}

/**
 * Checks the client, the transport and the URL (from `--url`, else `server.host`/`server.port` of the config), so
 * that `agent add --mcp-config` refuses a typo before it issues a token.
 */
export function mcpConfigRequest(
  io: CliIo,
  global: GlobalOptions,
  config: CofreConfig,
  client: string,
  options: McpConfigOptions,
): McpConfigRequest {
  const transport = parseMcpTransport(options.transport);
  if (options.url !== undefined && transport !== 'http') {
    throw new CofreError(
      'COFRE_USAGE',
      '--url is for --transport http (stdio starts cofre, it needs no URL)',
    );
  }
  return {
    client: parseMcpClient(client),
    transport,
    configFile: resolve(io.cwd, resolveConfigPath(global.config)),
    // Only HTTP needs the URL (a config serving on port 0 has none to give); stdio starts cofre itself.
    url: transport === 'http' ? mcpUrl(config, options.url) : '',
  };
}

/**
 * `cofre agent mcp-config <agent> <client> --token-file <f> [--transport stdio|http] [--url u]`: prints a ready MCP
 * configuration of `client` for an existing agent, on stdout (the configuration only, to paste or redirect), with
 * where it goes and how the token is handled on stderr. The agent's token cannot be shown again (only its hash is
 * kept), so the configuration points to the token file, which must hold a valid token of that agent.
 */
export async function agentMcpConfig(
  io: CliIo,
  global: GlobalOptions,
  agentId: string,
  client: string,
  options: McpConfigOptions & { tokenFile?: string },
): Promise<void> {
  const config = await loadConfig(resolve(io.cwd, resolveConfigPath(global.config)));
  const request = mcpConfigRequest(io, global, config, client, options);
  if (options.tokenFile === undefined) {
    throw new CofreError(
      'COFRE_USAGE',
      "give the agent's token file with --token-file <file>: the configuration points to it (cofre keeps only a hash of the token and cannot show it again)",
    );
  }
  const tokenFile = resolve(io.cwd, options.tokenFile);
  const token = await readTokenFile(io, tokenFile);
  const { state, close: closeState } = await openCliState(io, config);
  try {
    await tokenOwner(state, agentId, tokenFile, token);
  } finally {
    await closeState();
  }
  printMcpConfig(io, request, agentId, tokenFile);
}

/** Prints the configuration on stdout and where it goes, with its notes, on stderr. */
export function printMcpConfig(io: CliIo, request: McpConfigRequest, agent: string, tokenFile: string): void {
  const config = mcpClientConfig(request.client, {
    name: `cofre-${agent}`,
    agent,
    transport: request.transport,
    stdio: cofreCommand(request.configFile, ['mcp', '--token-file', tokenFile]),
    url: request.url,
    tokenFile,
    headersCommand: shellLine(cofreCommand(undefined, ['agent', 'mcp-headers', '--token-file', tokenFile])),
  });
  println(io.stdout, config.text);
  println(
    io.stderr,
    `MCP configuration for ${request.client} (${request.transport}): put it in ${config.where}.`,
  );
  for (const note of config.notes) println(io.stderr, note);
}

async function tokenOwner(
  state: StateStore,
  agentId: string,
  tokenFile: string,
  token: string,
): Promise<AuthenticatedAgent> {
  if (!(await state.listAgents()).some((a) => a.id === agentId)) {
    throw new CofreError(
      'COFRE_AGENT_NOT_FOUND',
      `no agent "${agentId.slice(0, 64)}" (cofre agent list shows them, cofre agent add creates one)`,
    );
  }
  let owner: AuthenticatedAgent;
  try {
    owner = await authenticateAgent(state, token, new Date());
  } catch (err) {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      `the token in ${tokenFile} is no valid token of agent "${agentId}": unknown, expired or revoked (cofre agent list shows which)`,
      { cause: err },
    );
  }
  if (owner.id !== agentId) {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      `the token in ${tokenFile} is agent "${owner.id}"'s, not "${agentId}"'s`,
    );
  }
  return owner;
}

// Where an MCP client reaches the broker: --url as given (with /mcp added when missing), else the configured address
// (a wildcard bind answers on loopback too).
function mcpUrl(config: CofreConfig, given: string | undefined): string {
  let url: URL;
  if (given === undefined) {
    if (config.server.port === 0) {
      throw new CofreError(
        'COFRE_USAGE',
        "server.port is 0 (any free port), so the broker's URL is not known: give it with --url",
      );
    }
    const host = ['0.0.0.0', '::'].includes(config.server.host) ? '127.0.0.1' : config.server.host;
    url = new URL(`http://${host.includes(':') ? `[${host}]` : host}:${config.server.port}/mcp`);
  } else {
    try {
      url = new URL(given);
    } catch {
      url = new URL('invalid:');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new CofreError(
        'COFRE_USAGE',
        `--url must be the broker's http:// or https:// URL, e.g. http://127.0.0.1:8787 (got "${given.slice(0, 80)}")`,
      );
    }
    if (!url.pathname.endsWith('/mcp')) url.pathname = `${url.pathname.replace(/\/$/, '')}/mcp`;
  }
  return url.href;
}
