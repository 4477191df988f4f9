import { CofreError } from '../../errors.js';
import { SqliteStateStore } from '../../state/sqlite/sqlite-state-store.js';
import { type CliIo, println } from './cli-io.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';

/** `cofre operator revoke <id>`: the operator's token stops working at once (checked on every request). */
export async function operatorRevoke(io: CliIo, global: GlobalOptions, id: string): Promise<void> {
  const config = await loadCliConfig(io, global);
  const state = new SqliteStateStore(config.state.path);
  try {
    if (!state.revokeOperator(id, new Date())) {
      throw new CofreError('COFRE_OPERATOR_NOT_FOUND', `no active operator "${id}"`);
    }
    println(io.stderr, `Operator "${id}" revoked.`);
  } finally {
    state.close();
  }
}
