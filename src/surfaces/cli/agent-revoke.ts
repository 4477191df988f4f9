import { CofreError } from '../../errors.js';
import { openCliAudit, recordRevocation } from './cli-audit.js';
import { type CliIo, println } from './cli-io.js';
import { openCliState } from './cli-state.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';

/**
 * `cofre agent revoke <id>`: the agent's token and every session token of it and of its sub-agents (exchanged or
 * delegated) stop
 * working at once (running servers check on every request). An agent that exists only through session tokens (a
 * workload identity) can be revoked too; it can exchange again while a rule maps its identity to it, which the
 * message says.
 */
export async function agentRevoke(io: CliIo, global: GlobalOptions, id: string): Promise<void> {
  const config = await loadCliConfig(io, global);
  const { state, close: closeState } = await openCliState(io, config);
  const audit = openCliAudit(config, { state });
  try {
    const tokenId = (await state.listAgents()).find((a) => a.id === id && a.revokedAt === undefined)?.tokenId;
    const at = new Date();
    const revokedAgent = await state.revokeAgent(id, at);
    const sessions = await state.revokeAgentSessionsOf(id, at);
    if (!revokedAgent && sessions === 0) {
      throw new CofreError(
        'COFRE_AGENT_NOT_FOUND',
        `no active agent "${id}" and no live session token of it`,
      );
    }
    await recordRevocation(audit, {
      action: 'agent-revoke',
      id,
      tokenId,
      ...(sessions === 0 ? {} : { detail: { sessionsRevoked: String(sessions) } }),
    });
    println(
      io.stderr,
      `Agent "${id}" revoked${revokedAgent ? '' : ' (it has no token of its own)'}; revoked ${sessions} session token${sessions === 1 ? '' : 's'} (its own and its sub-agents').`,
    );
    if (config.agents.exchange.length > 0 && !revokedAgent) {
      println(
        io.stderr,
        'A workload whose identity an agents.exchange rule maps to this agent can exchange again: change the rule to keep it out.',
      );
    }
  } finally {
    await audit.close();
    await closeState();
  }
}
