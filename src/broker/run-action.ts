import type { AccountConfig } from '../config/config-schema.js';
import { ENCRYPTION_ACTIONS, WALLET_ACTIONS } from '../config/policy-config.js';
import { CofreError } from '../errors.js';
import { rightsOf } from '../identity/delegation.js';
import type { PolicyEngine } from '../policy/policy-types.js';
import type { OrderRef, VenueAccount, VenueCallRecord } from '../venues/venue-account.js';
import type { ActionInput, ActionName } from './actions.js';
import type { AuthenticatedAgent } from './agent-tokens.js';
import type { KeyScopeGate } from './key-scope-gate.js';
import type { SendPayload } from './resolve-action.js';

/** The actions that run at a venue or read config, as opposed to those answered from cofre's own state. */
export type BrokerAction = Exclude<
  ActionName,
  'get_request' | 'get_limits' | 'preview_order' | 'http_request' | WalletAction | EncryptionAction
>;

/** Issue 19: run by the wallets (src/wallets), not at a venue. */
export type WalletAction = 'get_wallet' | 'preview_transaction' | 'send_transaction' | 'sign_typed_data';
/** Issue 19: run by the encryption keys (src/encryption), not at a venue. */
export type EncryptionAction = 'encrypt' | 'decrypt' | 'generate_data_key';

export function isWalletAction(name: ActionName): name is WalletAction {
  return WALLET_ACTIONS.has(name);
}

export function isEncryptionAction(name: ActionName): name is EncryptionAction {
  return ENCRYPTION_ACTIONS.has(name);
}

/** What running an action needs: the configured accounts, the policy (for `list_accounts`) and the venues. */
export interface ActionDependencies {
  readonly accounts: Readonly<Record<string, AccountConfig>>;
  readonly policy: PolicyEngine;
  readonly venue: (accountId: string) => Promise<VenueAccount>;
  /**
   * Least privilege (issue 12): every action on an account refused for its key's scope fails with
   * `COFRE_ACCOUNT_REFUSED`, and `list_accounts` marks such accounts. (Reconciliation opens accounts with
   * {@link openAccount} directly: settling what was already sent is not refused.)
   */
  readonly keyScope?: Pick<KeyScopeGate, 'admit' | 'status'>;
}

/**
 * Runs one allowed action and returns its result, as the broker's step "send". Policy, limits, audit, idempotency
 * and scrubbing are the broker's; this only turns an action into venue calls, each with the request's `record`.
 * Orders and withdrawals send exactly their resolved `payload` (what policy judged), never the raw input; every
 * venue write goes through `write` (the kill switch's gate).
 */
