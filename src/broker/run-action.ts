import type { AccountConfig } from '../config/config-schema.js';
import { CofreError } from '../errors.js';
import type { PolicyEngine } from '../policy/policy-engine.js';
import { normalizeOrder } from '../venues/order-normalizer.js';
import type { OrderRef, VenueAccount, VenueCallRecord } from '../venues/venue-account.js';
import type { ActionInput, ActionName } from './actions.js';
import type { AuthenticatedAgent } from './agent-tokens.js';

/** The actions that run at a venue or read config, as opposed to `get_request`, which reads the state store. */
export type BrokerAction = Exclude<ActionName, 'get_request'>;

/** What running an action needs: the configured accounts, the policy (for `list_accounts`) and the venues. */
export interface ActionDependencies {
  readonly accounts: Readonly<Record<string, AccountConfig>>;
  readonly policy: PolicyEngine;
  readonly venue: (accountId: string) => Promise<VenueAccount>;
}

/**
 * Runs one allowed action and returns its result, as the broker's step "venue". Policy, audit, idempotency and
 * scrubbing are the broker's; this only turns an action into venue calls, each with the request's `record`.
 */
export async function runAction(
  deps: ActionDependencies,
  name: BrokerAction,
  input: unknown,
  agent: AuthenticatedAgent,
  record: VenueCallRecord,
): Promise<unknown> {
  const open = (accountId: string): Promise<VenueAccount> => openAccount(deps, accountId);
  switch (name) {
    case 'list_accounts':
      return {
        accounts: deps.policy
          .accountsFor(agent.policy)
          .filter((id) => deps.accounts[id] !== undefined)
          .map((id) => ({
            account: id,
            venue: deps.accounts[id]?.venue,
            mode: deps.accounts[id]?.mode,
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
    case 'preview_order': {
      const i = input as ActionInput<'preview_order'>;
      const venue = await open(i.account);
      return { order: await normalize(venue, i, record), sent: false };
    }
    case 'place_order': {
      const i = input as ActionInput<'place_order'>;
      const venue = await open(i.account);
      const order = await normalize(venue, i, record);
      return {
        order: await venue.placeOrder(
          {
            symbol: order.symbol,
            side: order.side,
            type: order.type,
            amount: order.amount,
            price: order.price,
            clientOrderId: i.clientOrderId,
          },
          record,
        ),
      };
    }
    case 'cancel_order': {
      const i = input as ActionInput<'cancel_order'>;
      return { order: await (await open(i.account)).cancelOrder(i.symbol, orderRef(i), record) };
    }
  }
}

/** The order as it would be sent: rounded to the market's steps, with its value estimated. */
async function normalize(venue: VenueAccount, i: ActionInput<'preview_order'>, record: VenueCallRecord) {
  const rules = await venue.market(i.symbol);
  // A market order's value is estimated at the last price; a limit order's at its own price.
  const reference = i.price ?? (await venue.fetchTicker(i.symbol, record)).last;
  if (reference === undefined) {
    throw new CofreError('COFRE_INPUT_INVALID', `no price for ${i.symbol} to estimate the order value`);
  }
  return normalizeOrder(rules, { ...i, price: i.price }, reference);
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
