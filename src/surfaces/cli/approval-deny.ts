import { type CliIo, println } from './cli-io.js';
import type { GlobalOptions } from './command-spec.js';
import { openOperatorCli } from './operator-context.js';

/** `cofre approval deny <id> [--comment c]`: the request is never executed; the agent sees it denied. */
export async function approvalDeny(
  io: CliIo,
  global: GlobalOptions,
  requestId: string,
  options: { comment?: string },
): Promise<void> {
  const cli = await openOperatorCli(io, global);
  try {
    await cli.actions.deny(requestId, cli.operator, options.comment);
    println(io.stderr, `Request ${requestId} denied by ${cli.operator}.`);
  } finally {
    await cli.close();
  }
}
