import { type CliIo, println } from './cli-io.js';
import { openCliState } from './cli-state.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import { printTable } from './secret-list.js';

/**
 * `cofre request list`: requests still `executing` — running now, or left behind by a cofre that stopped in the
 * middle of them (their clientOrderId answers `COFRE_REQUEST_IN_PROGRESS` until settled). Shows no response body.
 */
export async function requestList(io: CliIo, global: GlobalOptions): Promise<void> {
  const config = await loadCliConfig(io, global);
  const { state, close: closeState } = await openCliState(io, config);
  try {
    const rows = await state.executingRequests(new Date(), { allReplicas: true });
    if (rows.length === 0) {
      println(io.stdout, 'no request is executing');
      return;
    }
    printTable(
      io,
      ['REQUEST', 'AGENT', 'ACTION', 'ACCOUNT', 'STARTED'],
      rows.map((r) => [r.requestId, r.agentId, r.action, r.account ?? '-', r.createdAt.toISOString()]),
    );
    println(io.stderr, 'settle those a stopped cofre left with `cofre request reconcile`');
  } finally {
    await closeState();
  }
}
