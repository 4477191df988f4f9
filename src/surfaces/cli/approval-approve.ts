import { printApproval } from './approval-show.js';
import { type CliIo, println } from './cli-io.js';
import type { GlobalOptions } from './command-spec.js';
import { openOperatorCli } from './operator-context.js';

/**
 * `cofre approval approve <id> [--comment c] [--payload-hash h]`: shows the approval with its bound payload and
 * hash, and approves that hash as `local:<os user>` (or the hash given, which must be the same: for a script that
 * reviewed the payload earlier). The approval that completes the quorum executes the payload through the broker,
 * once, and prints the request's answer.
 */
export async function approvalApprove(
  io: CliIo,
  global: GlobalOptions,
  requestId: string,
  options: { comment?: string; payloadHash?: string },
): Promise<void> {
  const cli = await openOperatorCli(io, global);
  try {
    const shown = await cli.actions.show(requestId);
    printApproval(io, shown);
    const report = await cli.actions.approve(
      requestId,
      cli.operator,
      options.payloadHash ?? shown.payloadHash,
      options.comment,
    );
    if (report.outcome === 'recorded') {
      println(
        io.stderr,
        `Approved by ${cli.operator}; ${report.remaining} more approval(s) needed before it executes.`,
      );
      return;
    }
    println(io.stdout, JSON.stringify(report.response));
    println(io.stderr, `Approved by ${cli.operator} and executed once: ${report.response.status}.`);
  } finally {
    await cli.close();
  }
}
