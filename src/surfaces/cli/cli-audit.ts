import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';

import { type AuditSink, JsonlAuditLog } from '../../audit/audit-log.js';
import type { CofreConfig } from '../../config/config-schema.js';
import { CofreError } from '../../errors.js';

/**
 * The audit log of `config` for a CLI command that records what an operator did, opened on the first append only
 * (a command that records nothing creates no file). The one place CLI commands open the log.
 */
export function openCliAudit(config: CofreConfig): AuditSink {
  let log: JsonlAuditLog | undefined;
  return {
    append: (event) => (log ??= new JsonlAuditLog(config.audit.path)).append(event),
    close: async () => {
      await log?.close();
    },
  };
}

/** The operator a CLI command acts as: `local:<os user>` (whoever can write the state file is an operator). */
export function localOperator(): string {
  return `local:${userInfo().username}`;
}

/** A change to who may use cofre, for its `operator` record. */
export interface TokenChange {
  readonly action: 'agent-add' | 'agent-revoke' | 'operator-add' | 'operator-revoke';
  /** The agent's or operator's id. */
  readonly id: string;
  /** The id part of the token (`cofre_<tokenId>.…`), never the token. */
  readonly tokenId: string | undefined;
  readonly detail?: Readonly<Record<string, string>>;
}

/**
 * Appends the `operator` record of a token change (`cofre agent|operator add|revoke`). SECURITY: it holds the
 * token's id, never the token or its hash.
 */
export function recordTokenChange(audit: AuditSink, change: TokenChange): Promise<void> {
  const agent = change.action.startsWith('agent-') ? change.id : '-';
  return audit.append({
    kind: 'operator',
    requestId: `${change.action}_${randomBytes(9).toString('base64url')}`,
    agent,
    action: change.action,
    operator: localOperator(),
    detail: {
      id: change.id,
      ...(change.tokenId === undefined ? {} : { tokenId: change.tokenId }),
      ...change.detail,
    },
  });
}

/**
 * Records a revocation that has already taken effect. A revocation is never held back by the audit log (stopping
 * is always allowed); if it cannot be recorded the command fails loudly, saying the revocation stands.
 */
export async function recordRevocation(audit: AuditSink, change: TokenChange): Promise<void> {
  try {
    await recordTokenChange(audit, change);
  } catch (err) {
    throw new CofreError(
      'COFRE_AUDIT_UNAVAILABLE',
      `${change.id} is revoked, but the revocation could not be written to the audit log (fix the log, then note the revocation by hand)`,
      { cause: err },
    );
  }
}
