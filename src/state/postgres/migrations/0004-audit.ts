import type { Migration } from './migration.js';

/**
 * The audit log of every replica as one hash chain (issue 16; `src/audit/postgres-audit-log.ts` writes it,
 * `src/audit/postgres-audit-verify.ts` checks it). Each row of `audit_records` holds one record's line in the file
 * log's format (docs/audit.md), byte for byte, so the same hashes and signatures hold. `audit_head` is one row: the
 * next record's seq, the hash of the last record, the log's id and the records since the last checkpoint; a writer
 * locks it (`FOR UPDATE`) for its whole batch, so batches of all replicas take consecutive seqs one after another.
 * The verifier compares it with the last record, so rows cut off the end are found (the file log needs a witness
 * for that).
 */
export const migration: Migration = {
  version: 4,
  name: 'audit-log',
  sql: `
CREATE TABLE audit_records (
  seq bigint PRIMARY KEY CHECK (seq >= 0),
  line text NOT NULL
);

CREATE TABLE audit_head (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  seq bigint NOT NULL CHECK (seq >= 0),
  hash text NOT NULL,
  log_id text,
  since_checkpoint integer NOT NULL CHECK (since_checkpoint >= 0)
);

INSERT INTO audit_head (only_row, seq, hash, log_id, since_checkpoint)
VALUES (true, 0, '${'0'.repeat(64)}', NULL, 0);
`,
};