export async function runAction(
  deps: ActionDependencies,
  name: BrokerAction,
  input: unknown,
  agent: AuthenticatedAgent,
  call: {
    readonly record: VenueCallRecord;
    readonly payload: SendPayload | undefined;
    readonly write: WriteGate;
  },
): Promise<unknown> {
  const { record, write } = call;
  const open = async (accountId: string): Promise<VenueAccount> => {
    // Least privilege (issue 12): also on the paths that skip resolution (an approved request, a halt's cancels).
    await deps.keyScope?.admit(accountId);
    return openAccount(deps, accountId);
  };
  switch (name) {
    case 'list_accounts':
      return {
        // Issue 17: a delegated agent sees only the accounts its grants leave it.
        accounts: rightsOf(agent, deps.policy)
          .accounts.filter((id) => deps.accounts[id] !== undefined)
          .map((id) => ({
            account: id,
            venue: deps.accounts[id]?.venue,
            mode: deps.accounts[id]?.mode,
            ...refusedFields(deps, id),
          })),
      };
    case 'get_balance': {
      const i = input as ActionInput<'get_balance'>;
      return { balance: await (await open(i.account)).fetchBalance(record) };
    }
    case 'get_ticker': {
      const i = input as ActionInput<'get_ticker'>;
      return { ticker: await (await open(i.account)).fetchTicker(i.symbol, record) };
    }
    case 'get_open_orders': {
      const i = input as ActionInput<'get_open_orders'>;
      return { orders: await (await open(i.account)).fetchOpenOrders(i.symbol, record) };
    }
    case 'get_order': {
      const i = input as ActionInput<'get_order'>;
      return { order: await (await open(i.account)).fetchOrder(i.symbol, orderRef(i), record) };
    }
    case 'place_order': {
      const payload = payloadOf(call.payload, 'order');
      const venue = await open(payload.account);
      const { order } = payload;
      const request = {
        symbol: order.symbol,
        side: order.side,
        type: order.type,
        amount: order.amount,
        price: order.price,
        clientOrderId: payload.clientOrderId,
      };
      return {
        order: await write((recheck) => {
          // SECURITY: the kill switch is checked again when the order leaves the account queue (halt-gate.ts).
          record.beforeWrite = recheck;
          return venue.placeOrder(request, record);
        }),
      };
    }
    case 'cancel_order': {
      const i = input as ActionInput<'cancel_order'>;
      const venue = await open(i.account);
      // Cancels do not pass the halt gate: a cancel only lowers risk, and a halt may itself cancel everything.
      return { order: await venue.cancelOrder(i.symbol, orderRef(i), record) };
    }
    case 'cancel_all_orders': {
      const i = input as ActionInput<'cancel_all_orders'>;
      const venue = await open(i.account);
      return { orders: await venue.cancelAllOrders(i.symbol, record) };
    }
    case 'withdraw': {
      const payload = payloadOf(call.payload, 'withdrawal');
      const venue = await open(payload.account);
      const { withdrawal } = payload;
      const sent = await write((recheck) => {
        // SECURITY: as for an order, the kill switch is checked again when the withdrawal leaves the queue.
        record.beforeWrite = recheck;
        return venue.withdraw(
          {
            asset: withdrawal.asset,
            amount: withdrawal.amount,
            address: payload.address,
            network: withdrawal.network,
            memo: payload.memo,
            clientWithdrawId: payload.clientWithdrawId,
          },
          record,
        );
      });
      // SECURITY: the agent learns the label it named, never the address behind it.
      return { withdrawal: { ...sent, destination: withdrawal.destination } };
    }
  }
}

/**
 * Runs one venue write unless trading is halted (see halt-gate.ts); `send` sets the `recheck` it gets as its
 * record's `beforeWrite`, so the halt is checked again when the write leaves the account queue.
 */
export type WriteGate = <T>(send: (recheck: () => void) => Promise<T>) => Promise<T>;

function payloadOf<K extends SendPayload['kind']>(
  payload: SendPayload | undefined,
  kind: K,
): Extract<SendPayload, { kind: K }> {
  if (payload?.kind !== kind) throw new CofreError('COFRE_INTERNAL', `no resolved ${kind} to send`);
  return payload as Extract<SendPayload, { kind: K }>;
}

/** `refused: true` and why, for an account least privilege refuses (every action on it fails); else nothing. */
function refusedFields(
  deps: ActionDependencies,
  accountId: string,
): { refused?: true; problems?: readonly string[] } {
  const status = deps.keyScope?.status(accountId);
  return status?.state === 'refused' ? { refused: true, problems: status.problems } : {};
}

/** The venue account behind an account id the policy allowed. */
export function openAccount(deps: ActionDependencies, accountId: string): Promise<VenueAccount> {
  if (deps.accounts[accountId] === undefined) {
    // Only an agent allowed every account (`*`) gets this far with an unknown one; others were denied by policy with
    // the same words for accounts that exist and accounts that do not.
    throw new CofreError(
      'COFRE_ACCOUNT_NOT_FOUND',
      `no such account "${accountId}"; list_accounts shows yours`,
    );
  }
  return deps.venue(accountId);
}

function orderRef(i: { orderId?: string | undefined; clientOrderId?: string | undefined }): OrderRef {
  return i.orderId !== undefined ? { orderId: i.orderId } : { clientOrderId: i.clientOrderId ?? '' };
}
