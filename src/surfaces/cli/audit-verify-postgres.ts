import { type PostgresVerifyOptions, verifyPostgresAudit } from '../../audit/postgres-audit-verify.js';
import type { VerifyReport } from '../../audit/verify-chain.js';
import type { CofreConfig, PostgresStateConfig } from '../../config/config-schema.js';
import { openResolver } from '../../secrets/open-backend.js';
import { checkSchema } from '../../state/postgres/migrate.js';
import { openPostgresDb, postgresSecretsFrom } from '../../state/postgres/open-postgres.js';
import type { CliIo } from './cli-io.js';
import { promptHidden } from './read-secret-input.js';

/**
 * Verifies the audit chain in the PostgreSQL state database of `config` (`state.type: postgres`, issue 16): opens
 * the configured secret backends (the database login is a secret reference), the database as `cofre serve` does,
 * checks its schema, and runs {@link verifyPostgresAudit}. Reads only; closes everything it opened.
 *
 * Throws `COFRE_STATE_UNAVAILABLE` when the database cannot be reached, `COFRE_STATE_SCHEMA_MISMATCH` when its
 * schema is not this cofre's.
 */
export async function verifyConfiguredPostgresAudit(
  io: CliIo,
  config: CofreConfig,
  state: PostgresStateConfig,
  options: PostgresVerifyOptions,
): Promise<VerifyReport> {
  const resolver = await openResolver(config, { promptPassphrase: (question) => promptHidden(io, question) });
  try {
    const db = await openPostgresDb(state, {
      ...postgresSecretsFrom(resolver),
      applicationName: 'cofre-audit-verify',
    });
    try {
      await checkSchema(db);
      return await verifyPostgresAudit(db, options);
    } finally {
      await db.close();
    }
  } finally {
    await resolver.close();
  }
}
