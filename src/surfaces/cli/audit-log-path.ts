import { dirname, resolve } from 'node:path';

import type { AuditConfig, CofreConfig } from '../../config/config-schema.js';
import { resolveConfigPath } from '../../config/resolve-config-path.js';
import type { CliIo } from './cli-io.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';

/** Which log an `audit` command reads, and the config when one was loaded. */
export interface AuditLogTarget {
  readonly path: string;
  readonly audit?: AuditConfig;
  /** The witness files the config names, absolute (relative ones resolve against the config's folder). */
  readonly witnessFiles: readonly string[];
  /**
   * The config, when one was loaded. With `state.type: postgres` the broker writes its audit chain into the state
   * database, not to `path` (issue 16): `cofre audit verify` reads it there.
   */
  readonly config?: CofreConfig;
}

/**
 * `--log <file>` when given (no config needed: an auditor may hold only a copy of the files), else `audit.path` of
 * the config.
 */
export async function auditLogTarget(
  io: CliIo,
  global: GlobalOptions,
  log: string | undefined,
): Promise<AuditLogTarget> {
  if (log !== undefined) return { path: resolve(io.cwd, log), witnessFiles: [] };
  const config = await loadCliConfig(io, global);
  const configDir = dirname(resolve(io.cwd, resolveConfigPath(global.config)));
  const witnessFiles = config.audit.witnesses.flatMap((w) =>
    w.type === 'file' ? [resolve(configDir, w.path)] : [],
  );
  return { path: config.audit.path, audit: config.audit, witnessFiles, config };
}
