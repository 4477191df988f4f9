import { revokeOperator } from '../../broker/access-changes.js';
import { localOperator, openCliAudit } from './cli-audit.js';
import { type CliIo, println } from './cli-io.js';
import { openCliState } from './cli-state.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';

/** `cofre operator revoke <id>`: the operator's token stops working at once (checked on every request). */
export async function operatorRevoke(io: CliIo, global: GlobalOptions, id: string): Promise<void> {
  const config = await loadCliConfig(io, global);
  const { state, close: closeState } = await openCliState(io, config);
  const audit = openCliAudit(config, { state });
  try {
    await revokeOperator(state, audit, id, new Date(), localOperator());
    println(io.stderr, `Operator "${id}" revoked.`);
  } finally {
    await audit.close();
    await closeState();
  }
}
