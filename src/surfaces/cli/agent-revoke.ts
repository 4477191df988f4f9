import { CofreError } from '../../errors.js';
import { openCliAudit, recordRevocation } from './cli-audit.js';
import { type CliIo, println } from './cli-io.js';
import { openCliState } from './cli-state.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';

/** `cofre agent revoke <id>`: the agent's token stops working at once (running servers check on every request). */
export async function agentRevoke(io: CliIo, global: GlobalOptions, id: string): Promise<void> {
  const config = await loadCliConfig(io, global);
  const { state, close: closeState } = await openCliState(io, config);
  const audit = openCliAudit(config, { state });
  try {
    const tokenId = (await state.listAgents()).find((a) => a.id === id && a.revokedAt === undefined)?.tokenId;
    if (!(await state.revokeAgent(id, new Date()))) {
      throw new CofreError('COFRE_AGENT_NOT_FOUND', `no active agent "${id}"`);
    }
    await recordRevocation(audit, { action: 'agent-revoke', id, tokenId });
    println(io.stderr, `Agent "${id}" revoked.`);
  } finally {
    await audit.close();
    await closeState();
  }
}
