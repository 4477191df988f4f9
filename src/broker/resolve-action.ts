import { createHash } from 'node:crypto';

import { CofreError } from '../errors.js';
import type {
  EncryptionQuestion,
  HttpRequestQuestion,
  PolicyQuestion,
  ResolvedOrder,
  ResolvedWithdrawal,
} from '../policy/policy-types.js';
import { normalizeOrder } from '../venues/order-normalizer.js';
import type { Decimal, VenueAccount } from '../venues/venue-account.js';
import type { WalletSendPayload, WalletService } from '../wallets/wallet-service.js';
import type { ActionInput, ActionName } from './actions.js';
import { type AuthenticatedAgent, principalOf } from './agent-tokens.js';
import { resolveWalletAction } from './resolve-wallet.js';
import { isEncryptionAction, isWalletAction } from './run-action.js';

/** A withdrawal destination an operator bound to an address (`addressBook:` in cofre.yaml). */
export interface AddressBookEntry {
  readonly asset: string;
  readonly network: string;
  readonly address: string;
  readonly memo?: string | null | undefined;
}

/**
 * What will be sent, exactly: the order fitted to the market, or the withdrawal with its address. This is what an
 * approval binds (its SHA-256), what policy judged, and what the send step sends — never the raw input.
 */
export type SendPayload =
  | {
      readonly kind: 'order';
      readonly account: string;
      readonly order: ResolvedOrder;
      readonly clientOrderId: string;
    }
  | {
      readonly kind: 'withdrawal';
      readonly account: string;
      readonly withdrawal: ResolvedWithdrawal;
      readonly address: string;
      readonly memo: string | undefined;
      readonly clientWithdrawId: string;
    }
  // Issue 19: a transaction or typed data a wallet will sign.
  | WalletSendPayload;

/** An action after resolution: the question policy decides, and for writes that carry one, the payload. */
export interface ResolvedAction {
  readonly question: PolicyQuestion;
  readonly payload: SendPayload | undefined;
}

/** What resolving needs: the venues, the operator's address book and the short-lived reference prices. */
export interface ResolveDependencies {
  readonly venue: (accountId: string) => Promise<VenueAccount>;
  readonly addressBook: Readonly<Record<string, AddressBookEntry>>;
  /** The venue's last price of a market, from a short per-symbol cache (`undefined` when the venue gave none). */
  readonly referencePrice: (
    accountId: string,
    venue: VenueAccount,
    symbol: string,
  ) => Promise<Decimal | undefined>;
  /** Issue 19: the wallets (none configured: every wallet action fails as an unknown wallet). */
  readonly wallets?: WalletService | undefined;
}

/** The question for an action whose input needs no venue to judge (reads, cancels), or before resolving. */
export function plainQuestion(agent: AuthenticatedAgent, action: ActionName, input: unknown): PolicyQuestion {
  const { account, symbol } = input as { account?: unknown; symbol?: unknown };
  return {
    // Issue 17: asked for the principal, so a delegated agent's agent-scoped limits are its chain root's budget.
    agentId: principalOf(agent),
    policy: agent.policy,
    action: action,
    account: typeof account === 'string' ? account : undefined,
    symbol: typeof symbol === 'string' ? symbol : undefined,
    ...(action === 'http_request' ? { http: httpQuestionOf(input) } : {}),
    ...walletQuestionOf(action, input),
    ...encryptionQuestionOf(action, input),
  };
}

/** Issue 19: the wallet a wallet action names, judged before anything is resolved (no RPC for a denied agent). */
export function walletQuestionOf(action: ActionName, input: unknown): { wallet?: string } {
  if (!isWalletAction(action)) return {};
  const { wallet } = input as { wallet?: unknown };
  return typeof wallet === 'string' ? { wallet } : {};
}

/** Issue 19: the key and purpose of an encryption action: all policy judges of it, and known without any I/O. */
export function encryptionQuestionOf(
  action: ActionName,
  input: unknown,
): { encryption?: EncryptionQuestion } {
  if (!isEncryptionAction(action)) return {};
  const { key, purpose } = input as { key?: unknown; purpose?: unknown };
  return typeof key === 'string' && typeof purpose === 'string' ? { encryption: { key, purpose } } : {};
}

