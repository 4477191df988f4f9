import type { Migration } from './migration.js';

// Issue 17: short-lived agent tokens cofre issues itself (workload identity exchange, delegation).
export const migration: Migration = {
  version: 5,
  name: 'agent-sessions',
  sql: `
CREATE TABLE agent_sessions (
  token_id text COLLATE "C" PRIMARY KEY,
  token_hash bytea NOT NULL,
  agent_id text COLLATE "C" NOT NULL,
  policy text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('exchange', 'delegation')),
  on_behalf_of jsonb NOT NULL,
  ancestors jsonb NOT NULL,
  grants text,
  subject text,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz
);
CREATE INDEX agent_sessions_agent ON agent_sessions (agent_id);
CREATE INDEX agent_sessions_expires ON agent_sessions (expires_at);
`,
};
