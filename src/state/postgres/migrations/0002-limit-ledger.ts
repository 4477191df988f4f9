import type { Migration } from './migration.js';

// Issue 16: filled in by the part that owns these tables; a step is never edited after it ships.
// The limit ledger (postgres-limit-ledger.ts explains how it counts; the SQLite tables are the same idea):
// - amounts are bigint ledger steps (10^-8 units, at most 10^18); running totals are numeric, exact however long
//   the ledger runs; times are epoch milliseconds (bigint), as in the SQLite ledger, since windows are arithmetic
//   on them (`at > now − window`) and both stores must draw the same window edges;
// - text columns compare byte-wise (COLLATE "C"), as SQLite does, so both stores list requests in one order;
// - every read of a reservation is an index search: reservations and open orders by (key, amount) (index-only
//   sums), usage by (key, at, id), pruning by expires_at.
export const migration: Migration = {
  version: 2,
  name: 'limit-ledger',
  sql: `
CREATE TABLE limit_reservations (
  request_id text COLLATE "C" NOT NULL,
  key text COLLATE "C" NOT NULL,
  measure text NOT NULL,
  window_ms bigint,
  amount bigint NOT NULL CHECK (amount >= 0),
  reserved_at bigint NOT NULL,
  PRIMARY KEY (request_id, key)
);
CREATE INDEX limit_reservations_key ON limit_reservations (key, amount);
CREATE TABLE limit_totals (
  key text COLLATE "C" PRIMARY KEY,
  total numeric NOT NULL,
  last_at bigint NOT NULL,
  window_ms bigint NOT NULL
);
CREATE TABLE limit_usage (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key text COLLATE "C" NOT NULL,
  at bigint NOT NULL,
  amount bigint NOT NULL,
  before_total numeric NOT NULL,
  expires_at bigint NOT NULL
);
CREATE INDEX limit_usage_key_at ON limit_usage (key, at, id);
CREATE INDEX limit_usage_expires ON limit_usage (expires_at);
CREATE TABLE limit_open_orders (
  account text COLLATE "C" NOT NULL,
  order_id text COLLATE "C" NOT NULL,
  key text COLLATE "C" NOT NULL,
  amount bigint NOT NULL,
  opened_at bigint NOT NULL,
  PRIMARY KEY (account, order_id, key)
);
CREATE INDEX limit_open_orders_key ON limit_open_orders (key, amount);
`,
};
