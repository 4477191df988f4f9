import { CofreError } from '../../errors.js';
import { SqliteStateStore } from '../../state/sqlite/sqlite-state-store.js';
import { openCliAudit, recordRevocation } from './cli-audit.js';
import { type CliIo, println } from './cli-io.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';

/** `cofre operator revoke <id>`: the operator's token stops working at once (checked on every request). */
export async function operatorRevoke(io: CliIo, global: GlobalOptions, id: string): Promise<void> {
  const config = await loadCliConfig(io, global);
  const state = new SqliteStateStore(config.state.path);
  const audit = openCliAudit(config);
  try {
    const tokenId = state.listOperators().find((o) => o.id === id && o.revokedAt === undefined)?.tokenId;
    if (!state.revokeOperator(id, new Date())) {
      throw new CofreError('COFRE_OPERATOR_NOT_FOUND', `no active operator "${id}"`);
    }
    await recordRevocation(audit, { action: 'operator-revoke', id, tokenId });
    println(io.stderr, `Operator "${id}" revoked.`);
  } finally {
    await audit.close();
    state.close();
  }
}