/**
 * Resolves an order or a withdrawal into what would be sent (issue 9: policy never sees the raw input). An order
 * is fitted to the market's steps and valued at its limit price, or at the reference price for a market order; a
 * withdrawal's label is looked up in the address book. Other actions resolve to their plain question.
 *
 * Throws `COFRE_INPUT_INVALID` for an order the market cannot take, `COFRE_DESTINATION_UNKNOWN` for a label that
 * is not in the address book or holds another asset, and the venue's errors when its market rules or price cannot
 * be read. Nothing here signs or sends anything.
 */
export async function resolveAction(
  deps: ResolveDependencies,
  agent: AuthenticatedAgent,
  action: ActionName,
  input: unknown,
): Promise<ResolvedAction> {
  const question = plainQuestion(agent, action, input);
  if (action === 'place_order' || action === 'preview_order') {
    const i = input as ActionInput<'preview_order'> & { clientOrderId?: string };
    const order = await resolveOrder(deps, i);
    return {
      question: { ...question, order },
      payload:
        i.clientOrderId === undefined
          ? undefined
          : { kind: 'order', account: i.account, order, clientOrderId: i.clientOrderId },
    };
  }
  if (action === 'withdraw') {
    const i = input as ActionInput<'withdraw'>;
    const entry = destinationOf(deps.addressBook, i);
    const withdrawal: ResolvedWithdrawal = {
      asset: i.asset,
      amount: i.amount,
      destination: i.destination,
      network: entry.network,
    };
    return {
      question: { ...question, withdrawal },
      payload: {
        kind: 'withdrawal',
        account: i.account,
        withdrawal,
        address: entry.address,
        memo: entry.memo ?? undefined,
        clientWithdrawId: venueWithdrawId(agent.id, i.clientWithdrawId),
      },
    };
  }
  if (isWalletAction(action)) return resolveWalletAction(deps.wallets, agent, action, input, question);
  return { question, payload: undefined };
}

async function resolveOrder(
  deps: ResolveDependencies,
  i: ActionInput<'preview_order'>,
): Promise<ResolvedOrder> {
  const venue = await deps.venue(i.account);
  const rules = await venue.market(i.symbol);
  // Limit orders need it for the price band, market orders for their value; cached, so a burst costs one ticker.
  const referencePrice = await deps.referencePrice(i.account, venue, i.symbol);
  const estimate = i.price ?? referencePrice;
  if (estimate === undefined) {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      `no price for ${i.symbol} to value a market order; try a limit order`,
    );
  }
  const normalized = normalizeOrder(rules, { ...i, price: i.price }, estimate);
  return {
    symbol: normalized.symbol,
    base: rules.base,
    quote: normalized.quote,
    side: normalized.side,
    type: normalized.type,
    amount: normalized.amount,
    price: normalized.price,
    referencePrice,
    notional: normalized.notional,
  };
}

function destinationOf(
  book: Readonly<Record<string, AddressBookEntry>>,
  i: ActionInput<'withdraw'>,
): AddressBookEntry {
  const entry = Object.hasOwn(book, i.destination) ? book[i.destination] : undefined;
  if (entry === undefined) {
    throw new CofreError(
      'COFRE_DESTINATION_UNKNOWN',
      `no destination "${i.destination}" in the address book; withdrawals go only to labels an operator added`,
    );
  }
  if (entry.asset !== i.asset) {
    throw new CofreError(
      'COFRE_DESTINATION_UNKNOWN',
      `destination "${i.destination}" receives ${entry.asset}, not ${i.asset}`,
    );
  }
  return entry;
}

/**
 * The id a withdrawal carries to the venue (Binance's `withdrawOrderId`, up to 64 characters): the agent's own
 * `clientWithdrawId` behind a short tag of the agent, so two agents on one account that pick the same id neither
 * collide at the venue nor find each other's withdrawal when an unknown outcome is looked up.
 */
export function venueWithdrawId(agentId: string, clientWithdrawId: string): string {
  return `c${createHash('sha256').update(agentId).digest('hex').slice(0, 8)}-${clientWithdrawId}`;
}

/** What policy judges of an `http_request` (issue 15): service, method and path; never the query or the body. */
export function httpQuestionOf(input: unknown): HttpRequestQuestion {
  const { service, method, path } = input as { service?: unknown; method?: unknown; path?: unknown };
  return {
    service: typeof service === 'string' ? service : '',
    method: typeof method === 'string' ? method : '',
    path: typeof path === 'string' ? path : '',
  };
}
