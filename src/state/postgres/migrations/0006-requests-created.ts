import type { Migration } from './migration.js';

// Issue 18: the operator's activity list (listRequests), newest first, walks this index and stops at its limit.
export const migration: Migration = {
  version: 6,
  name: 'requests-created',
  sql: `
CREATE INDEX requests_created ON requests (created_at DESC, request_id DESC);
`,
};
