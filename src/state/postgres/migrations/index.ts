import { migration as core } from './0001-core.js';
import { migration as limitLedger } from './0002-limit-ledger.js';
import { migration as control } from './0003-control.js';
import { migration as audit } from './0004-audit.js';
import { migration as agentSessions } from './0005-agent-sessions.js';
import { migration as requestsCreated } from './0006-requests-created.js';
import { migration as walletNonces } from './0007-wallet-nonces.js';
import type { Migration } from './migration.js';

/** Every step of the PostgreSQL state schema, in order: the schema this cofre knows is the last one's version. */
export const MIGRATIONS: readonly Migration[] = [
  core,
  limitLedger,
  control,
  audit,
  agentSessions,
  requestsCreated,
  walletNonces,
];

export const POSTGRES_SCHEMA_VERSION: number = MIGRATIONS.length;
