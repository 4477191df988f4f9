import { resolve } from 'node:path';

import { exportPostgresAudit } from '../../audit/postgres-audit-export.js';
import { CofreError } from '../../errors.js';
import { postgresStateOf, withAuditStateDatabase } from './audit-state-database.js';
import { type CliIo, println } from './cli-io.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';

/**
 * `cofre audit export --out <file>`: writes the audit chain every replica keeps in the PostgreSQL state database
 * (issue 16) to a new file in the file log format, which `cofre audit verify --log <file>` checks without the
 * database (an auditor's copy). Refuses an existing file.
 */
export async function auditExport(
  io: CliIo,
  global: GlobalOptions,
  options: { readonly out?: string },
): Promise<void> {
  if (options.out === undefined)
    throw new CofreError('COFRE_USAGE', 'name the file to write with --out <file>');
  const out = resolve(io.cwd, options.out);
  const config = await loadCliConfig(io, global);
  const state = postgresStateOf(config, 'cofre audit export');
  let records: number;
  try {
    records = await withAuditStateDatabase(io, config, state, (db) => exportPostgresAudit(db, out));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new CofreError('COFRE_USAGE', `${out} exists; cofre audit export writes a new file only`);
    }
    throw err;
  }
  println(
    io.stderr,
    `${records} record(s) written to ${out}; check them with: cofre audit verify --log ${out}`,
  );
}
