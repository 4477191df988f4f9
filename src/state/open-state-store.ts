import type { CofreConfig } from '../config/config-schema.js';
import type { PrivateFileFixed } from '../config/private-file.js';
import { CofreError } from '../errors.js';
import type { PostgresSecrets } from './postgres/open-postgres.js';
import type { PgDb } from './postgres/pg-db.js';
import { openPostgresStateStore, PostgresStateStore } from './postgres/postgres-state-store.js';
import { SqliteStateStore } from './sqlite/sqlite-state-store.js';
import type { StateStore } from './state-store.js';

/** What opening the configured state store needs besides the config. */
export interface OpenStateStoreOptions {
  /**
   * How the PostgreSQL connection string or credentials are read (issue 16; `postgresSecretsFrom(resolver)`).
   * Required for `state.type: postgres`; unused for SQLite.
   */
  readonly secrets?: PostgresSecrets | undefined;
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
  if (options.secrets === undefined) {
    return Promise.reject(
      new CofreError('COFRE_INTERNAL', 'opening a PostgreSQL state store needs a secret resolver'),
    );
  }
  const secrets = options.secrets;
  return openPostgresStateStore(state, {
    ...secrets,
    ...(options.check === undefined ? {} : { check: options.check }),
    ...(options.onBackgroundError === undefined ? {} : { onBackgroundError: options.onBackgroundError }),
  });
}

/** The PostgreSQL database under a store of `state.type: postgres` (the audit log shares its pool); else undefined. */
export function postgresDbOf(store: StateStore): PgDb | undefined {
  return store instanceof PostgresStateStore ? store.db : undefined;
}
