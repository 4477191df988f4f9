import type { CliIo } from './cli-io.js';
import { openCliState } from './cli-state.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import { printTable } from './secret-list.js';

/** `cofre agent list`: agents with policy, expiry and status; never tokens. */
export async function agentList(io: CliIo, global: GlobalOptions): Promise<void> {
  const config = await loadCliConfig(io, global);
  const { state, close: closeState } = await openCliState(io, config);
  try {
    const now = Date.now();
    printTable(
      io,
      ['AGENT', 'POLICY', 'STATUS', 'CREATED', 'EXPIRES'],
      (await state.listAgents()).map((a) => [
        a.id,
        a.policy,
        a.revokedAt !== undefined ? 'revoked' : a.expiresAt.getTime() <= now ? 'expired' : 'active',
        a.createdAt.toISOString(),
        a.expiresAt.toISOString(),
      ]),
    );
  } finally {
    await closeState();
  }
}
