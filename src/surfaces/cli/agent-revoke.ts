import { CofreError } from '../../errors.js';
import { SqliteStateStore } from '../../state/sqlite/sqlite-state-store.js';
import { type CliIo, println } from './cli-io.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';

/** `cofre agent revoke <id>`: the agent's token stops working at once (running servers check on every request). */
export async function agentRevoke(io: CliIo, global: GlobalOptions, id: string): Promise<void> {
  const config = await loadCliConfig(io, global);
  const state = new SqliteStateStore(config.state.path);
  try {
    if (!state.revokeAgent(id, new Date())) {
      throw new CofreError('COFRE_AGENT_NOT_FOUND', `no active agent "${id}"`);
    }
    println(io.stderr, `Agent "${id}" revoked.`);
  } finally {
    state.close();
  }
}
