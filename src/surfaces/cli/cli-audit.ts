import type { KeyObject } from 'node:crypto';
import { userInfo } from 'node:os';

import { loadAuditKeys } from '../../audit/audit-keys.js';
import type { AuditSink } from '../../audit/audit-log.js';
import { openAuditLogFor } from '../../broker/open-audit-log-for.js';
import type { CofreConfig } from '../../config/config-schema.js';
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
