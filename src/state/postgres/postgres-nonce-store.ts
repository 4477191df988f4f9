import type { NonceClaim, NonceStore } from '../nonce-store.js';
import type { PgDb } from './pg-db.js';

interface NonceRow {
  next_nonce: string | null;
  holder: string | null;
  lease_expires: Date | null;
}

/**
 * The {@link NonceStore} on PostgreSQL. Each call is one statement, a compare-and-set: the claim's upsert updates
 * the row only when its lease is free, expired or the caller's (`WHERE` of `ON CONFLICT … DO UPDATE`, evaluated on
 * the row as locked), so of two replicas claiming at once exactly one gets the lease.
 */
export class PostgresNonceStore implements NonceStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async claimNonce(wallet: string, holder: string, at: Date, expires: Date): Promise<NonceClaim> {
    const taken = await this.#db.query<NonceRow>(
      `INSERT INTO wallet_nonces AS w (wallet, next_nonce, holder, lease_expires) VALUES ($1, NULL, $2, $3)
       ON CONFLICT (wallet) DO UPDATE SET holder = excluded.holder, lease_expires = excluded.lease_expires
         WHERE w.holder IS NULL OR w.holder = excluded.holder OR w.lease_expires <= $4
       RETURNING next_nonce, holder, lease_expires`,
      [wallet, holder, expires, at],
    );
    const row = taken.rows[0];
    if (row !== undefined)
      return { claimed: true, next: row.next_nonce === null ? undefined : Number(row.next_nonce) };
    const { rows } = await this.#db.query<NonceRow>(
      'SELECT next_nonce, holder, lease_expires FROM wallet_nonces WHERE wallet = $1',
      [wallet],
    );
    const held = rows[0];
    // Released between the two statements: the caller simply tries again.
    return { claimed: false, holder: held?.holder ?? 'nobody', expires: held?.lease_expires ?? at };
  }

  async releaseNonce(wallet: string, holder: string, advanceTo?: number): Promise<boolean> {
    // The lease is compared as it was before the update (a CTE reads the row as locked by FOR UPDATE).
    const { rows } = await this.#db.query<{ released: boolean }>(
      `WITH old AS (SELECT wallet, holder FROM wallet_nonces WHERE wallet = $1 FOR UPDATE)
       UPDATE wallet_nonces w SET
         next_nonce = CASE WHEN $3::bigint IS NULL THEN w.next_nonce
                           ELSE GREATEST(COALESCE(w.next_nonce, 0), $3::bigint) END,
         holder = CASE WHEN old.holder = $2 THEN NULL ELSE w.holder END,
         lease_expires = CASE WHEN old.holder = $2 THEN NULL ELSE w.lease_expires END
       FROM old WHERE w.wallet = old.wallet
       RETURNING (old.holder IS NOT DISTINCT FROM $2) AS released`,
      [wallet, holder, advanceTo ?? null],
    );
    return rows[0]?.released === true;
  }
}
