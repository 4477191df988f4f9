import type { CofreConfig, PostgresStateConfig } from '../../config/config-schema.js';
import { CofreError } from '../../errors.js';
import { openResolver } from '../../secrets/open-backend.js';
import { checkSchema } from '../../state/postgres/migrate.js';
import { openPostgresDb, postgresSecretsFrom } from '../../state/postgres/open-postgres.js';
import type { PgDb } from '../../state/postgres/pg-db.js';
import type { CliIo } from './cli-io.js';
import { promptHidden } from './read-secret-input.js';

/**
 * Runs `work` on the PostgreSQL state database of `config` (`state.type: postgres`), where every replica writes
 * its audit chain (issue 16), for the `audit` commands that read it: opens the configured secret backends (the
 * login is a secret reference), the database as `cofre serve` does, checks its schema; closes everything after.
 *
 * Throws `COFRE_STATE_UNAVAILABLE` when the database cannot be reached, `COFRE_STATE_SCHEMA_MISMATCH` when its
 * schema is not this cofre's.
 */
export async function withAuditStateDatabase<T>(
  io: CliIo,
  config: CofreConfig,
  state: PostgresStateConfig,
  work: (db: PgDb) => Promise<T>,
): Promise<T> {
  const resolver = await openResolver(config, { promptPassphrase: (question) => promptHidden(io, question) });
  try {
    const db = await openPostgresDb(state, {
      ...postgresSecretsFrom(resolver),
      applicationName: 'cofre-audit',
    });
    try {
      await checkSchema(db);
      return await work(db);
    } finally {
      await db.close();
    }
  } finally {
    await resolver.close();
  }
}

/** The PostgreSQL state of `config`, or `COFRE_USAGE` saying that `command` needs one. */
export function postgresStateOf(config: CofreConfig, command: string): PostgresStateConfig {
  if (config.state.type !== 'postgres') {
    throw new CofreError(
      'COFRE_USAGE',
      `${command} reads the audit chain kept in a PostgreSQL state database (state.type: postgres); this config keeps its audit log in the file ${config.audit.path}, which is already a file`,
    );
  }
  return config.state;
}
