import { type CliIo, println } from './cli-io.js';
import type { GlobalOptions } from './command-spec.js';
import { openOperatorCli } from './operator-context.js';

/**
 * `cofre halt [--reason r] [--cancel-open-orders] [--revoke-agents]`: the kill switch. Persisted in the state file
 * at once, so every cofre on it refuses new actions and a restart stays halted; `--revoke-agents` revokes every
 * agent token, `--cancel-open-orders` cancels every open order of every account (through the broker, audited) and
 * reports per account.
 */
export async function halt(
  io: CliIo,
  global: GlobalOptions,
  options: { reason?: string; cancelOpenOrders?: boolean; revokeAgents?: boolean },
): Promise<void> {
  const cli = await openOperatorCli(io, global);
  try {
    const report = await cli.actions.halt(cli.operator, {
      reason: options.reason ?? 'halted from the command line',
      cancelOpenOrders: options.cancelOpenOrders,
      revokeAgents: options.revokeAgents,
    });
    println(io.stderr, `Halted by ${report.halt.by} at ${report.halt.at}: ${report.halt.reason}.`);
    if (report.revokedAgents.length > 0) {
      println(io.stderr, `Revoked agents: ${report.revokedAgents.join(', ')}.`);
    }
    for (const r of report.cancelled ?? []) {
      println(
        io.stdout,
        `${r.account}: ${r.error === undefined ? `${r.cancelled} cancelled` : `failed: ${r.error}`}`,
      );
    }
    println(io.stderr, 'New actions are refused until `cofre resume`.');
  } finally {
    await cli.close();
  }
}
