import type { ActionName } from '../broker/actions.js';

/**
 * Issue 17: what one delegation narrowed its child to. A request by a delegated agent must fit every grant of its
 * chain, on top of the root's policy (which still decides): so a chain can only ever narrow.
 */
export interface DelegationGrant {
  /** The delegated token this grant was minted for; its limits are keyed by it (`delegation:<tokenId>|...`). */
  readonly tokenId: string;
  /** Accounts the child may use; absent: whatever its parent may. */
  readonly accounts?: readonly string[] | undefined;
  /** Actions the child may ask for; absent: whatever its parent may. */
  readonly actions?: readonly ActionName[] | undefined;
  /** Markets (`BTC/USDT`) the child may trade or read; absent: whatever its parent may. */
  readonly symbols?: readonly string[] | undefined;
  /** Budgets of the child's own, drawn in addition to (never instead of) the parent's. */
  readonly limits?: readonly DelegationLimit[] | undefined;
}

/** One budget of a delegated token: at most `cap` per rolling window. */
export interface DelegationLimit {
  readonly measure: 'notional' | 'orders' | 'withdrawals';
  /** The quote asset for notional, the asset for withdrawals; absent for orders. */
  readonly unit?: string | undefined;
  readonly windowMs: number;
  /** Decimal string. */
  readonly cap: string;
}
