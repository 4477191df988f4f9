import { CofreError } from '../../errors.js';
import { openCliAudit, recordRevocation } from './cli-audit.js';
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
    const tokenId = (await state.listOperators()).find(
      (o) => o.id === id && o.revokedAt === undefined,
    )?.tokenId;
    if (!(await state.revokeOperator(id, new Date()))) {
      throw new CofreError('COFRE_OPERATOR_NOT_FOUND', `no active operator "${id}"`);
    }
    await recordRevocation(audit, { action: 'operator-revoke', id, tokenId });
    println(io.stderr, `Operator "${id}" revoked.`);
  } finally {
    await audit.close();
    await closeState();
  }
}
