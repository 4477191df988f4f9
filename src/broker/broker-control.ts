import type { HaltState } from '../state/control-store.js';
import type { ActionResponse } from './broker.js';

/** What cancelling every open order did at one account. */
export interface CancelAllReport {
  readonly account: string;
  readonly cancelled: number;
  /** Why it failed at this account (a cofre error message, never a venue's raw text or a credential). */
  readonly error?: string;
}

/**
 * What the operator side (`operator-actions.ts`: the operator HTTP API and `cofre approval|halt|resume`) needs from
 * the broker. The broker implements it; operator code depends only on this.
 */
export interface BrokerControl {
  /**
   * Executes an approved request's bound payload once (re-checks halt and limits): claims it with
   * `ControlStore.claimApprovedForExecution`, so of concurrent callers one executes; answers the request's response
   * (the stored one for a caller that did not win the claim).
   */
  executeApproved(requestId: string, operator: string): Promise<ActionResponse>;
  /** Cancels every open order of every account through the audited path; per-account report. */
  cancelAllOpenOrders(by: string): Promise<readonly CancelAllReport[]>;
  /**
   * Refuses new actions from now on (in this process) and resolves once no venue write that passed the halt check
   * before is still in flight.
   */
  halt(state: HaltState): Promise<void>;
  /** Accepts actions again (in this process). */
  resume(): void;
}
