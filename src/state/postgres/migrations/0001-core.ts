import type { Migration } from './migration.js';

// Issue 16: the core tables, mirroring the SQLite schema (sqlite-state-store.ts, sqlite-audit-horizon.ts,
// sqlite-rotation-store.ts). A step is never edited after it ships.
//
// Times are `timestamptz`, not epoch milliseconds: a JavaScript Date has millisecond precision and timestamptz
// microsecond, so every value round-trips exactly, while an operator reading the tables with psql sees times, and
// comparisons with a parameter need no conversion. Token hashes are `bytea`. Counters that may pass 2^31 (audit
// `seq`, byte offsets) are `bigint`. Identifiers compare byte-wise (COLLATE "C"), as SQLite compares them, so both
// stores list agents, operators and approvals in one order whatever the database's locale.
export const migration: Migration = {
  version: 1,
  name: 'agents-requests-replicas-horizon-rotations',
  sql: `
CREATE TABLE agents (
  id text COLLATE "C" PRIMARY KEY,
  policy text NOT NULL,
  token_id text COLLATE "C" NOT NULL UNIQUE,
  token_hash bytea NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz
);

-- One row per request. idempotency_key is unique where set (NULLs never conflict): the claim's arbiter.
-- owner: the replica that runs it (issue 16); a dead replica's executing rows are adopted by a survivor.
CREATE TABLE requests (
  request_id text COLLATE "C" PRIMARY KEY,
  agent_id text NOT NULL,
  action text NOT NULL,
  account text,
  idempotency_key text COLLATE "C" UNIQUE,
  input text,
  status text NOT NULL
    CHECK (status IN ('executing', 'executed', 'denied', 'pending_approval', 'failed')),
  response text,
  owner text COLLATE "C" NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
-- executingRequests (own rows, oldest first) and adoptOrphans (a dead owner's rows).
CREATE INDEX requests_executing ON requests (owner, created_at) WHERE status = 'executing';
-- pruneRequests: oldest updates first.
CREATE INDEX requests_updated ON requests (updated_at);

-- Every live replica's last heartbeat (issue 16).
CREATE TABLE replicas (
  id text COLLATE "C" PRIMARY KEY,
  started_at timestamptz NOT NULL,
  heartbeat_at timestamptz NOT NULL
);
CREATE INDEX replicas_heartbeat ON replicas (heartbeat_at);

-- One row (issue 11).
CREATE TABLE audit_horizon (
  id integer PRIMARY KEY CHECK (id = 1),
  seq bigint NOT NULL,
  hash text NOT NULL,
  ino text NOT NULL,
  "offset" bigint NOT NULL,
  updated_at timestamptz NOT NULL
);

-- Key rotations (issue 12). The partial unique index keeps one unfinished rotation per target, across replicas.
-- seq orders rotations started in the same millisecond (SQLite's rowid).
CREATE TABLE rotations (
  id text COLLATE "C" PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  target_kind text NOT NULL CHECK (target_kind IN ('account', 'secret')),
  target text COLLATE "C" NOT NULL,
  status text NOT NULL,
  secrets jsonb NOT NULL,
  started_by text NOT NULL,
  started_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  error text,
  promoted_at timestamptz
);
CREATE UNIQUE INDEX rotations_active ON rotations (target_kind, target) WHERE status IN ('created', 'tested');
CREATE INDEX rotations_started ON rotations (started_at);
`,
};
