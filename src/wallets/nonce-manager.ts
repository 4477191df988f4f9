import type { StateStore } from '../state/state-store.js';

/** What a send did with the nonce it was given. */
export type NonceOutcome =
  /** The RPC accepted the transaction: the nonce is used. */
  | 'broadcast'
  /** It definitely did not reach the chain (refused before or by the RPC): the nonce is free for the next send. */
  | 'not-sent'
  /** It may have reached the chain (a timeout after sending): the nonce is not reused unless the chain shows it free. */
  | 'unknown';

/**
 * Issue 19: nonces of one wallet address on one chain: no reuse, no gaps after failures, kept across restarts (in
 * the state store). Sends of one wallet run one at a time.
 *
 * CONTRACT (h-signer implements; h-evm uses).
 */
export interface NonceManager {
  /**
   * Runs `send` with the next nonce of `wallet` (`<chainId>:<lower-case address>`), one `send` per wallet at a time,
   * and records what it did. `pendingCount` is the chain's `eth_getTransactionCount(address, "pending")`.
   */
  withNextNonce<T>(
    wallet: string,
    pendingCount: () => Promise<number>,
    send: (nonce: number) => Promise<{ readonly outcome: NonceOutcome; readonly value: T }>,
  ): Promise<T>;
}

/**
 * The nonce manager over the state store.
 *
 * CONTRACT STUB (h-signer implements).
 */
export function createNonceManager(_state: StateStore): NonceManager {
  throw new Error('createNonceManager: not implemented yet (issue 19, h-signer)');
}
