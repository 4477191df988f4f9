/**
 * What a state store method returns (issue 16): the value itself from SQLite, which answers on the caller's turn in
 * microseconds (better-sqlite3), or a promise of it from PostgreSQL, which answers over the network. Callers always
 * `await` it, so one broker runs on either.
 */
export type Awaitable<T> = T | Promise<T>;
