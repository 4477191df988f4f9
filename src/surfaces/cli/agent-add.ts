import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';

import { addAgent, choosePolicy } from '../../broker/access-changes.js';
import { formatDuration, parseDuration } from '../../config/duration.js';
import { CofreError } from '../../errors.js';
import { type McpConfigOptions, mcpConfigRequest, printMcpConfig } from './agent-mcp-config.js';
import { localOperator, openCliAudit } from './cli-audit.js';
import { type CliIo, println } from './cli-io.js';
import { openCliState } from './cli-state.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import { writeAgentTokenFile } from './paper-provisioning.js';

/**
 * `cofre agent add <id> [--policy p] [--ttl d] [--token-file f] [--mcp-config <client> [--transport t] [--url u]]`:
 * registers an agent and hands out its token once: written to a new file of mode 600 with `--token-file`, else
 * printed on stdout. Only a hash is stored; a lost token is replaced by revoking the agent and adding it again. With
 * `--mcp-config` (which needs `--token-file`), stdout carries that MCP client's configuration instead, pointing to
 * the token file (as `cofre agent mcp-config` prints it).
 */
export async function agentAdd(
  io: CliIo,
  global: GlobalOptions,
  id: string,
  options: { policy?: string; ttl?: string; tokenFile?: string; mcpConfig?: string } & McpConfigOptions,
): Promise<void> {
  const config = await loadCliConfig(io, global);
  // Checked before the token is issued, so that a typo in the client's name adds no agent.
  let mcp: ReturnType<typeof mcpConfigRequest> | undefined;
  if (options.mcpConfig !== undefined) {
    if (options.tokenFile === undefined) {
      throw new CofreError(
        'COFRE_USAGE',
        '--mcp-config needs --token-file <file>: the configuration points to the token file and never holds the token',
      );
    }
    mcp = mcpConfigRequest(io, global, config, options.mcpConfig, options);
  } else if (options.transport !== undefined || options.url !== undefined) {
    throw new CofreError('COFRE_USAGE', '--transport and --url go with --mcp-config <client>');
  }
  const policy = choosePolicy(
    Object.keys(config.policies),
    options.policy,
    'COFRE_USAGE',
    'choose a policy with --policy',
  );
  const ttlMs = options.ttl === undefined ? config.agents.tokenTtl : parseDuration(options.ttl);
  const { state, close: closeState } = await openCliState(io, config);
  const audit = openCliAudit(config, { state });
  try {
    const input = { id, policy, ttlMs, now: new Date() };
    const expiry = (expiresAt: Date): string =>
      `expiring ${expiresAt.toISOString()} (in ${formatDuration(ttlMs)})`;
    if (options.tokenFile === undefined) {
      // SECURITY: a token whose issue cannot be recorded is revoked at once, never handed out.
      const { agent, token } = await addAgent(state, audit, input, localOperator());
      println(io.stdout, token);
      println(
        io.stderr,
        `Agent "${agent.id}" added with policy "${policy}", ${expiry(agent.expiresAt)}. The token above is shown only once: store it where the agent reads it (a file of mode 600; --token-file writes one), not in its prompt.`,
      );
    } else {
      const tokenFile = resolve(io.cwd, options.tokenFile);
      // SECURITY: as above, and its file is removed.
      const { agent } = await addAgent(state, audit, input, localOperator(), {
        issue: (i) => writeAgentTokenFile(state, tokenFile, i),
        onUnrecorded: () => rm(tokenFile, { force: true }),
      });
      println(
        io.stderr,
        `Agent "${agent.id}" added with policy "${policy}", ${expiry(agent.expiresAt)}. Its token is in ${tokenFile} (mode 600): give the agent that file, never the token in its prompt.`,
      );
      if (mcp !== undefined) printMcpConfig(io, mcp, agent.id, tokenFile);
    }
  } finally {
    await audit.close();
    await closeState();
  }
}
