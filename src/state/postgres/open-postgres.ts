import type { ConnectionOptions } from 'node:tls';

import pg from 'pg';

import type { PostgresStateConfig } from '../../config/config-schema.js';
import { isLoopback } from '../../config/databases-config.js';
import { CofreError } from '../../errors.js';
import type { SecretResolver } from '../../secrets/secret-resolver.js';
import { asStateError, PgDb } from './pg-db.js';

/** How the state database reads its credentials: by secret reference, through the caller's resolver. */
export interface PostgresSecrets {
  /** The current value of `reference` as text (the caller may cache it). */
  readonly resolve: (reference: string) => Promise<string>;
  /**
   * Drops any cached copy of `reference`, so the next {@link resolve} asks the backend: called after the server
   * refused a login, when a Vault lease rolled and the cached credentials are the old ones.
   */
  readonly invalidate?: (reference: string) => void;
}

/**
 * {@link PostgresSecrets} over a {@link SecretResolver}. The resolver's copy is zeroed once read; the text handed to
 * the driver cannot be (JavaScript strings are immutable) and lives as long as the connection that used it.
 */
export function postgresSecretsFrom(resolver: SecretResolver): PostgresSecrets {
  return {
    resolve: async (reference) => {
      const value = await resolver.resolve(reference);
      try {
        return value.text();
      } finally {
        value.zero();
      }
    },
    invalidate: (reference) => {
      resolver.invalidate(reference);
    },
  };
}

/** The user name and password one new connection logs in with. */
interface Login {
  readonly user: string;
  readonly password: string;
}

/** Where the server is; fixed for the life of the pool (only the login rolls). */
interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly database: string;
}

/** SQLSTATEs of a refused login: invalid_password, invalid_authorization_specification (an unknown user). */
const LOGIN_REFUSED = new Set(['28P01', '28000']);

/**
 * Reads the credentials a new connection logs in with, by secret reference, each time: cheap when the resolver
 * has them cached, and current when a Vault lease has rolled (the resolver re-reads once its copy expires, or at
 * once after {@link LoginSource.refresh}).
 */
class LoginSource {
  readonly #state: PostgresStateConfig;
  readonly #secrets: PostgresSecrets;

  constructor(state: PostgresStateConfig, secrets: PostgresSecrets) {
    this.#state = state;
    this.#secrets = secrets;
  }

  /** The references this login reads (the URL, or the user name and password). */
  get references(): readonly string[] {
    const { url, credentials } = this.#state;
    if (url !== undefined) return [url];
    return credentials === undefined ? [] : [credentials.username, credentials.password];
  }

