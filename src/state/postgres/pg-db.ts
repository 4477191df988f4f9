import pg from 'pg';

import { CofreError } from '../../errors.js';

/** What a statement needs: a pool (autocommit) or the client of an open transaction. */
export interface PgQueryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: readonly unknown[],
  ): Promise<pg.QueryResult<R>>;
}

/** SQLSTATEs after which the whole transaction may simply run again: nothing of it was committed. */
const RETRYABLE_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
]);

/** Attempts of one transaction before its serialization failure is the caller's (bounded: never a livelock). */
const MAX_ATTEMPTS = 8;

/**
 * A PostgreSQL state database (issue 16): a `pg.Pool` and the one way this code runs a transaction. Every SQL
 * statement of the PostgreSQL store goes through {@link PgDb.query} or {@link PgDb.transaction}, so a lost server
 * is one error (`COFRE_STATE_UNAVAILABLE`, retryable) wherever it shows.
 */
export class PgDb implements PgQueryable {
  readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
    // An idle client whose server went away emits 'error' on the pool; without a listener that kills the process.
    // The pool drops the client; the next checkout connects again (service resumes by itself, issue 16).
    pool.on('error', () => undefined);
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: readonly unknown[],
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values as unknown[] | undefined);
    } catch (err) {
      throw asStateError(err);
    }
  }

  /**
   * Runs `fn` in one transaction and commits it; rolls back and rethrows on error. A serialization failure or
   * deadlock runs `fn` again from the start (so `fn` must have no effect outside the transaction), up to
   * {@link MAX_ATTEMPTS} times. `serializable`: `ISOLATION LEVEL SERIALIZABLE`; default `READ COMMITTED`, with the
   * row locks or advisory locks the caller takes.
   */
  async transaction<T>(
    fn: (tx: PgQueryable) => Promise<T>,
    options: { readonly serializable?: boolean } = {},
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        throw asStateError(err);
      }
      let broken = false;
      // A checked-out client has no 'error' listener (the pool removes its own on checkout): a session the server
      // ends between two statements (a restart, a failover, idle_in_transaction_session_timeout) would otherwise be
      // an uncaught exception that kills the process. The next statement rejects instead, and the client is dropped.
      const lost = (): void => {
        broken = true;
      };
      client.on('error', lost);
      try {
        await client.query(options.serializable === true ? 'BEGIN ISOLATION LEVEL SERIALIZABLE' : 'BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true; // the connection is gone or unusable: do not give it back to the pool
        }
        if (isSessionUnusable(err)) broken = true;
        if (attempt < MAX_ATTEMPTS && isRetryable(err)) continue;
        throw asStateError(err);
      } finally {
        client.removeListener('error', lost);
        client.release(broken);
      }
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * A statement failed because of the session itself, not the statement: its role lost its rights or was dropped
 * (a Vault lease revoked: 28xxx, 42501), or the server is shutting it down (57P01-57P03, 08xxx, 25P03). The same
 * connection would fail every later transaction: it is dropped, and the pool opens a new one with the current login.
 */
function isSessionUnusable(err: unknown): boolean {
  if (!(err instanceof pg.DatabaseError) || err.code === undefined) return false;
  const code = err.code;
  return (
    code.startsWith('08') ||
    code.startsWith('28') ||
    code.startsWith('57P') ||
    code === '25P03' ||
    code === '42501'
  );
}

function isRetryable(err: unknown): boolean {
  return err instanceof pg.DatabaseError && err.code !== undefined && RETRYABLE_SQLSTATES.has(err.code);
}

/**
 * A cofre error as is (a refusal the transaction decided, e.g. `COFRE_ROTATION_IN_PROGRESS`); anything else —
 * the server unreachable, restarting, a connection cut — as `COFRE_STATE_UNAVAILABLE`, with the driver's error as
 * cause. SECURITY: the message names no host, user or password; the cause stays out of answers to agents.
 */
export function asStateError(err: unknown): Error {
  if (err instanceof CofreError) return err;
  const code = err instanceof pg.DatabaseError ? ` (SQLSTATE ${String(err.code)})` : '';
  return new CofreError('COFRE_STATE_UNAVAILABLE', `the PostgreSQL state database failed${code}`, {
    cause: err,
  });
}
