import type { KeyObject } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';

import { loadAuditKeys } from '../../audit/audit-keys.js';
import type { AuditSink } from '../../audit/audit-log.js';
import { openAuditLogFor } from '../../broker/open-audit-log-for.js';
import type { CofreConfig } from '../../config/config-schema.js';
import { CofreError } from '../../errors.js';
import { openResolver } from '../../secrets/open-backend.js';
import type { StateStore } from '../../state/state-store.js';
import { openStateFor } from './cli-state.js';

/**
 * The audit log of `config` for a CLI command that records what an operator did, opened on the first append only
 * (a command that records nothing creates no file and reads no key). The one place CLI commands open the log: the
 * same hash chain `cofre serve` writes (the two take turns on its lock), with the same checkpoint key, read through
 * the config's backends, so a log this command starts carries the key in its genesis record.
 */
export function openCliAudit(
  config: CofreConfig,
  options: {
    readonly promptPassphrase?: (question: string) => Promise<Buffer>;
    /**
     * The state store the command opened: with PostgreSQL state the log is in its database (issue 16). Without
     * it, such a command opens the state database itself, on the first append.
     */
    readonly state?: StateStore;
  } = {},
): AuditSink {
  let log: Promise<{ sink: AuditSink; close: () => Promise<void> }> | undefined;
  const opened = () =>
    (log ??= (async () => {
      const signingKey = await cliSigningKey(config, options.promptPassphrase);
      const own =
        options.state === undefined && config.state.type === 'postgres'
          ? await openStateFor(config, options.promptPassphrase)
          : undefined;
      // SECURITY: a stdout witness writes to stderr here, so it cannot mix into a command's --json output.
      const sink = await openAuditLogFor(config.audit, options.state ?? own?.state, {
        ...(signingKey === undefined ? {} : { signingKey }),
        stdout: process.stderr,
      });
      return {
        sink,
        close: async () => {
          await sink.close();
          await own?.close();
        },
      };
    })());
  return {
    append: async (event) => (await opened()).sink.append(event),
    close: async () => {
      if (log !== undefined) await (await log).close();
    },
  };
}

/** The checkpoint signing key at `audit.signingKey`, if configured, read through the config's backends. */
async function cliSigningKey(
  config: CofreConfig,
  promptPassphrase: ((question: string) => Promise<Buffer>) | undefined,
): Promise<KeyObject | undefined> {
  if (config.audit.signingKey === undefined) return undefined;
  const resolver = await openResolver(config, promptPassphrase === undefined ? {} : { promptPassphrase });
  try {
    const keys = await loadAuditKeys({ audit: { ...config.audit, hmacKey: undefined } }, resolver);
    return keys.signingKey;
  } finally {
    await resolver.close();
  }
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
