import { SqliteStateStore } from '../../state/sqlite/sqlite-state-store.js';
import type { CliIo } from './cli-io.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import { printTable } from './secret-list.js';

/** `cofre operator list`: operators with status and expiry; never tokens. */
export async function operatorList(io: CliIo, global: GlobalOptions): Promise<void> {
  const config = await loadCliConfig(io, global);
  const state = new SqliteStateStore(config.state.path);
  try {
    const now = Date.now();
    printTable(
      io,
      ['OPERATOR', 'STATUS', 'CREATED', 'EXPIRES'],
      state
        .listOperators()
        .map((o) => [
          o.id,
          o.revokedAt !== undefined ? 'revoked' : o.expiresAt.getTime() <= now ? 'expired' : 'active',
          o.createdAt.toISOString(),
          o.expiresAt.toISOString(),
        ]),
    );
  } finally {
    state.close();
  }
}
