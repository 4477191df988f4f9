import { CofreError } from '../errors.js';
import type { PolicyQuestion } from '../policy/policy-types.js';
import type { WalletService } from '../wallets/wallet-service.js';
import type { ActionInput } from './actions.js';
import type { AuthenticatedAgent } from './agent-tokens.js';
import type { ResolvedAction } from './resolve-action.js';
import type { WalletAction } from './run-action.js';

/**
 * Issue 19, the resolve step of a wallet action: `preview_transaction` and `send_transaction` resolved into the
 * transaction that would be signed (labels and contract names to addresses, the call encoded against its ABI, gas
 * estimated, value priced), `sign_typed_data` into the approval it grants; `get_wallet` to its plain question.
 * The payload holds exactly what will be signed (a preview's too, so its send step simulates that).
 *
 * Throws `COFRE_WALLET_UNKNOWN`, `COFRE_DESTINATION_UNKNOWN` or `COFRE_INPUT_INVALID` for the agent's input,
 * `COFRE_CHAIN_MISMATCH` for another chain, `COFRE_SIMULATION_FAILED` for a send that would revert, and
 * `COFRE_RPC_UNAVAILABLE` / `COFRE_SIGNER_UNAVAILABLE` when the chain or the key cannot be reached. Signs nothing.
 */
export async function resolveWalletAction(
  wallets: WalletService | undefined,
  _agent: AuthenticatedAgent,
  action: WalletAction,
  input: unknown,
  question: PolicyQuestion,
): Promise<ResolvedAction> {
  const { wallet: name } = input as { wallet: string };
  if (wallets === undefined)
    throw new CofreError('COFRE_WALLET_UNKNOWN', `no wallet "${name}" is configured`);
  const wallet = wallets.wallet(name);
  if (action === 'get_wallet') return { question, payload: undefined };
  if (action === 'sign_typed_data') {
    const i = input as ActionInput<'sign_typed_data'>;
    const { transaction, signing } = await wallet.resolveTypedData(i.typedData);
    return {
      question: { ...question, transaction },
      payload: { kind: 'wallet', wallet: name, transaction, clientId: i.clientSignId, signing },
    };
  }
  const i = input as ActionInput<'preview_transaction'> & { clientTxId?: string };
  const { transaction, signing } = await wallet.resolveTransaction(i, action === 'send_transaction');
  return {
    question: { ...question, transaction },
    payload: { kind: 'wallet', wallet: name, transaction, clientId: i.clientTxId ?? '', signing },
  };
}
