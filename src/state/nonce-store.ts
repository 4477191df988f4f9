import type { Awaitable } from './awaitable.js';

/** What {@link NonceStore.claimNonce} answers. */
export type NonceClaim =
  /** The wallet's nonce lease is the caller's until `expires`; `next` is the stored next nonce (none yet: undefined). */
  | { readonly claimed: true; readonly next: number | undefined }
  /** Another holder's unexpired lease: try again after it ends or is released. */
  | { readonly claimed: false; readonly holder: string; readonly expires: Date };

/**
 * Issue 19: the nonces of EVM wallets, kept across restarts and shared by every process on the state (SQLite) and
 * every replica (PostgreSQL). Per wallet (`<chainId>:<lower-case address>`), a row holds:
 * - the stored next nonce: the nonce after the last one known broadcast; it only moves forward;
 * - a lease: who is sending for the wallet now, until when. It is the cross-process mutex that makes sends of one
 *   wallet run one at a time across processes and replicas, and it expires so a dead holder does not block forever.
 * Both methods are atomic (SQLite `BEGIN IMMEDIATE`; PostgreSQL one guarded statement, a compare-and-set): of two
 * holders claiming at once, exactly one gets the lease. Holds no secret.
 *
 * Times are the callers' clocks: a lease's end is written by its holder and compared with a claimer's `at`, so on
 * PostgreSQL a replica whose clock runs ahead by more than the lease could take a live lease early (keep replicas on
 * NTP; the lease is minutes, skew is milliseconds).
 */
export interface NonceStore {
  /**
   * Takes the lease of `wallet` for `holder` until `expires` when it is free, expired at `at`, or already
   * `holder`'s, and returns the stored next nonce; otherwise returns the current holder.
   */
  claimNonce(wallet: string, holder: string, at: Date, expires: Date): Awaitable<NonceClaim>;
  /**
   * Ends `holder`'s lease of `wallet` and, with `advanceTo`, raises the stored next nonce to it (never lowers it:
   * the larger of the two is kept, whoever holds the lease, since a broadcast nonce is used whatever happened to
   * the lease). Returns false when the lease was no longer `holder`'s (it expired and another took it): the caller
   * held it too long.
   */
  releaseNonce(wallet: string, holder: string, advanceTo?: number): Awaitable<boolean>;
}
