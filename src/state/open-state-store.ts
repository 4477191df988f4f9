import type { CofreConfig } from '../config/config-schema.js';
import type { PrivateFileFixed } from '../config/private-file.js';
import { CofreError } from '../errors.js';
import type { SecretResolver } from '../secrets/secret-resolver.js';
import { SqliteStateStore } from './sqlite/sqlite-state-store.js';
import type { StateStore } from './state-store.js';

/** What opening the configured state store needs besides the config. */
export interface OpenStateStoreOptions {
  /**
   * Reads a secret reference to text: the PostgreSQL connection string or credentials (issue 16). Required for
   * `state.type: postgres`; unused for SQLite.
   */
  readonly resolve?: ((reference: string) => Promise<string>) | undefined;
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

/**
 * `resolve` for {@link openStateStore} over a secret resolver. The text leaves the zeroable buffer because the
 * PostgreSQL driver takes strings; it is held only by the connection attempt that asked for it.
 */
export function textResolver(
  resolver: Pick<SecretResolver, 'resolve'>,
): (reference: string) => Promise<string> {
  return async (reference) => {
    const value = await resolver.resolve(reference);
    try {
      return value.text();
    } finally {
      value.zero();
    }
  };
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
  if (options.resolve === undefined) {
    return Promise.reject(
      new CofreError('COFRE_INTERNAL', 'opening a PostgreSQL state store needs a secret resolver'),
    );
  }
  return Promise.reject(
    new CofreError('COFRE_STATE_UNAVAILABLE', 'the PostgreSQL state store is not wired yet'),
  );
}
