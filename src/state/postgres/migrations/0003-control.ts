import type { Migration } from './migration.js';

// Issue 16: operators, approvals and the halt, mirroring sqlite-control-store.ts. Types as in 0001-core.ts. A step is
// never edited after it ships.
export const migration: Migration = {
  version: 3,
  name: 'operators-approvals-halt',
  sql: `
CREATE TABLE operators (
  id text COLLATE "C" PRIMARY KEY,
  token_id text COLLATE "C" NOT NULL UNIQUE,
  token_hash bytea NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz
);

CREATE TABLE approvals (
  request_id text COLLATE "C" PRIMARY KEY,
  agent_id text NOT NULL,
  action text NOT NULL,
  account text,
  payload text NOT NULL,
  payload_hash text NOT NULL,
  rule text NOT NULL,
  required integer NOT NULL CHECK (required >= 1),
  approvers text[] NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'executed')),
  decided_by text,
  comment text,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  decided_at timestamptz
);
CREATE INDEX approvals_by_created ON approvals (created_at);

-- One vote per operator (the primary key); seq keeps the order they came in.
CREATE TABLE approval_votes (
  request_id text COLLATE "C" NOT NULL REFERENCES approvals (request_id),
  operator text COLLATE "C" NOT NULL,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  at timestamptz NOT NULL,
  comment text,
  PRIMARY KEY (request_id, operator)
);

-- The kill switch: one row, or none.
CREATE TABLE halt (
  id integer PRIMARY KEY CHECK (id = 1),
  reason text NOT NULL,
  by text NOT NULL,
  at timestamptz NOT NULL
);
`,
};
