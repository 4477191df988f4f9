import type { ApprovalView } from '../../broker/operator-actions.js';
import { type CliIo, println } from './cli-io.js';
import type { GlobalOptions } from './command-spec.js';
import { openOperatorCli } from './operator-context.js';

/** `cofre approval show <id>`: one approval with the exact payload it would send and its hash. */
export async function approvalShow(io: CliIo, global: GlobalOptions, requestId: string): Promise<void> {
  const cli = await openOperatorCli(io, global);
  try {
    printApproval(io, await cli.actions.show(requestId));
  } finally {
    await cli.close();
  }
}

/** The approval as an operator reads it before deciding: who, what, under which rule, and the payload and hash. */
export function printApproval(io: CliIo, a: ApprovalView): void {
  const approvers = a.approvers.length === 0 ? 'any operator' : a.approvers.join(', ');
  const lines = [
    `request:     ${a.requestId}`,
    `status:      ${a.status}`,
    `agent:       ${a.agent}`,
    `action:      ${a.action}${a.account === null ? '' : ` on ${a.account}`}`,
    `rule:        ${a.rule}`,
    `approvals:   ${a.approvals.length} of ${a.required} (${approvers})`,
    ...a.approvals.map((v) => `  - ${v.operator} at ${v.at}${v.comment === null ? '' : `: ${v.comment}`}`),
    `created:     ${a.createdAt}`,
    `expires:     ${a.expiresAt}`,
    ...(a.decidedBy === null
      ? []
      : [
          `decided:     by ${a.decidedBy} at ${a.decidedAt ?? '?'}${a.comment === null ? '' : `: ${a.comment}`}`,
        ]),
    'payload (what will be sent):',
    ...JSON.stringify(a.payload, null, 2)
      .split('\n')
      .map((l) => `  ${l}`),
    `payloadHash: ${a.payloadHash}`,
  ];
  for (const line of lines) println(io.stdout, line);
}
