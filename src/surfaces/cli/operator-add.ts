import { addOperator } from '../../broker/access-changes.js';
import { formatDuration, parseDuration } from '../../config/duration.js';
import { localOperator, openCliAudit } from './cli-audit.js';
import { type CliIo, println } from './cli-io.js';
import { openCliState } from './cli-state.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';

/** Lifetime of an operator token when `--ttl` is not given. */
export const DEFAULT_OPERATOR_TOKEN_TTL = '30d';

/**
 * `cofre operator add <id> [--ttl d]`: registers an operator and prints its token once (`cofre_op_...`), for the
 * operator API (`/v1/operator/...`). Only a hash is stored, in the operators' own table; the token never works on
 * agent routes, nor an agent token on operator routes.
 */
export async function operatorAdd(
  io: CliIo,
  global: GlobalOptions,
  id: string,
  options: { ttl?: string },
): Promise<void> {
  const config = await loadCliConfig(io, global);
  const ttlMs = parseDuration(options.ttl ?? DEFAULT_OPERATOR_TOKEN_TTL);
  const { state, close: closeState } = await openCliState(io, config);
  const audit = openCliAudit(config, { state });
  try {
    // SECURITY: a token whose issue cannot be recorded is revoked at once, never handed out.
    const { operator, token } = await addOperator(
      state,
      audit,
      { id, ttlMs, now: new Date() },
      localOperator(),
    );
    println(io.stdout, token);
    println(
      io.stderr,
      `Operator "${operator.id}" added, expiring ${operator.expiresAt.toISOString()} (in ${formatDuration(ttlMs)}). The token above is shown only once: keep it with the operator, never where an agent can read it.`,
    );
  } finally {
    await audit.close();
    await closeState();
  }
}
