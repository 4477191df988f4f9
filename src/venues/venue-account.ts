import type { AccountMode } from '../config/config-schema.js';
import type { SecretValue } from '../secrets/secret-value.js';

/** Decimal numbers travel as strings (`"0.001"`), never floats: money must not round. */
export type Decimal = string;

export type OrderSide = 'buy' | 'sell';
export type OrderType = 'market' | 'limit';
export type OrderStatus = 'open' | 'closed' | 'canceled' | 'expired' | 'rejected';

/** An order as cofre reports it to agents: the fields that matter, in one shape for every venue. */
export interface Order {
  readonly id: string;
  readonly clientOrderId: string | undefined;
  readonly symbol: string;
  readonly side: OrderSide;
  /**
   * `other` for venue-specific types cofre does not place itself (stop, take-profit, OCO legs, ...) that show up
   * when reading orders created elsewhere, e.g. in the venue's web UI.
   */
  readonly type: OrderType | 'other';
  readonly status: OrderStatus;
  readonly amount: Decimal;
  readonly filled: Decimal;
  readonly price: Decimal | undefined;
  readonly average: Decimal | undefined;
  /** ISO 8601. */
  readonly timestamp: string | undefined;
}

export interface Balance {
  /** By asset: free, locked in orders (`used`), and total. Zero balances are left out. */
  readonly assets: Readonly<
    Record<string, { readonly free: Decimal; readonly used: Decimal; readonly total: Decimal }>
  >;
}

export interface Ticker {
  readonly symbol: string;
  readonly bid: Decimal | undefined;
  readonly ask: Decimal | undefined;
  readonly last: Decimal | undefined;
  readonly timestamp: string | undefined;
}

/** What cofre needs to know about a market to normalise an order before it is sent. */
export interface MarketRules {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  /** Smallest price increment and amount increment, as decimals (`"0.01"`), when the venue says. */
  readonly priceStep: Decimal | undefined;
  readonly amountStep: Decimal | undefined;
  readonly minAmount: Decimal | undefined;
  readonly maxAmount: Decimal | undefined;
  readonly minNotional: Decimal | undefined;
}

/** An order after the broker normalised it; `clientOrderId` is always set (the idempotency key). */
export interface OrderRequest {
  readonly symbol: string;
  readonly side: OrderSide;
  readonly type: OrderType;
  readonly amount: Decimal;
  readonly price: Decimal | undefined;
  readonly clientOrderId: string;
}

/**
 * A withdrawal as the broker asks for it: the destination already resolved from the operator's address book (the
 * agent names a label, never an address).
 */
export interface WithdrawalRequest {
  /** The venue's asset code, e.g. `USDT`. */
  readonly asset: string;
  /** A positive decimal string; sent exactly as given or not at all (never rounded by ccxt). */
  readonly amount: Decimal;
  /**
   * SECURITY: the destination, from the address book. It is sent to the venue and nowhere else: it appears in no
   * result and no error of this interface (the broker reports the label).
   */
  readonly address: string;
  /** Network as ccxt names it (a unified code such as `TRC20`, or the venue's own id such as `TRX`); undefined for the venue's default. */
  readonly network: string | undefined;
  /** Memo / tag for networks that need one; undefined otherwise. Kept out of results and errors like the address. */
  readonly memo: string | undefined;
  /** The broker's id for this withdrawal, sent where the venue takes one (binance: `withdrawOrderId`). */
  readonly clientWithdrawId?: string;
}

/** ccxt's transaction statuses: `pending` until the venue reports it sent (`ok`), `failed` or `canceled`. */
export type WithdrawalStatus = 'pending' | 'ok' | 'failed' | 'canceled';

/** A withdrawal the venue accepted. Carries no address or memo. */
export interface Withdrawal {
  /** The venue's id of the withdrawal. */
  readonly id: string;
  readonly asset: string;
  /** The amount sent, exactly as requested. */
  readonly amount: Decimal;
  readonly network: string | undefined;
  readonly status: WithdrawalStatus;
  /** ISO 8601, when the venue says (binance's answer to a withdrawal carries only its id). */
  readonly timestamp: string | undefined;
}

/** Identifies an existing order: the venue's id or the client order id. */
export type OrderRef = { readonly orderId: string } | { readonly clientOrderId: string };

/** The credentials for one call, resolved through the secret resolver; the venue zeroes them after use. */
export interface VenueCredentials {
  readonly apiKey: SecretValue;
  readonly secret: SecretValue;
  readonly password?: SecretValue;
  readonly uid?: SecretValue;
}

/**
 * What the caller learns from the venue calls of one request; the broker passes one record to every call it makes
 * for a request.
 */
