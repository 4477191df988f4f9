import { type CliIo, println } from './cli-io.js';
import { openCliState } from './cli-state.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import { printTable } from './secret-list.js';

/**
 * `cofre agent tokens [--agent <id>]`: the live session tokens (issue 17: from a workload identity exchange or a
 * delegation), newest first. SECURITY: shows the token id (the public part of `cofre_st_<id>.<secret>`), never the
 * token or its hash.
 */
export async function agentTokens(
  io: CliIo,
  global: GlobalOptions,
  options: { readonly agent?: string; readonly json?: boolean },
): Promise<void> {
  const config = await loadCliConfig(io, global);
  const { state, close: closeState } = await openCliState(io, config);
  try {
    const sessions = await state.listAgentSessions({
      ...(options.agent === undefined ? {} : { agentId: options.agent }),
      now: new Date(),
    });
    const rows = sessions.map((s) => ({
      id: s.tokenId,
      agent: s.agentId,
      kind: s.kind,
      policy: s.policy,
      // An exchanged token's `<issuer> <sub>`; a delegated one's chain of principals.
      subject: s.subject ?? (s.onBehalfOf.length === 0 ? '-' : `on behalf of ${s.onBehalfOf.join(' < ')}`),
      created: s.createdAt.toISOString(),
      expires: s.expiresAt.toISOString(),
    }));
    if (options.json === true) {
      println(io.stdout, JSON.stringify(rows, null, 2));
      return;
    }
    printTable(
      io,
      ['ID', 'AGENT', 'KIND', 'POLICY', 'SUBJECT', 'CREATED', 'EXPIRES'],
      rows.map((r) => [r.id, r.agent, r.kind, r.policy, r.subject, r.created, r.expires]),
    );
  } finally {
    await closeState();
  }
}
