import { openResolver } from '../../secrets/open-backend.js';
import { checkSchema, migrate, schemaVersion } from '../../state/postgres/migrate.js';
import { POSTGRES_SCHEMA_VERSION } from '../../state/postgres/migrations/index.js';
import { openPostgresDb, postgresSecretsFrom } from '../../state/postgres/open-postgres.js';
import { type CliIo, println } from './cli-io.js';
import { loadCliConfig } from './command-context.js';
import type { ExitWith, GlobalOptions } from './command-spec.js';
import { promptHidden } from './read-secret-input.js';

/**
 * `cofre state migrate` (issue 16): brings the PostgreSQL state schema up to the version this cofre knows, printing
 * each step as it commits and the final version. Safe to run from several hosts at once (each step is applied once,
 * under an advisory lock) and to run again (nothing to do). Run it with a role that owns the schema; replicas serve
 * with a role that only reads and writes rows, and refuse a schema they do not know.
 *
 * `--check`: changes nothing; reports the version and exits 1 when the schema is not the one this cofre knows.
 * On `state.type: sqlite` there is nothing to do: SQLite migrates its state file when cofre opens it.
 */
export async function stateMigrate(
  io: CliIo,
  global: GlobalOptions,
  options: { readonly check?: boolean },
): Promise<ExitWith | undefined> {
  const config = await loadCliConfig(io, global);
  const { state } = config;
  if (state.type !== 'postgres') {
    println(
      io.stdout,
      'state.type is sqlite: cofre migrates the SQLite state file itself when it opens it; nothing to do',
    );
    return undefined;
  }
  const resolver = await openResolver(config, { promptPassphrase: (q) => promptHidden(io, q) });
  try {
    const db = await openPostgresDb(state, postgresSecretsFrom(resolver));
    try {
      if (options.check === true) {
        const found = await schemaVersion(db);
        try {
          await checkSchema(db);
        } catch (err) {
          println(io.stdout, `schema version ${found}; this cofre needs ${POSTGRES_SCHEMA_VERSION}`);
          println(io.stderr, (err as Error).message);
          return { exitWith: 1 };
        }
        println(io.stdout, `schema version ${found}: current`);
        return undefined;
      }
      const applied = await migrate(db, {
        onApplied: (step) => {
          println(io.stdout, `applied ${String(step.version).padStart(4, '0')} ${step.name}`);
        },
      });
      const version = await schemaVersion(db);
      println(
        io.stdout,
        applied.length === 0 ? `schema version ${version}: already current` : `schema version ${version}`,
      );
      return undefined;
    } finally {
      await db.close();
    }
  } finally {
    await resolver.close();
  }
}
