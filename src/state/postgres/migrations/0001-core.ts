import type { Migration } from './migration.js';

// Issue 16: filled in by the part that owns these tables; a step is never edited after it ships.
export const migration: Migration = {
  version: 1,
  name: 'agents-requests-replicas-horizon-rotations',
  sql: '',
};
