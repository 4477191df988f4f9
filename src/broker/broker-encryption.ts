import type { BrokerContext, Claimed } from './broker-types.js';

/**
 * Issue 19, the send step of an allowed `encrypt`, `decrypt` or `generate_data_key`: runs it with the named key,
 * its encryption context binding the requesting agent's principal and the purpose. Never logs or records the
 * plaintext.
 *
 * CONTRACT STUB (h-crypt implements).
 */
export function runEncryptionAction(
  _ctx: BrokerContext,
  _request: Claimed,
  _input: unknown,
): Promise<unknown> {
  throw new Error('runEncryptionAction: not implemented yet (issue 19, h-crypt)');
}
