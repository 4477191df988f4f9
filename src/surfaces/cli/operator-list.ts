import type { CliIo } from './cli-io.js';
import { openCliState } from './cli-state.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import { printTable } from './secret-list.js';

/** `cofre operator list`: operators with status and expiry; never tokens. */
export async function operatorList(io: CliIo, global: GlobalOptions): Promise<void> {
  const config = await loadCliConfig(io, global);
  const { state, close: closeState } = await openCliState(io, config);
  try {
    const now = Date.now();
    printTable(
      io,
      ['OPERATOR', 'STATUS', 'CREATED', 'EXPIRES'],
      (await state.listOperators()).map((o) => [
        o.id,
        o.revokedAt !== undefined ? 'revoked' : o.expiresAt.getTime() <= now ? 'expired' : 'active',
        o.createdAt.toISOString(),
        o.expiresAt.toISOString(),
      ]),
    );
  } finally {
    await closeState();
  }
}
