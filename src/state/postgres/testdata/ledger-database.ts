/**
 * A fresh PostgreSQL database for one limit-ledger test, on a server the test file started (`startPostgres`): the
 * state schema's steps applied in order (those written so far: until the core store's are, the ledger's own), and
 * pools that open ledgers on it.
 */
import pg from 'pg';

import { MIGRATIONS } from '../migrations/index.js';
import { PgDb } from '../pg-db.js';
import { PostgresLimitLedger } from '../postgres-limit-ledger.js';

let created = 0;

/** Creates database `t_<pid>_<n>` on the server of `connectionString` and returns its connection string. */
export async function createLedgerDatabase(connectionString: string): Promise<string> {
  const name = `t_${String(process.pid)}_${String(++created)}`;
  const admin = new pg.Client({ connectionString });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(connectionString);
  url.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    for (const step of MIGRATIONS) if (step.sql.trim() !== '') await client.query(step.sql);
  } finally {
    await client.end();
  }
  return url.toString();
}

/** A ledger on its own pool of `max` connections, as one process holds it; `close` ends the pool. */
export function openLedger(
  connectionString: string,
  max = 4,
): { ledger: PostgresLimitLedger; db: PgDb; close: () => Promise<void> } {
  const db = new PgDb(new pg.Pool({ connectionString, max }));
  return { ledger: new PostgresLimitLedger(db), db, close: () => db.close() };
}
