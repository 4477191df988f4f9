/**
 * Runs an INSERT whose primary key must be new, turning SQLite's primary-key violation into the caller's own error
 * (e.g. `COFRE_AGENT_EXISTS`); any other failure passes through.
 */
export function insertUnique(insert: () => void, duplicate: () => Error): void {
  try {
    insert();
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw duplicate();
    throw err;
  }
}
