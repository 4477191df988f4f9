import type { ActionResponse } from '../../broker/broker.js';
import type { BrokerControl, CancelAllReport } from '../../broker/broker-control.js';
import type { BrokerRuntime } from '../../broker/broker-runtime.js';
import type { HaltState } from '../../state/control-store.js';

/**
 * The {@link BrokerControl} of a CLI process (`cofre approval approve`, `cofre halt --cancel-open-orders`): the
 * broker is opened (secret backends, venues) only when something must reach a venue, and closed with
 * {@link CliBrokerControl.close}.
 *
 * `halt` and `resume` do nothing here: this process sends nothing to a venue of its own accord, and a running
 * `cofre serve` learns of the halt from the state file, where `OperatorActions` persists it first.
 */
export class CliBrokerControl implements BrokerControl {
  readonly #open: () => Promise<BrokerRuntime>;
  #runtime: Promise<BrokerRuntime> | undefined;

  constructor(open: () => Promise<BrokerRuntime>) {
    this.#open = open;
  }

  async executeApproved(requestId: string, operator: string): Promise<ActionResponse> {
    return (await this.#opened()).broker.executeApproved(requestId, operator);
  }

  async cancelAllOpenOrders(by: string): Promise<readonly CancelAllReport[]> {
    return (await this.#opened()).broker.cancelAllOpenOrders(by);
  }

  halt(_state: HaltState): Promise<void> {
    return Promise.resolve();
  }

  resume(): void {
    // Nothing runs in this process; see the class comment.
  }

  /** Closes the broker runtime if it was opened. */
  async close(): Promise<void> {
    const runtime = this.#runtime;
    this.#runtime = undefined;
    if (runtime !== undefined) await (await runtime).close();
  }

  #opened(): Promise<BrokerRuntime> {
    this.#runtime ??= this.#open();
    return this.#runtime;
  }
}
