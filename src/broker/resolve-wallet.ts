import type { PolicyQuestion } from '../policy/policy-types.js';
import type { WalletService } from '../wallets/wallet-service.js';
import type { AuthenticatedAgent } from './agent-tokens.js';
import type { ResolvedAction } from './resolve-action.js';
import type { WalletAction } from './run-action.js';

/**
 * Issue 19, the resolve step of a wallet action: `preview_transaction` and `send_transaction` resolved into the
 * transaction that would be signed (labels and contract names to addresses, the call encoded against its ABI, gas
 * estimated, value priced), `sign_typed_data` into the approval it grants; `get_wallet` to its plain question.
 * Throws `COFRE_WALLET_UNKNOWN`, `COFRE_DESTINATION_UNKNOWN` or `COFRE_INPUT_INVALID` for the agent's input.
 *
 * CONTRACT STUB (h-evm implements).
 */
export function resolveWalletAction(
  _wallets: WalletService | undefined,
  _agent: AuthenticatedAgent,
  action: WalletAction,
  _input: unknown,
  question: PolicyQuestion,
): Promise<ResolvedAction> {
  if (action === 'get_wallet') return Promise.resolve({ question, payload: undefined });
  throw new Error('resolveWalletAction: not implemented yet (issue 19, h-evm)');
}
