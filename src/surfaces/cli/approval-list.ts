import type { ApprovalView } from '../../broker/operator-actions.js';
import { CofreError } from '../../errors.js';
import type { ApprovalStatus } from '../../state/control-store.js';
import type { CliIo } from './cli-io.js';
import type { GlobalOptions } from './command-spec.js';
import { openOperatorCli } from './operator-context.js';
import { printTable } from './secret-list.js';

const STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'denied', 'expired', 'executed'];

/** `cofre approval list [--status s]`: approvals, pending first, newest first. */
export async function approvalList(
  io: CliIo,
  global: GlobalOptions,
  options: { status?: string },
): Promise<void> {
  const status = options.status;
  if (status !== undefined && !STATUSES.includes(status as ApprovalStatus)) {
    throw new CofreError('COFRE_USAGE', `unknown status "${status}"; use one of ${STATUSES.join(', ')}`);
  }
  const cli = await openOperatorCli(io, global);
  try {
    printTable(
      io,
      ['REQUEST', 'STATUS', 'AGENT', 'ACTION', 'ACCOUNT', 'VOTES', 'EXPIRES', 'RULE'],
      (await cli.actions.list(status as ApprovalStatus | undefined)).map((a) => row(a)),
    );
  } finally {
    await cli.close();
  }
}

function row(a: ApprovalView): string[] {
  return [
    a.requestId,
    a.status,
    a.agent,
    a.action,
    a.account ?? '-',
    `${a.approvals.length}/${a.required}`,
    a.expiresAt,
    a.rule,
  ];
}