  /** The server's coordinates and the current login. */
  async read(): Promise<{ endpoint: Endpoint; login: Login }> {
    const { url, credentials, host, port, database } = this.#state;
    if (url !== undefined) return parseConnectionString(await this.#secrets.resolve(url), url);
    if (credentials === undefined || host === undefined || database === undefined) {
      // The config schema requires them without `url`: reaching here is a bug.
      throw new CofreError(
        'COFRE_CONFIG_INVALID',
        'state: give either `url` or `host`, `database` and `credentials`',
      );
    }
    // Both at once: with Vault dynamic credentials they come from one lease, and must not be mixed across two.
    const [user, password] = await Promise.all([
      this.#secrets.resolve(credentials.username),
      this.#secrets.resolve(credentials.password),
    ]);
    return { endpoint: { host, port, database }, login: { user, password } };
  }

  /** Forgets cached credentials, so the next {@link read} asks the secret backend. */
  refresh(): void {
    for (const reference of this.references) this.#secrets.invalidate?.(reference);
  }
}

/**
 * Opens the pool of the PostgreSQL state database described by `state` (issue 16). Connects once before returning,
 * so a wrong address or credentials fail here, as `COFRE_STATE_UNAVAILABLE` (retryable: the server may be starting)
 * whose message names neither the address's password nor the URL.
 *
 * Every NEW connection reads the current credentials by reference, so Vault dynamic credentials keep working when
 * their lease rolls; a new connection whose login is refused (SQLSTATE 28P01 or 28000) reads them again, past any
 * cache, and tries once more. Connections already open keep the login they opened with (PostgreSQL does not end a
 * session when its role's password changes or its lease is revoked... unless Vault drops the role, which ends them).
 *
 * Each connection is `application_name=cofre`, with `statement_timeout` from `state.pool.statementTimeout`.
 */
export async function openPostgresDb(
  state: PostgresStateConfig,
  options: PostgresSecrets & { readonly applicationName?: string },
): Promise<PgDb> {
  const source = new LoginSource(state, options);
  let first: { endpoint: Endpoint; login: Login };
  try {
    first = await source.read();
  } catch (err) {
    if (err instanceof CofreError) throw err;
    throw asStateError(err);
  }
  const { endpoint } = first;
  if (state.ssl === 'disable' && !isLoopback(endpoint.host)) {
    throw new CofreError(
      'COFRE_CONFIG_INVALID',
      'state: `ssl: disable` is allowed only for a server on loopback (127.0.0.1, ::1 or localhost): the password and every request would cross the network in the clear',
    );
  }
  const pool = new LoginPool(
    {
      host: endpoint.host,
      port: endpoint.port,
      database: endpoint.database,
      ssl: sslOptions(state.ssl),
      max: state.pool.max,
      connectionTimeoutMillis: state.pool.connectTimeout,
      idleTimeoutMillis: state.pool.idleTimeout,
      statement_timeout: state.pool.statementTimeout,
      application_name: options.applicationName ?? 'cofre',
      Client: clientLoggingInWith(source),
    },
    source,
  );
  const db = new PgDb(pool);
  try {
    await db.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  return db;
}

/** TLS options of `state.ssl`. */
function sslOptions(mode: PostgresStateConfig['ssl']): false | ConnectionOptions {
  switch (mode) {
    case 'disable':
      return false;
    case 'require':
      // Encrypted, certificate not checked (libpq's sslmode=require).
      return { rejectUnauthorized: false };
    case 'verify-full':
      // The system CAs (and NODE_EXTRA_CA_CERTS) and the host name: Node's defaults. pg checks the certificate
      // against the host (and sends it as SNI unless it is an IP address).
      return { rejectUnauthorized: true };
  }
}

/**
 * The server and login named by a `postgresql://` connection string. SECURITY: errors name the reference the
 * string came from, never the string (it holds the password).
 */
function parseConnectionString(text: string, reference: string): { endpoint: Endpoint; login: Login } {
  const invalid = (why: string): CofreError =>
    new CofreError(
      'COFRE_CONFIG_INVALID',
      `state.url: the secret ${reference} is not a usable connection string (${why}); expected postgresql://user:password@host:5432/database`,
    );
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw invalid('not a URL');
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') throw invalid('not postgresql://');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw invalid('no host');
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database === '') throw invalid('no database');
  const user = decodeURIComponent(url.username);
  if (user === '') throw invalid('no user');
  const port = url.port === '' ? 5432 : Number(url.port);
  return { endpoint: { host, port, database }, login: { user, password: decodeURIComponent(url.password) } };
}

/**
 * A `pg.Client` that reads its login from `source` when it connects: the pool makes one per new connection, so
 * each new connection uses the credentials current at that moment.
 */
function clientLoggingInWith(source: LoginSource): typeof pg.Client {
  return class LoginClient extends pg.Client {
    override connect(): Promise<pg.Client>;
    override connect(callback: (err: Error) => void): void;
    override connect(callback?: (err: Error) => void): Promise<pg.Client> | undefined {
      const connected = source.read().then(({ login }) => {
        // The pool's connect timeout ran out while the credentials were read (a slow secret backend): it destroyed
        // the socket this client would use, and a connect on it would never call back.
        const stream = (this as unknown as { connection: { stream: { destroyed: boolean } } }).connection
          .stream;
        if (stream.destroyed) throw new Error('connection timeout while reading the credentials');
        // The startup message carries the user name; the password answers the server's SCRAM challenge.
        // (pg reads both from `connectionParameters`, which its typings do not declare.)
        const parameters = (this as unknown as { connectionParameters: { user: string; password: string } })
          .connectionParameters;
        this.user = login.user;
        parameters.user = login.user;
        this.password = login.password;
        parameters.password = login.password;
        return super.connect();
      });
      if (callback === undefined) return connected.then(() => this);
      connected.then(
        () => {
          callback(undefined as unknown as Error);
        },
        (err: unknown) => {
          callback(err as Error);
        },
      );
      return undefined;
    }
  };
}

/**
 * A pool whose new connections retry once, with credentials read again past any cache, when the server refused the
 * login: the one moment a rolled Vault lease shows (the cached password is the revoked one).
 */
class LoginPool extends pg.Pool {
  readonly #source: LoginSource;

  constructor(config: pg.PoolConfig, source: LoginSource) {
    super(config);
    this.#source = source;
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(
    callback: (
      err: Error | undefined,
      client: pg.PoolClient | undefined,
      done: (release?: unknown) => void,
    ) => void,
  ): void;
  override connect(
    callback?: (
      err: Error | undefined,
      client: pg.PoolClient | undefined,
      done: (release?: unknown) => void,
    ) => void,
  ): Promise<pg.PoolClient> | undefined {
    const connected = this.#connectRetrying();
    if (callback === undefined) return connected;
    connected.then(
      (client) => {
        callback(undefined, client, (release) => {
          client.release(release as boolean | Error | undefined);
        });
      },
      (err: unknown) => {
        callback(err as Error, undefined, () => undefined);
      },
    );
    return undefined;
  }

  async #connectRetrying(): Promise<pg.PoolClient> {
    try {
      return await super.connect();
    } catch (err) {
      if (!(err instanceof pg.DatabaseError) || !LOGIN_REFUSED.has(err.code ?? '')) throw err;
      this.#source.refresh();
      return await super.connect();
    }
  }
}
