// Regression: the state database and its -wal/-shm (token hashes, every stored response) were created with the
// umask (644 under the usual 022), and a wider mode on an existing file was never noticed.
import { chmodSync, chownSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { PrivateFileFixed } from '../../config/private-file.js';
import { isCofreError } from '../../errors.js';
import { SqliteStateStore } from './sqlite-state-store.js';

const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);

let umask: number;
let dir: string;
beforeAll(() => {
  // The usual umask, which lets group and others read new files: the mode must not depend on it.
  umask = process.umask(0o022);
});
afterAll(() => {
  process.umask(umask);
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cofre-state-modes-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function addAgent(store: SqliteStateStore, id: string): void {
  store.addAgent({
    id,
    policy: 'p',
    tokenId: `t-${id}`,
    tokenHash: Buffer.alloc(32, 1),
    createdAt: new Date(0),
    expiresAt: new Date(3_600_000),
    revokedAt: undefined,
  });
}

describe.skipIf(process.platform === 'win32')('state database file modes', () => {
  it('creates the database, its -wal and -shm with mode 600 in a new folder of mode 700', () => {
    const path = join(dir, 'nested', 'state.db');
    const store = new SqliteStateStore(path);
    try {
      addAgent(store, 'a');
      expect(modeOf(join(dir, 'nested'))).toBe('700');
      for (const file of [path, `${path}-wal`, `${path}-shm`])
        expect([file, modeOf(file)]).toEqual([file, '600']);
    } finally {
      store.close();
    }
  });

  it('restricts an existing database and companions of mode 644 to 600, and reports each', () => {
    const path = join(dir, 'state.db');
    new SqliteStateStore(path).close();
    // A second connection keeps -wal and -shm in place, as a crashed or concurrent process would.
    const other = new Database(path);
    other.pragma('journal_mode = WAL');
    other.exec('CREATE TABLE IF NOT EXISTS x (y)');
    try {
      for (const file of [path, `${path}-wal`, `${path}-shm`]) chmodSync(file, 0o644);
      const fixed: PrivateFileFixed[] = [];
      const store = new SqliteStateStore(path, { onModeFixed: (f) => fixed.push(f) });
      addAgent(store, 'b');
      store.close();
      expect(fixed.map((f) => [f.path, f.was])).toEqual([
        [path, '644'],
        [`${path}-wal`, '644'],
        [`${path}-shm`, '644'],
      ]);
      for (const file of [path, `${path}-wal`, `${path}-shm`]) expect(modeOf(file)).toBe('600');
    } finally {
      other.close();
    }
  });

  it.skipIf(process.getuid?.() !== 0)('refuses a readable database that belongs to another user', () => {
    const path = join(dir, 'state.db');
    writeFileSync(path, '', { mode: 0o644 });
    chmodSync(path, 0o644);
    chownSync(path, 65534, 65534);
    let err: unknown;
    try {
      new SqliteStateStore(path).close();
    } catch (e) {
      err = e;
    }
    expect(isCofreError(err, 'COFRE_PRIVATE_FILE_INSECURE')).toBe(true);
    expect((err as Error).message).toContain(`chmod 600 ${path}`);
    expect(modeOf(path)).toBe('644');
  });
});
