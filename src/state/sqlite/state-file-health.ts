import { existsSync } from 'node:fs';

import Database from 'better-sqlite3';

import { STATE_SCHEMA_VERSION } from './sqlite-state-store.js';

/** What {@link stateFileHealth} found. */
export type StateFileHealth =
  | { readonly kind: 'missing' }
  | { readonly kind: 'unreadable'; readonly reason: string }
  | {
      readonly kind: 'opened';
      /** `ok`, or the first problem `PRAGMA quick_check` names. */
      readonly quickCheck: string;
      readonly schemaVersion: number;
      /** The version this cofre writes; an older file is migrated at the next start, a newer one is refused. */
      readonly knownVersion: number;
    };

/**
 * Opens the state file read-only (never creating, migrating or chmod-ing it, unlike the store itself) and asks
 * SQLite whether it is sound (`PRAGMA quick_check`) and which schema version it holds. For `cofre doctor`.
 * Synchronous: a quick check of a state file is a few milliseconds to a few seconds on a large one.
 */
export function stateFileHealth(path: string): StateFileHealth {
  if (!existsSync(path)) return { kind: 'missing' };
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    const code = (err as { code?: string }).code;
    return { kind: 'unreadable', reason: `${code ?? 'error'}: ${(err as Error).message}` };
  }
  try {
    const quickCheck = String(db.pragma('quick_check', { simple: true }));
    const schemaVersion = Number(db.pragma('user_version', { simple: true }));
    return { kind: 'opened', quickCheck, schemaVersion, knownVersion: STATE_SCHEMA_VERSION };
  } catch (err) {
    // A file that is not a database opens fine and fails at its first read (SQLITE_NOTADB).
    const code = (err as { code?: string }).code;
    return { kind: 'unreadable', reason: `${code ?? 'error'}: ${(err as Error).message}` };
  } finally {
    db.close();
  }
}
