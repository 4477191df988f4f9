import { randomBytes } from 'node:crypto';

import { CofreError } from '../errors.js';
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
 */
export interface NonceManager {
  /**
   * Runs `send` with the next nonce of `wallet` (`<chainId>:<lower-case address>`), one `send` per wallet at a time,
   * and records what it did. `pendingCount` is the chain's `eth_getTransactionCount(address, "pending")`.
   * A `send` that throws counts as `unknown` (the error is rethrown): it may have broadcast before failing.
   */
  withNextNonce<T>(
    wallet: string,
    pendingCount: () => Promise<number>,
    send: (nonce: number) => Promise<{ readonly outcome: NonceOutcome; readonly value: T }>,
  ): Promise<T>;
}

/** Tuning of {@link createNonceManager}; the defaults suit the broker. */
export interface NonceManagerOptions {
  /**
   * How long one send may hold a wallet's lease (default 2 minutes): a process that dies mid-send blocks the wallet
   * for at most this long. It must outlast a send (signing and broadcast, not the receipt wait): a holder slower
   * than this may share its nonce with the next holder.
   */
  readonly leaseMs?: number;
  /** How long to wait for another process's lease before giving up (default: the lease plus 10 s). */
  readonly waitMs?: number;
  /** Poll interval while another process holds the lease (default 100 ms). */
  readonly pollMs?: number;
  /** The lease holder's name (default random per manager, so each process is a holder of its own). */
  readonly holder?: string;
  readonly now?: () => Date;
  /** Told when a send outlived its lease (another holder may have taken it); default a process warning. */
  readonly onLeaseLost?: (wallet: string) => void;
  /** Told when the lease could not be given back (the state store failed); default a process warning. */
  readonly onReleaseFailed?: (wallet: string, err: unknown) => void;
}

/**
 * The nonce manager over the state store.
 *
 * How a nonce is chosen: `max(stored next, chain pending count)`, under the wallet's lease, and after the send:
 * - `broadcast`: the stored next becomes nonce + 1 (the chain may not show it yet at every RPC: the stored value is
 *   what keeps the next send from reusing it);
 * - `not-sent`: nothing changes, so the next send takes the same nonce again: no gap;
 * - `unknown`: nothing changes either, and the next send's pending count decides: if the transaction landed (or sits
 *   in the node's pool), the count is past it and it is not reused; if it never did, the count still shows it free
 *   and it is used again, so there is no gap. Advancing here instead would leave a gap (every later transaction
 *   stuck) each time a timed-out send had in fact never reached the node.
 *
 * What holds across processes (SQLite) and replicas (PostgreSQL): the lease is taken by a compare-and-set in the
 * store, so only one holder sends for a wallet at a time, and the stored next nonce only moves forward. What does
 * not: a holder that runs past its lease (a hung RPC call longer than `leaseMs`) may share its nonce with the next
 * holder (the node then keeps one of the two transactions); an `unknown` send that reached one RPC node but not the
 * one the next send asks may be reused (replaced) — both need the RPC to misbehave beyond its timeouts. Within one
 * process, sends of one wallet queue on a promise chain before touching the store.
 *
 * Safe to call concurrently; holds no secret.
 */
export function createNonceManager(state: StateStore, options: NonceManagerOptions = {}): NonceManager {
  const leaseMs = options.leaseMs ?? 120_000;
  const waitMs = options.waitMs ?? leaseMs + 10_000;
  const pollMs = options.pollMs ?? 100;
  const holder = options.holder ?? `n-${randomBytes(8).toString('hex')}`;
  const now = options.now ?? (() => new Date());
  const onLeaseLost =
    options.onLeaseLost ??
    ((wallet: string) => {
      process.emitWarning(`cofre: a send of wallet ${wallet} outlived its nonce lease`);
    });
  const onReleaseFailed =
    options.onReleaseFailed ??
    ((wallet: string, err: unknown) => {
      const code = err instanceof Error && 'code' in err ? String(err.code) : 'error';
      process.emitWarning(
        `cofre: the nonce lease of wallet ${wallet} could not be released (${code}); it will expire`,
      );
    });
  /** Per wallet, the end of the last queued send in this process. */
  const queues = new Map<string, Promise<unknown>>();

  async function claim(wallet: string): Promise<number | undefined> {
    const deadline = now().getTime() + waitMs;
    for (;;) {
      const at = now();
      const answer = await state.claimNonce(wallet, holder, at, new Date(at.getTime() + leaseMs));
      if (answer.claimed) return answer.next;
      if (at.getTime() >= deadline) {
        throw new CofreError(
          'COFRE_STATE_UNAVAILABLE',
          `wallet ${wallet}: another cofre process has been sending for it (nonce lease held until ${answer.expires.toISOString()}); retry later`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  async function sendUnderLease<T>(
    wallet: string,
    pendingCount: () => Promise<number>,
    send: (nonce: number) => Promise<{ readonly outcome: NonceOutcome; readonly value: T }>,
  ): Promise<T> {
    const stored = await claim(wallet);
    let advanceTo: number | undefined;
    try {
      const pending = await pendingCount();
      const nonce = Math.max(stored ?? 0, pending);
      const { outcome, value } = await send(nonce);
      if (outcome === 'broadcast') advanceTo = nonce + 1;
      return value;
    } finally {
      await release(wallet, advanceTo);
    }
  }

  /**
   * Gives the lease back. Never throws: what the send did (a broadcast transaction's hash, or its error) matters more
   * than the bookkeeping. If the store cannot be written, the lease simply expires, and a broadcast nonce that was not
   * recorded is found again by the next send's pending count, as after `unknown`.
   */
  async function release(wallet: string, advanceTo: number | undefined): Promise<void> {
    try {
      if (!(await state.releaseNonce(wallet, holder, advanceTo))) onLeaseLost(wallet);
    } catch (err) {
      onReleaseFailed(wallet, err);
    }
  }

  return {
    withNextNonce<T>(
      wallet: string,
      pendingCount: () => Promise<number>,
      send: (nonce: number) => Promise<{ readonly outcome: NonceOutcome; readonly value: T }>,
    ): Promise<T> {
      const previous = queues.get(wallet) ?? Promise.resolve();
      const run = previous.then(
        () => sendUnderLease(wallet, pendingCount, send),
        () => sendUnderLease(wallet, pendingCount, send),
      );
      // The queue holds the settled tail only, so one failure does not fail the sends queued after it.
      const tail = run.then(
        () => undefined,
        () => undefined,
      );
      queues.set(wallet, tail);
      void tail.then(() => {
        if (queues.get(wallet) === tail) queues.delete(wallet);
      });
      return run;
    },
  };
}
