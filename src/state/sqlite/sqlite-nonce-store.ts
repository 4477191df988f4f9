import type Database from 'better-sqlite3';

import type { NonceClaim, NonceStore } from '../nonce-store.js';

/**
 * Schema version 7 (issue 19): each wallet's stored next nonce and its send lease (see {@link NonceStore}).
 * Idempotent; runs inside the caller's migration transaction.
 */
export function migrateTo7(db: Database.Database): void {
  db.exec(`
CREATE TABLE IF NOT EXISTS wallet_nonces (
  wallet TEXT PRIMARY KEY,
  next_nonce INTEGER,
  holder TEXT,
  lease_expires INTEGER
);
`);
}

interface NonceRow {
  next_nonce: number | null;
  holder: string | null;
  lease_expires: number | null;
}

/**
 * The {@link NonceStore} of one state file. Safe across processes on the file: the claim reads and writes under
 * `BEGIN IMMEDIATE` (the write lock is taken before the read), and the release is one statement.
 */
export class SqliteNonceStore implements NonceStore {
  readonly #claim: Database.Transaction<
    (wallet: string, holder: string, at: Date, expires: Date) => NonceClaim
  >;
  readonly #release: Database.Statement;
  readonly #advance: Database.Statement;
  readonly #releaseAndAdvance: Database.Transaction<
    (wallet: string, holder: string, advanceTo?: number) => boolean
  >;

  /** `db` must have been migrated to version 7 ({@link migrateTo7}). The caller owns and closes it. */
  constructor(db: Database.Database) {
    const read = db.prepare('SELECT next_nonce, holder, lease_expires FROM wallet_nonces WHERE wallet = ?');
    const take = db.prepare(
      `INSERT INTO wallet_nonces (wallet, next_nonce, holder, lease_expires) VALUES (?, NULL, ?, ?)
       ON CONFLICT (wallet) DO UPDATE SET holder = excluded.holder, lease_expires = excluded.lease_expires`,
    );
    this.#claim = db.transaction((wallet, holder, at, expires) => {
      const row = read.get(wallet) as NonceRow | undefined;
      if (
        row?.holder != null &&
        row.holder !== holder &&
        row.lease_expires !== null &&
        row.lease_expires > at.getTime()
      ) {
        return { claimed: false, holder: row.holder, expires: new Date(row.lease_expires) };
      }
      take.run(wallet, holder, expires.getTime());
      return { claimed: true, next: row?.next_nonce ?? undefined };
    });
    this.#release = db.prepare(
      'UPDATE wallet_nonces SET holder = NULL, lease_expires = NULL WHERE wallet = ? AND holder = ?',
    );
    // max() of SQLite with NULL answers NULL, hence the COALESCE.
    this.#advance = db.prepare(
      'UPDATE wallet_nonces SET next_nonce = max(COALESCE(next_nonce, 0), ?) WHERE wallet = ?',
    );
    this.#releaseAndAdvance = db.transaction((wallet, holder, advanceTo) => {
      if (advanceTo !== undefined) this.#advance.run(advanceTo, wallet);
      return this.#release.run(wallet, holder).changes === 1;
    });
  }

  claimNonce(wallet: string, holder: string, at: Date, expires: Date): NonceClaim {
    return this.#claim.immediate(wallet, holder, at, expires);
  }

  releaseNonce(wallet: string, holder: string, advanceTo?: number): boolean {
    return this.#releaseAndAdvance.immediate(wallet, holder, advanceTo);
  }
}
