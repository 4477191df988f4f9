import type { VenueCallRecord } from '../venues/venue-account.js';
import type { BrokerContext, Claimed } from './broker-types.js';
import type { ResolvedAction } from './resolve-action.js';

/**
 * Issue 19, the send step of an allowed wallet action, after its intent is on record: `get_wallet` reads, a
 * preview simulates and reports the decision `send_transaction` would get, `send_transaction` takes the wallet's
 * next nonce, signs exactly the resolved payload and broadcasts it to the configured RPC only, `sign_typed_data`
 * signs. Sets `record.writeSent` once anything may have reached the chain.
 *
 * CONTRACT STUB (h-evm implements).
 */
export function runWalletAction(
  _ctx: BrokerContext,
  _request: Claimed,
  _input: unknown,
  _resolved: ResolvedAction,
  _record: VenueCallRecord,
): Promise<unknown> {
  throw new Error('runWalletAction: not implemented yet (issue 19, h-evm)');
}
