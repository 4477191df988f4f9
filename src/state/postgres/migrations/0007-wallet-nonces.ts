import type { Migration } from './migration.js';

// Issue 19: each EVM wallet's stored next nonce and its send lease (src/state/nonce-store.ts).
export const migration: Migration = {
  version: 7,
  name: 'wallet-nonces',
  sql: `
CREATE TABLE wallet_nonces (
  wallet TEXT PRIMARY KEY,
  next_nonce BIGINT,
  holder TEXT,
  lease_expires TIMESTAMPTZ
);
`,
};
