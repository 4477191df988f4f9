import type { HaltState } from '../state/control-store.js';
import type { ActionResponse } from './broker.js';

/** What operator actions (approve, halt, resume) need from the broker; the Broker implements it. */
export interface BrokerControl {
  /** Executes an approved request's bound payload once (re-checks halt and limits); the request's answer. */
  executeApproved(requestId: string, operator: string): Promise<ActionResponse>;
  /** Cancels every open order of every account through the audited path; per-account report. */
  cancelAllOpenOrders(by: string): Promise<readonly { account: string; cancelled: number; error?: string }[]>;
  /**
   * Refuses new actions from now on (in this process) and resolves once no venue write that passed the halt check
   * before is still in flight.
   */
  halt(state: HaltState): Promise<void>;
  resume(): void;
}
