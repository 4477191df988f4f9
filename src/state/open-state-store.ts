import type { CofreConfig } from '../config/config-schema.js';
import type { PrivateFileFixed } from '../config/private-file.js';
import { CofreError } from '../errors.js';
import type { SecretResolver } from '../secrets/secret-resolver.js';
import type { PgDb } from './postgres/pg-db.js';
import { SqliteStateStore } from './sqlite/sqlite-state-store.js';
import type { StateStore } from './state-store.js';

/** What opening the configured state store needs besides the config. */
export interface OpenStateStoreOptions {
  /**
   * Reads the PostgreSQL connection string or credentials (issue 16), and drops a cached copy after a refused
   * login. Required for `state.type: postgres`; unused for SQLite.
   */
  readonly resolver?: SecretResolver | undefined;
  /** SQLite: a state file readable beyond its owner was restricted to mode 600. */
  readonly onModeFixed?: ((fixed: PrivateFileFixed) => void) | undefined;
  /** Rows written in the background (`recordFinished`) could not be. */
  readonly onBackgroundError?: ((err: unknown) => void) | undefined;
  /**
   * PostgreSQL: `serve` (the default) refuses a schema this cofre does not know (`COFRE_STATE_SCHEMA_MISMATCH`);
   * `none` opens whatever is there (`cofre state migrate` itself).
   */
  readonly check?: 'serve' | 'none';
}

/** The state store `config.state` names: the SQLite file, or the PostgreSQL database every replica shares. */
export function openStateStore(
  config: Pick<CofreConfig, 'state'>,
  options: OpenStateStoreOptions = {},
): Promise<StateStore> {
  const state = config.state;
  if (state.type === 'sqlite') {
    const sqliteOptions = {
      ...(options.onModeFixed === undefined ? {} : { onModeFixed: options.onModeFixed }),
      ...(options.onBackgroundError === undefined ? {} : { onBackgroundError: options.onBackgroundError }),
    };
    // Opened in a then(), so a file that cannot be opened rejects like a database that cannot be reached.
    return Promise.resolve().then(() => new SqliteStateStore(state.path, sqliteOptions));
  }
  if (options.resolver === undefined) {
    return Promise.reject(
      new CofreError('COFRE_INTERNAL', 'opening a PostgreSQL state store needs a secret resolver'),
    );
  }
  const resolver = options.resolver;
  // Loaded only when configured: a SQLite setup never loads the PostgreSQL driver (tens of milliseconds at start).
  return Promise.all([
    import('./postgres/postgres-state-store.js'),
    import('./postgres/open-postgres.js'),
  ]).then(([{ openPostgresStateStore }, { postgresSecretsFrom }]) =>
    openPostgresStateStore(state, {
      ...postgresSecretsFrom(resolver),
      ...(options.check === undefined ? {} : { check: options.check }),
      ...(options.onBackgroundError === undefined ? {} : { onBackgroundError: options.onBackgroundError }),
    }),
  );
}

/** The PostgreSQL database under a store of `state.type: postgres` (the audit log shares its pool); else undefined. */
export function postgresDbOf(store: StateStore): PgDb | undefined {
  // By shape, not instanceof, so that this module does not load the PostgreSQL store (see openStateStore).
  return (store as StateStore & { readonly db?: PgDb }).db;
}
