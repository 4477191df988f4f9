import { revokeAgent } from '../../broker/access-changes.js';
import { localOperator, openCliAudit } from './cli-audit.js';
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
    const { revokedAgent, sessions } = await revokeAgent(state, audit, id, new Date(), localOperator());
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