export interface VenueCallRecord {
  /**
   * An independent copy of each credential a call signed with, so the caller can scrub its answer with exactly the
   * values that were used, without resolving them again. The record's owner zeroes them.
   */
  readonly held: SecretValue[];
  /** Set once a request of a write (a new order, a cancel, a withdrawal) has been handed to the HTTP client. */
  writeSent: boolean;
  /**
   * The SHA-256 of each request a write call (a new order, a cancel, a cancel-all, a withdrawal) handed to the HTTP
   * client, in order, as `sent-request-hash.ts` defines it: the audit outcome records them.
   */
  sentSha256?: string[];
  /**
   * Called by a queue in front of the venue (account-queue.ts) when a new order or withdrawal it held gets its slot,
   * just before the call goes on to the venue; if it throws, nothing is sent and the call fails with that error. The
   * broker checks the kill switch here again, so an order still waiting in cofre's queue when trading is halted is
   * never sent.
   */
  beforeWrite?: (() => void) | undefined;
}

/**
 * One trading account at one venue (one ccxt instance). The broker calls it only after policy and audit; it never
 * decides anything itself.
 *
 * Errors are CofreErrors: `COFRE_VENUE_REJECTED` (the venue refused: insufficient funds, bad symbol, unknown
 * order), `COFRE_VENUE_UNAVAILABLE` (retryable, for reads), `COFRE_VENUE_OUTCOME_UNKNOWN` for a write whose
 * request may have reached the venue but whose answer was lost (never retried blindly), `COFRE_VENUE_HOST_REFUSED`
 * when a host does not match the account's mode. Messages never carry credentials.
 *
 * Safe to call concurrently; markets are loaded once, on first use.
 */
export interface VenueAccount {
  readonly id: string;
  readonly venue: string;
  readonly mode: AccountMode;
  market(symbol: string): Promise<MarketRules>;
  fetchBalance(record?: VenueCallRecord): Promise<Balance>;
  fetchTicker(symbol: string, record?: VenueCallRecord): Promise<Ticker>;
  fetchOpenOrders(symbol: string | undefined, record?: VenueCallRecord): Promise<readonly Order[]>;
  fetchOrder(symbol: string, ref: OrderRef, record?: VenueCallRecord): Promise<Order>;
  placeOrder(order: OrderRequest, record?: VenueCallRecord): Promise<Order>;
  cancelOrder(symbol: string, ref: OrderRef, record?: VenueCallRecord): Promise<Order>;
  /**
   * Cancels every open order on `symbol`, or, without a symbol, on every symbol: with the venue's own cancel-all
   * per symbol where it works per symbol (binance), else by listing the open orders and cancelling each. Resolves
   * to the orders cancelled, `[]` when none was open. A write: never retried; every symbol (or order) is tried, and
   * when some fail the error says which were cancelled and which were not.
   */
  cancelAllOrders(symbol: string | undefined, record?: VenueCallRecord): Promise<readonly Order[]>;
  /**
   * Asks the venue to withdraw. A write: never retried; a lost answer is `COFRE_VENUE_OUTCOME_UNKNOWN` (the
   * withdrawal may exist: look it up by `clientWithdrawId` in the venue's history before sending another).
   */
  withdraw(request: WithdrawalRequest, record?: VenueCallRecord): Promise<Withdrawal>;
  /**
   * Looks a withdrawal up by the `clientWithdrawId` it was sent with, to settle one whose answer was lost:
   * undefined when the venue has none (within its history window: binance searches the last 7 days by client id).
   * A read. `COFRE_VENUE_UNSUPPORTED` for a venue that takes no client id for withdrawals.
   */
  fetchWithdrawal(
    ref: { readonly asset: string; readonly clientWithdrawId: string },
    record?: VenueCallRecord,
  ): Promise<Withdrawal | undefined>;
  /**
   * Optional (issue 12): what the account's key may do, as the venue reports it (binance: `GET
   * /sapi/v1/account/apiRestrictions`); undefined where the venue has no such endpoint. An authenticated read.
   */
  keyScope?(record?: VenueCallRecord): Promise<KeyScope | undefined>;
  /** Optional (issue 12): the venue's clock (ms since the epoch), for `cofre doctor`'s clock-skew check. */
  serverTime?(): Promise<number>;
  close(): Promise<void>;
}

/** What an API key may do, as its venue reports it (issue 12); `undefined` fields the venue does not say. */
export interface KeyScope {
  /** The key may place and cancel orders. */
  readonly canTrade: boolean | undefined;
  /** The key may withdraw funds. */
  readonly canWithdraw: boolean | undefined;
  /** The key works only from listed IP addresses. */
  readonly ipRestricted: boolean | undefined;
  /** When the key was created at the venue, if it says. */
  readonly createdAt: Date | undefined;
}
