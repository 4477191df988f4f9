import { type CliIo, println } from './cli-io.js';
import type { GlobalOptions } from './command-spec.js';
import { openOperatorCli } from './operator-context.js';

/** `cofre resume`: lifts the halt; agents revoked by the halt stay revoked. */
export async function resume(io: CliIo, global: GlobalOptions): Promise<void> {
  const cli = await openOperatorCli(io, global);
  try {
    const { resumed } = await cli.actions.resume(cli.operator);
    println(io.stderr, resumed ? `Resumed by ${cli.operator}.` : 'cofre was not halted; nothing to resume.');
  } finally {
    await cli.close();
  }
}
