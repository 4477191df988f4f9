import { issueAgentToken } from '../../broker/agent-tokens.js';
import { formatDuration, parseDuration } from '../../config/duration.js';
import { CofreError } from '../../errors.js';
import { SqliteStateStore } from '../../state/sqlite/sqlite-state-store.js';
import { type CliIo, println } from './cli-io.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';

/**
 * `cofre agent add <id> [--policy p] [--ttl d]`: registers an agent and prints its token on stdout, once. Only a
 * hash is stored; a lost token is replaced by revoking the agent and adding it again.
 */
export async function agentAdd(
  io: CliIo,
  global: GlobalOptions,
  id: string,
  options: { policy?: string; ttl?: string },
): Promise<void> {
  const config = await loadCliConfig(io, global);
  const policies = Object.keys(config.policies);
  const policy = options.policy ?? (policies.length === 1 ? policies[0] : undefined);
  if (policy === undefined || !policies.includes(policy)) {
    throw new CofreError(
      'COFRE_USAGE',
      `${policy === undefined ? 'choose a policy with --policy' : `no policy "${policy}" in the config`} (policies: ${policies.join(', ') || 'none'})`,
    );
  }
  const ttlMs = options.ttl === undefined ? config.agents.tokenTtl : parseDuration(options.ttl);
  const state = new SqliteStateStore(config.state.path);
  try {
    const { agent, token } = issueAgentToken(state, { id, policy, ttlMs, now: new Date() });
    println(io.stdout, token);
    println(
      io.stderr,
      `Agent "${agent.id}" added with policy "${policy}"; the token above expires ${agent.expiresAt.toISOString()} (in ${formatDuration(ttlMs)}). It is shown only once: store it where the agent reads it (a file of mode 600), not in its prompt.`,
    );
  } finally {
    state.close();
  }
}
