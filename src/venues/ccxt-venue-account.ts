/**
 * {@link VenueAccount} over ccxt: one ccxt exchange instance per account, with the safety ccxt does not give by
 * itself.
 *
 * What is relied on in ccxt 4.5.84 (node_modules/ccxt/js/src/base/Exchange.js unless noted; line numbers of 4.5.84):
 * - `fetch2` (:5774) is the one REST path: throttle (`enableRateLimit`), then a retry loop of `maxRetriesOnFailure` extra
 *   attempts (default 0, looked up by `handleOptionAndParams` (:6150) in the call's params, then `options[<api path>]`, then
 *   `options`) around `sign()` and `fetch()`; it retries only `OperationFailed` errors, and a retry re-signs and
 *   re-sends. cofre pins the option to 0 and, in case a per-path option or a future default re-enables it, refuses a
 *   second non-GET request to the same endpoint within one write call (see `fetch` below).
 * - `fetch()` (:968) is the one place a request leaves: it applies proxies, calls undici and maps transport failures to
 *   `NetworkError` / `RequestTimeout`; redirects are never followed (`undiciRequest`, :845). cofre wraps it per instance
 *   with the host guard.
 * - `handleRestResponse` calls `handleErrors(status, ..., parsedBody)` (:1211) on every response before raising; cofre wraps
 *   it to note the HTTP status and the venue's own error code and text (never the URL, headers or body).
 * - `sign()` and `checkRequiredCredentials()` (:6027) read `this.apiKey`, `this.secret`, `this.password`, `this.uid`.
 * - `loadMarkets()` (:1266) is single-flight but caches a rejected promise for good; cofre keeps its own single-flight that
 *   forgets a failure and reloads (`loadMarkets(true)`) on the next call.
 * - `setLastRequest()` (:2223) keeps the last request's URL (with `signature`), headers (with the API key) and body on the
 *   instance; `fetchHistoryCacheSize > 0` keeps whole requests (`addFetchCache`, :567). Both are disabled here.
 * - The package layout (`js/ccxt.js` re-exports `js/src/base/errors.js`, `js/src/base/functions.js` and one
 *   `js/src/<id>.js` per exchange): only the modules an account needs are loaded, see `ccxt-modules.ts`.
 * - binance (js/src/binance.js): `createOrderRequest` sends the unified `clientOrderId` param as `newClientOrderId`
 *   (:7177, :7314) and would turn a market order's `price` into `quoteOrderQty` (:7427; so no price is passed for
 *   market orders); `fetchMarkets` (:3425) loads spot, linear and inverse markets unless `options.fetchMarkets.types`
 *   says otherwise; `sign` (:13305) puts the key in `X-MBX-APIKEY` and the signature in the query or body;
 *   `handleErrors` (:13481) builds its messages from the raw body; a cancel answer's `clientOrderId` is the cancel
 *   request's own id, the order's is `origClientOrderId`; a `secret` holding `PRIVATE KEY` is signed as RSA when
 *   longer than 120 characters, else as Ed25519 (:13424), so a PEM secret is handed over in one canonical form
 *   (`api-secret.ts`, see `forSigning` below).
 *
 * Credentials (the choice, and why):
 * ccxt signs with keys it reads from properties of the instance, as JS strings, and JS strings cannot be wiped:
 * whatever is assigned there stays in the heap until the GC reuses the memory. The obvious designs both fail:
 * assigning keys once per account keeps them there for the life of the process and ignores rotation; assigning them
 * before each call and clearing after races between concurrent calls (one call clears what another is about to sign
 * with) unless a per-account mutex serialises every call, which caps throughput at one request in flight per account.
 * Instead, `apiKey`, `secret`, `password` and `uid` are accessor properties that read the credentials of the *current
 * call* from an AsyncLocalStorage, as fresh strings decoded from the call's SecretValues at the moment ccxt reads
 * them (in practice: inside `sign()`). Concurrent calls each see their own credentials, nothing is stored on the
 * instance, a rotation takes effect on the next call (credentials are resolved per call, through the resolver's
 * cache), and the SecretValues are zeroed when the call ends. What remains are the short-lived strings ccxt builds
 * while signing (the decoded secret, the HMAC input, the header value), which no design around ccxt can avoid.
 * All of this assumes the venue's ccxt code signs each request from those four fields and keeps no login state
 * (session token, JWT, cookie) on the instance; only venues reviewed for that are opened (`config/reviewed-venues.ts`).
 *
 * Safe to call concurrently.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

import type * as Ccxt from 'ccxt';

import type { AccountConfig, AccountMode } from '../config/config-schema.js';
import { isReviewedVenue, unreviewedVenueMessage } from '../config/reviewed-venues.js';
import { CofreError, isCofreError } from '../errors.js';
import type { SecretValue } from '../secrets/secret-value.js';
import type { RateWindow, RateWindowSource } from './account-queue.js';
import { signingSecret } from './api-secret.js';
import { keyScopeFromApiRestrictions } from './binance-api-restrictions.js';
import {
  type CcxtBase,
  type CcxtErrors,
  type CcxtExchangeClass,
  ccxtExchangeIds,
  loadCcxtBase,
  loadExchangeClass,
} from './ccxt-modules.js';
import {
  type NumberFormat,
  toBalance,
  toMarketRules,
  toOrder,
  toTicker,
  toWithdrawal,
  toWithdrawalRecord,
} from './ccxt-structures.js';
import { currentRequestContext } from './request-context.js';
import { sentRequestSha256 } from './sent-request-hash.js';
import type {
  Balance,
  MarketRules,
  Order,
  OrderRef,
  OrderRequest,
  Ticker,
  VenueAccount,
  VenueCallRecord,
  VenueCredentials,
  Withdrawal,
  WithdrawalRequest,
} from './venue-account.js';
import type { KeyScope } from './venue-account.js';
import { type CcxtErrorClasses, type FailedCall, lostAnswerAdvice, toVenueError } from './venue-error.js';
import { applyAccountMode } from './venue-hosts.js';
import { checkExactAmount, checkWithdrawalLookup, checkWithdrawalRequest } from './withdrawal-request.js';

type CcxtExchange = Ccxt.Exchange;

/** A request about to leave, as {@link VenueAccountOptions.onRequest} sees it. Holds nothing secret. */
export interface VenueRequestInfo {
  readonly accountId: string;
  readonly method: string;
  /** `scheme://host[:port]`. */
  readonly origin: string;
  /** URL path without the query string (which may carry a signature). */
  readonly path: string;
}

/** Options of {@link openVenueAccount}. */
export interface VenueAccountOptions {
  /** Timeout of one HTTP request in ms (ccxt `timeout`); default 10 000. */
  readonly timeoutMs?: number;
  /**
   * Called synchronously for each request that passed the host guard, just before it is sent; for logs, metrics
   * and tests. Must not throw (an exception stops the request).
   */
  readonly onRequest?: (request: VenueRequestInfo) => void;
  /**
   * The share (0 < share ≤ 1) of the venue's request rate this account may use; default 1. Each of N processes
   * trading the same account (`cofre serve --workers N`) gets `1/N`, so together they keep the venue's published
   * rate: ccxt's `rateLimit` (ms per unit of weight) is divided by the share, which shrinks the weight the rolling
   * window lets through (`maxWeight = windowSize / rateLimit`) by the same factor.
   */
  readonly rateShare?: number;
}

/** Options every account's ccxt instance gets. */
const COMMON_OPTIONS = {
  // Writes must never be retried (a retry of a lost answer can place a second order); reads are retried, if at
  // all, by the broker, which knows the caller's deadline.
  maxRetriesOnFailure: 0,
  maxRetriesOnFailureDelay: 0,
} as const;

/**
 * Venue-specific ccxt options. cofre trades spot only (its Order and MarketRules shapes are spot shapes), so
 * binance loads only spot markets: fewer requests, and no fapi/dapi endpoint the paper exchange does not serve.
 */
const BINANCE_SPOT_OPTIONS = {
  defaultType: 'spot',
  fetchMarkets: { types: ['spot'] },
  // Private (sapi) calls during market loading; cofre loads markets without credentials anyway.
  fetchCurrencies: false,
  fetchMargins: false,
  // ccxt refuses to list open orders without a symbol unless told that the higher request weight is understood.
  fetchOpenOrders: { warnWithoutSymbol: false },
} as const;
const VENUE_OPTIONS: Readonly<Record<string, object>> = {
  binance: BINANCE_SPOT_OPTIONS,
  binanceus: BINANCE_SPOT_OPTIONS,
};

/**
 * The ccxt `withdraw` param that carries the broker's id for a withdrawal, per venue (binance: `withdrawOrderId`,
 * "client id for withdraw", which its withdrawal history can be searched by). Venues not listed get no client id.
 */
const WITHDRAW_ID_PARAM: Readonly<Record<string, string>> = {
  binance: 'withdrawOrderId',
  binanceus: 'withdrawOrderId',
};

/**
 * Venues whose ccxt `cancelAllOrders(symbol)` cancels the open orders of that symbol only and answers with them
 * (binance: `DELETE /api/v3/openOrders`). Elsewhere cancel-all lists the open orders and cancels each: kraken's
 * ccxt `cancelAllOrders` ignores the symbol and cancels every open order of the account (`CancelAll`); okx has
 * none.
 */
const SYMBOL_CANCEL_ALL: ReadonlySet<string> = new Set(['binance', 'binanceus']);

/**
 * Venues whose key permissions can be read, with the ccxt implicit method that reads them and the parser of its
 * answer (issue 12). binance: `GET /sapi/v1/account/apiRestrictions` (USER_DATA, weight 1). Other venues (binanceus
 * included: its API documents no such endpoint) report nothing, and `keyScope()` answers undefined.
 */
const KEY_SCOPE_READERS: Readonly<
  Record<string, { readonly method: string; readonly parse: (answer: unknown) => KeyScope }>
> = {
  binance: { method: 'sapiGetAccountApiRestrictions', parse: keyScopeFromApiRestrictions },
};

/** ccxt properties that would send requests through a proxy; the host guard refuses if any is set. */
const PROXY_PROPERTIES = [
  'proxy',
  'proxyUrl',
  'proxy_url',
  'proxyUrlCallback',
  'proxy_url_callback',
  'httpProxy',
  'http_proxy',
  'httpProxyCallback',
  'http_proxy_callback',
  'httpsProxy',
  'https_proxy',
  'httpsProxyCallback',
  'https_proxy_callback',
  'socksProxy',
  'socks_proxy',
  'socksProxyCallback',
  'socks_proxy_callback',
  'agent',
  'httpAgent',
  'httpsAgent',
] as const;

const CREDENTIAL_FIELDS = ['apiKey', 'secret', 'password', 'uid'] as const;
const DECIMAL = /^\d+(\.\d+)?$/;

/** Per-call state, reachable from ccxt's code through the account's AsyncLocalStorage. */
interface CallState {
  readonly operation: string;
  readonly write: boolean;
  /** The caller's record of its request's venue calls, if it keeps one. */
  readonly record: VenueCallRecord | undefined;
  credentials: VenueCredentials | undefined;
  /** The API secret as stored, when ccxt signs with a canonical form of it (a PEM key, see `api-secret.ts`). */
  stored: SecretValue | undefined;
  sent: boolean;
  httpStatus: number | undefined;
  venueCode: string | undefined;
  venueMessage: string | undefined;
  /** `METHOD path` of the non-GET requests this (write) call has sent. */
  readonly writesSent: Set<string>;
}

const instances = new WeakMap<VenueAccount, CcxtExchange>();

/**
 * The ccxt instance behind an account. For tests only (they tamper with it to check the guards); it holds no
 * credentials outside a call.
 *
 * @internal
 */
export function ccxtExchangeOf(account: VenueAccount): CcxtExchange | undefined {
  return instances.get(account);
}

/**
 * Opens a trading account: loads ccxt's base and the venue's exchange class on first use (no other venue's: see
 * `ccxt-modules.ts`), creates the account's ccxt instance and checks the hosts its mode allows. Sends nothing
 * (markets load on the first call).
 *
 * `credentials` is called once per private call; the account zeroes what it returns when the call ends, so it must
 * return values the account owns (the secret resolver hands out fresh copies).
 *
 * Throws `COFRE_VENUE_UNKNOWN`, `COFRE_VENUE_UNREVIEWED` (see `config/reviewed-venues.ts`),
 * `COFRE_VENUE_SANDBOX_UNSUPPORTED` or `COFRE_VENUE_HOST_REFUSED`.
 */
export async function openVenueAccount(
  id: string,
  account: AccountConfig,
  credentials: () => Promise<VenueCredentials>,
  options: VenueAccountOptions = {},
): Promise<VenueAccount> {
  // Both refusals come before any venue code is loaded: an unreviewed venue's module is never imported.
  if (!(await ccxtExchangeIds()).has(account.venue)) throw unknownVenue(id, account.venue);
  if (!isReviewedVenue(account.venue)) throw unreviewedVenue(id, account.venue);
  const [base, ExchangeClass] = await Promise.all([loadCcxtBase(), loadExchangeClass(account.venue)]);
  if (ExchangeClass === undefined) throw unknownVenue(id, account.venue);
  return new CcxtVenueAccount({ ...base, ExchangeClass }, id, account, credentials, options);
}

function unknownVenue(id: string, venue: string): CofreError {
  const message = `account "${id}": venue "${venue}" is not a ccxt exchange id`;
  return new CofreError('COFRE_VENUE_UNKNOWN', message, { details: { account: id, venue } });
}

function unreviewedVenue(id: string, venue: string): CofreError {
  return new CofreError('COFRE_VENUE_UNREVIEWED', `account "${id}": ${unreviewedVenueMessage(venue)}`, {
    details: { account: id, venue },
  });
}

/** What an account uses of ccxt: the base and its venue's exchange class. */
export interface CcxtParts extends CcxtBase {
  readonly ExchangeClass: CcxtExchangeClass;
}

/** See the module comment. Create with {@link openVenueAccount}. */
export class CcxtVenueAccount implements VenueAccount, RateWindowSource {
  readonly id: string;
  readonly venue: string;
  readonly mode: AccountMode;
  readonly #ccxt: CcxtErrorClasses;
  readonly #orderNotFound: CcxtErrors['OrderNotFound'];
  readonly #exchange: CcxtExchange;
  readonly #credentials: () => Promise<VenueCredentials>;
  readonly #allowedOrigins: ReadonlySet<string>;
  readonly #onRequest: ((request: VenueRequestInfo) => void) | undefined;
  readonly #calls = new AsyncLocalStorage<CallState>();
  readonly #format: NumberFormat;
  #markets: Promise<void> | undefined;
  #marketsFailed = false;
  #closed = false;

  /** Use {@link openVenueAccount}, which loads ccxt's parts first. */
  constructor(
    ccxt: CcxtParts,
    id: string,
    account: AccountConfig,
    credentials: () => Promise<VenueCredentials>,
    options: VenueAccountOptions = {},
  ) {
    this.id = id;
    this.venue = account.venue;
    this.mode = account.mode;
    this.#ccxt = ccxt.errors;
    this.#orderNotFound = ccxt.errors.OrderNotFound;
    this.#credentials = credentials;
    this.#onRequest = options.onRequest;
    const timeout = options.timeoutMs ?? 10_000;
    if (!Number.isInteger(timeout) || timeout <= 0) {
      throw new CofreError('COFRE_INPUT_INVALID', `account "${id}": timeoutMs must be a positive integer`);
    }

    // SECURITY: the per-call credential design holds only for venues that keep no session on the instance; the
    // config schema refuses the others too, this is for callers that bypass it.
    if (!isReviewedVenue(account.venue)) throw unreviewedVenue(id, account.venue);
    const exchange = new ccxt.ExchangeClass({
      enableRateLimit: true,
      // ccxt's default leaky bucket makes every request wait its full cost even after an idle minute (its bucket
      // holds one token), which added ~200 ms to each balance read (bench/README.md). A rolling window keeps the
      // venue's published rate, per minute, without pacing a caller who is well under it.
      rateLimiterAlgorithm: 'rollingWindow',
      rollingWindowSize: 60_000,
      verbose: false,
      timeout,
      options: { ...COMMON_OPTIONS, ...VENUE_OPTIONS[account.venue] },
    });
    shareRate(exchange, id, options.rateShare ?? 1);
    this.#exchange = exchange;
    this.#format = {
      numberToString: (value) => ccxt.functions.numberToString(value),
      // Unset only on exchanges without precision data; -1 matches no mode, so no step is reported.
      precisionMode: exchange.precisionMode ?? -1,
      modes: ccxt.functions,
    };
    this.#harden(exchange);
    this.#allowedOrigins = applyAccountMode(exchange, { id, mode: account.mode, baseUrl: account.baseUrl });
    instances.set(this, exchange);
    const reader = KEY_SCOPE_READERS[account.venue];
    if (reader !== undefined) this.keyScope = (record) => this.#keyScope(reader, record);
  }

  async market(symbol: string): Promise<MarketRules> {
    return this.#call('market', { write: false, auth: false, record: undefined }, (exchange) =>
      Promise.resolve(toMarketRules(this.#spotMarket(exchange, symbol), this.#format)),
    );
  }

  async fetchBalance(record?: VenueCallRecord): Promise<Balance> {
    return this.#call('fetchBalance', { write: false, auth: true, record }, async (exchange) =>
      toBalance(await exchange.fetchBalance(), this.#format),
    );
  }

  async fetchTicker(symbol: string, record?: VenueCallRecord): Promise<Ticker> {
    return this.#call('fetchTicker', { write: false, auth: false, record }, async (exchange) => {
      const market = this.#spotMarket(exchange, symbol);
      return toTicker(await exchange.fetchTicker(market.symbol), market.symbol, this.#format);
    });
  }

  async fetchOpenOrders(symbol: string | undefined, record?: VenueCallRecord): Promise<readonly Order[]> {
    return this.#call('fetchOpenOrders', { write: false, auth: true, record }, async (exchange) => {
      const unified = symbol === undefined ? undefined : this.#spotMarket(exchange, symbol).symbol;
      const orders = await exchange.fetchOpenOrders(unified);
      return orders.map((o) => toOrder(o, this.#format));
    });
  }

  async fetchOrder(symbol: string, ref: OrderRef, record?: VenueCallRecord): Promise<Order> {
    return this.#call('fetchOrder', { write: false, auth: true, record }, async (exchange) => {
      const unified = this.#spotMarket(exchange, symbol).symbol;
      const id = orderRefId(ref);
      if (id.orderId !== undefined)
        return toOrder(await exchange.fetchOrder(id.orderId, unified), this.#format);
      const order = await exchange.fetchOrderWithClientOrderId(id.clientOrderId, unified);
      return toOrder(order, this.#format, id.clientOrderId);
    });
  }

  async placeOrder(order: OrderRequest, record?: VenueCallRecord): Promise<Order> {
    checkOrderRequest(order);
    const placed = await this.#call('placeOrder', { write: true, auth: true, record }, async (exchange) => {
      const unified = this.#spotMarket(exchange, order.symbol).symbol;
      // ccxt's signature says number; it takes decimal strings as well and keeps them exact (amountToPrecision /
      // priceToPrecision work on strings). No price for a market order: binance would turn it into quoteOrderQty.
      const amount = order.amount as unknown as number;
      const price = order.type === 'limit' ? (order.price as unknown as number) : undefined;
      // The broker's idempotency key goes to the venue as the order's client id (binance: newClientOrderId).
      return exchange.createOrder(unified, order.type, order.side, amount, price, {
        clientOrderId: order.clientOrderId,
      });
    });
    return this.#settledOrder(placed, order.symbol, order.clientOrderId, 'placeOrder', record);
  }

  async cancelOrder(symbol: string, ref: OrderRef, record?: VenueCallRecord): Promise<Order> {
    const id = orderRefId(ref);
    const canceled = await this.#call(
      'cancelOrder',
      { write: true, auth: true, record },
      async (exchange) => {
        const unified = this.#spotMarket(exchange, symbol).symbol;
        return id.orderId !== undefined
          ? exchange.cancelOrder(id.orderId, unified)
          : exchange.cancelOrderWithClientOrderId(id.clientOrderId, unified);
      },
    );
    const known = id.orderId === undefined ? id.clientOrderId : originalClientOrderId(canceled);
    return this.#settledOrder(
      known === undefined ? canceled : { ...canceled, clientOrderId: known },
      symbol,
      known,
      'cancelOrder',
      record,
    );
  }

  async cancelAllOrders(symbol: string | undefined, record?: VenueCallRecord): Promise<readonly Order[]> {
    if (!SYMBOL_CANCEL_ALL.has(this.venue) || this.#exchange.has['cancelAllOrders'] !== true) {
      return this.#cancelEach(symbol, record);
    }
    if (symbol !== undefined) return this.#cancelAllOn(symbol, record);
    // ccxt's unified cancel-all takes one symbol (binance requires it): list, then cancel per symbol. Orders placed
    // on another symbol after the listing are not cancelled; the broker stops new orders (halt) first.
    const open = await this.fetchOpenOrders(undefined, record);
    const cancelled: Order[] = [];
    const done: string[] = [];
    const failed: { label: string; error: CofreError }[] = [];
    // One symbol after another, every one tried even when one fails: a cancel-all is how risk is taken off.
    for (const s of new Set(open.map((o) => o.symbol))) {
      try {
        cancelled.push(...(await this.#cancelAllOn(s, record)));
        done.push(s);
      } catch (err) {
        failed.push({ label: s, error: toCofreError(err) });
      }
    }
    if (failed.length === 0) return cancelled;
    throw partialCancelError(this.id, this.venue, done, failed);
  }

  /**
   * Cancel-all where the venue's own cannot be used per symbol: the open orders listed, then cancelled one by one
   * (every one tried). An order that has filled or been cancelled since the listing is no longer open: skipped.
   */
  async #cancelEach(
    symbol: string | undefined,
    record: VenueCallRecord | undefined,
  ): Promise<readonly Order[]> {
    const open = await this.fetchOpenOrders(symbol, record);
    const cancelled: Order[] = [];
    const done: string[] = [];
    const failed: { label: string; error: CofreError }[] = [];
    for (const order of open) {
      const label = `${order.symbol} order ${order.id}`;
      try {
        cancelled.push(await this.cancelOrder(order.symbol, { orderId: order.id }, record));
        done.push(label);
      } catch (err) {
        const error = toCofreError(err);
        if (error.code === 'COFRE_VENUE_REJECTED' && error.details?.['error'] === 'OrderNotFound') continue;
        failed.push({ label, error });
      }
    }
    if (failed.length === 0) return cancelled;
    throw partialCancelError(this.id, this.venue, done, failed);
  }

  /** The venue's cancel-all on one symbol; `[]` when nothing was open there. */
  async #cancelAllOn(symbol: string, record: VenueCallRecord | undefined): Promise<readonly Order[]> {
    return this.#call('cancelAllOrders', { write: true, auth: true, record }, async (exchange) => {
      const unified = this.#spotMarket(exchange, symbol).symbol;
      let answer: Ccxt.Order[];
      try {
        answer = await exchange.cancelAllOrders(unified);
      } catch (err) {
        // Binance answers a cancel-all with nothing open with -2011 "Unknown order sent." (ccxt: OrderNotFound):
        // for a cancel-all that is success, not a refusal.
        if (err instanceof this.#orderNotFound) return [];
        throw err;
      }
      // Parsed inside the call, so that an answer cofre cannot read is a write whose outcome is unknown.
      return answer.map((o) => {
        const own = originalClientOrderId(o);
        return toOrder(own === undefined ? o : { ...o, clientOrderId: own }, this.#format, own);
      });
    });
  }

  async withdraw(request: WithdrawalRequest, record?: VenueCallRecord): Promise<Withdrawal> {
    checkWithdrawalRequest(request);
    try {
      return await this.#call('withdraw', { write: true, auth: true, record }, async (exchange) => {
        if (!Object.hasOwn(exchange.currencies, request.asset)) {
          throw new CofreError(
            'COFRE_INPUT_INVALID',
            `account "${this.id}": ${this.venue} lists no asset ${request.asset}; nothing was sent. Check the asset of the address book entry`,
            { details: { account: this.id, venue: this.venue, asset: request.asset } },
          );
        }
        checkExactAmount(
          request,
          exchange.currencyToPrecision(request.asset, request.amount, request.network),
          this.id,
        );
        const params: Record<string, string> = {};
        if (request.network !== undefined) params['network'] = request.network;
        const idParam = WITHDRAW_ID_PARAM[this.venue];
        if (request.clientWithdrawId !== undefined && idParam !== undefined) {
          params[idParam] = request.clientWithdrawId;
        }
        // ccxt's signature says number; a decimal string passes through currencyToPrecision unchanged (checked).
        const amount = request.amount as unknown as number;
        const answer = await exchange.withdraw(request.asset, amount, request.address, request.memo, params);
        return toWithdrawal(answer, request);
      });
    } catch (err) {
      throw withoutDestination(err, request);
    }
  }

  async fetchWithdrawal(
    ref: { readonly asset: string; readonly clientWithdrawId: string },
    record?: VenueCallRecord,
  ): Promise<Withdrawal | undefined> {
    const idParam = WITHDRAW_ID_PARAM[this.venue];
    if (idParam === undefined) {
      throw new CofreError(
        'COFRE_VENUE_UNSUPPORTED',
        `account "${this.id}": ${this.venue} takes no client id for withdrawals, so one cannot be looked up by it; check the venue's withdrawal history`,
        { details: { account: this.id, venue: this.venue, operation: 'fetchWithdrawal' } },
      );
    }
    checkWithdrawalLookup(ref);
    return this.#call('fetchWithdrawal', { write: false, auth: true, record }, async (exchange) => {
      const found = await exchange.fetchWithdrawals(ref.asset, undefined, undefined, {
        [idParam]: ref.clientWithdrawId,
      });
      // The venue filtered by the id; checked again so that a venue ignoring the filter cannot match another one.
      const mine = found.filter((tx) => {
        const info: unknown = tx.info;
        return (
          typeof info === 'object' &&
          info !== null &&
          (info as Record<string, unknown>)[idParam] === ref.clientWithdrawId
        );
      });
      const newest = mine.at(-1); // ccxt sorts by time, oldest first
      return newest === undefined ? undefined : toWithdrawalRecord(newest, this.#format);
    });
  }

  /**
   * What the account's key may do, as the venue reports it (see {@link KEY_SCOPE_READERS}); absent where the
   * venue cannot tell (so a caller knows without asking). An authenticated read through the same path as every private call: credentials resolved for
   * this call only and zeroed after it, the host guard, errors mapped without credentials. Markets are not needed,
   * so none are loaded.
   */
  readonly keyScope?: (record?: VenueCallRecord) => Promise<KeyScope | undefined>;

  async #keyScope(
    reader: (typeof KEY_SCOPE_READERS)[string],
    record: VenueCallRecord | undefined,
  ): Promise<KeyScope> {
    return this.#call('keyScope', { write: false, auth: true, record, markets: false }, async (exchange) => {
      const method = (exchange as unknown as Record<string, unknown>)[reader.method];
      if (typeof method !== 'function') {
        throw new CofreError(
          'COFRE_VENUE_UNSUPPORTED',
          `account "${this.id}": this ccxt has no ${reader.method} for ${this.venue}`,
          { details: { account: this.id, venue: this.venue, operation: 'keyScope' } },
        );
      }
      return reader.parse(await (method as () => Promise<unknown>).call(exchange));
    });
  }

  /**
   * The venue's clock in ms since the epoch (ccxt `fetchTime`, public: binance `GET /api/v3/time`), for the clock
   * skew check of `cofre doctor`. `COFRE_VENUE_UNSUPPORTED` where ccxt cannot fetch it.
   */
  async serverTime(): Promise<number> {
    return this.#call(
      'serverTime',
      { write: false, auth: false, record: undefined, markets: false },
      async (exchange) => {
        const time = exchange.has['fetchTime'] === true ? await exchange.fetchTime() : undefined;
        if (typeof time !== 'number' || !Number.isFinite(time)) {
          throw new CofreError(
            'COFRE_VENUE_UNSUPPORTED',
            `account "${this.id}": ${this.venue} does not report its server time through ccxt`,
            { details: { account: this.id, venue: this.venue, operation: 'serverTime' } },
          );
        }
        return time;
      },
    );
  }

  /**
   * How full ccxt's rolling rate-limit window is, for the account queue (`account-queue.ts`) to keep reads from
   * using it all up. Reads ccxt 4.5.84's `Throttler` (js/src/base/functions/throttle.js): `config.algorithm`,
   * `config.windowSize`, `config.maxWeight`, `timestamps` ({timestamp, cost} of the requests let through) and the
   * waiting `queue` from `queueHead`. Its own `totalCost` is not used: it is only brought up to date while requests
   * wait. Undefined when the throttler does not have that shape (another ccxt version): the queue then limits by
   * concurrency alone.
   */
  rateWindow(): RateWindow | undefined {
    const t = (this.#exchange as unknown as { throttler?: unknown }).throttler as
      | {
          config?: { algorithm?: unknown; windowSize?: unknown; maxWeight?: unknown };
          timestamps?: unknown;
          queue?: unknown;
          queueHead?: unknown;
        }
      | undefined;
    const config = t?.config;
    if (
      config?.algorithm !== 'rollingWindow' ||
      typeof config.windowSize !== 'number' ||
      typeof config.maxWeight !== 'number' ||
      !Array.isArray(t?.timestamps) ||
      !Array.isArray(t.queue)
    ) {
      return undefined;
    }
    const cutOff = Date.now() - config.windowSize;
    let used = 0;
    let oldest: number | undefined;
    for (const entry of t.timestamps as { timestamp?: unknown; cost?: unknown }[]) {
      if (typeof entry.timestamp !== 'number' || typeof entry.cost !== 'number') return undefined;
      if (entry.timestamp <= cutOff) continue;
      used += entry.cost;
      oldest ??= entry.timestamp;
    }
    const head = typeof t.queueHead === 'number' ? t.queueHead : 0;
    for (const entry of (t.queue as ({ cost?: unknown } | undefined)[]).slice(head)) {
      if (typeof entry?.cost === 'number') used += entry.cost;
    }
    return {
      used,
      limit: config.maxWeight,
      freesAt: oldest === undefined ? undefined : oldest + config.windowSize,
    };
  }

  /** Stops the account: later calls throw `COFRE_VENUE_CLOSED`; idle keep-alive connections are closed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const dispatcher = this.#exchange.fetchDispatcher as { close?: () => Promise<void> } | undefined;
    if (typeof dispatcher?.close === 'function') await dispatcher.close();
  }

  /**
   * Runs one VenueAccount call: markets loaded (outside the call's context, so never with credentials), the
   * credentials resolved for private calls, the ccxt work run inside the call's context, errors mapped, and the
   * credentials zeroed whatever happens.
   */
  async #call<T>(
    operation: string,
    kind: {
      readonly write: boolean;
      readonly auth: boolean;
      readonly record: VenueCallRecord | undefined;
      /** False for calls that need no market (key scope, server time); default true. */
      readonly markets?: boolean;
    },
    run: (exchange: CcxtExchange) => Promise<T>,
  ): Promise<T> {
    if (this.#closed) {
      throw new CofreError('COFRE_VENUE_CLOSED', `account "${this.id}" was used after it was closed`);
    }
    const call: CallState = {
      operation,
      write: kind.write,
      record: kind.record,
      credentials: undefined,
      stored: undefined,
      sent: false,
      httpStatus: undefined,
      venueCode: undefined,
      venueMessage: undefined,
      writesSent: new Set(),
    };
    try {
      if (kind.markets !== false) await this.#marketsLoaded();
      if (kind.auth) {
        const resolved = await this.#resolveCredentials();
        // The caller scrubs its answer with these very values after this call has zeroed its own: the stored ones
        // first, so that they are held even when the secret is refused below, then the form ccxt signs with.
        for (const value of credentialValues(resolved)) kind.record?.held.push(value.clone());
        const signing = forSigning(resolved, this.id);
        call.credentials = signing.credentials;
        call.stored = signing.stored;
        if (signing.stored !== undefined) kind.record?.held.push(signing.credentials.secret.clone());
      }
      return await this.#calls.run(call, () => run(this.#exchange));
    } catch (err) {
      throw this.#mapError(err, call);
    } finally {
      const held = callSecrets(call);
      call.credentials = undefined;
      call.stored = undefined;
      for (const value of held) value.zero();
    }
  }

  /**
   * The call's credentials. A failure to read them (a missing or denied secret, an unreachable backend) is
   * `COFRE_CREDENTIALS_UNAVAILABLE`, whose message names no reference: the caller of an action learns that the
   * account cannot be used right now, not how cofre stores its keys. The cause stays attached for the server log.
   */
  async #resolveCredentials(): Promise<VenueCredentials> {
    try {
      return await this.#credentials();
    } catch (err) {
      // SECURITY: a read that could not be put on record is refused as the audit's failure, not as the backend's.
      if (isCofreError(err, 'COFRE_AUDIT_UNAVAILABLE')) throw err;
      throw new CofreError(
        'COFRE_CREDENTIALS_UNAVAILABLE',
        `the credentials of account "${this.id}" could not be read; nothing was sent. The operator finds the reason in cofre's log (\`cofre doctor\` checks every reference)`,
        { cause: err, details: { account: this.id } },
      );
    }
  }

  /** Loads markets once for all concurrent callers; a failure is forgotten so the next call tries again. */
  #marketsLoaded(): Promise<void> {
    this.#markets ??= this.#calls
      .exit(() => this.#exchange.loadMarkets(this.#marketsFailed))
      .then(
        () => undefined,
        (err: unknown) => {
          this.#markets = undefined;
          this.#marketsFailed = true;
          throw this.#mapError(err, {
            operation: 'loadMarkets',
            write: false,
            record: undefined,
            credentials: undefined,
            stored: undefined,
            sent: false,
            httpStatus: undefined,
            venueCode: undefined,
            venueMessage: undefined,
            writesSent: new Set(),
          });
        },
      );
    return this.#markets;
  }

  /** The ccxt market for `symbol` (unified `BTC/USDT` or the venue's id); refuses anything but spot. */
  #spotMarket(exchange: CcxtExchange, symbol: string): Ccxt.MarketInterface {
    const market = exchange.market(symbol);
    if (market.spot !== true) {
      throw new CofreError(
        'COFRE_VENUE_UNSUPPORTED',
        `account "${this.id}": ${market.symbol} is not a spot market; cofre trades spot only`,
        { details: { account: this.id, venue: this.venue, symbol: market.symbol } },
      );
    }
    return market;
  }

  /**
   * cofre's Order for a write's answer. When the answer is too thin to build one (some venues answer a cancel or
   * a new order with little more than an id), the order is read back; if even that fails, the outcome is unknown.
   */
  async #settledOrder(
    answer: Ccxt.Order,
    symbol: string,
    clientOrderId: string | undefined,
    operation: string,
    record: VenueCallRecord | undefined,
  ): Promise<Order> {
    try {
      return toOrder(answer, this.#format, clientOrderId);
    } catch (err) {
      if (!isCofreError(err, 'COFRE_VENUE_RESPONSE_INVALID')) throw err;
    }
    const ref: OrderRef | undefined =
      typeof answer.id === 'string' && answer.id !== ''
        ? { orderId: answer.id }
        : clientOrderId === undefined
          ? undefined
          : { clientOrderId };
    try {
      if (ref !== undefined) return await this.fetchOrder(symbol, ref, record);
    } catch {
      // reported below
    }
    throw new CofreError(
      'COFRE_VENUE_OUTCOME_UNKNOWN',
      `${this.venue} ${operation} for account "${this.id}": the venue accepted the request, but the order's state could not be read back; look it up by its client order id`,
      { details: { account: this.id, venue: this.venue, operation } },
    );
  }

  #mapError(err: unknown, call: CallState): CofreError {
    const failed: FailedCall = {
      accountId: this.id,
      venue: this.venue,
      operation: call.operation,
      write: call.write,
      sent: call.sent,
      httpStatus: call.httpStatus,
      venueCode: call.venueCode,
      venueMessage: call.venueMessage,
      secrets: callSecrets(call),
    };
    return toVenueError(err, failed, this.#ccxt);
  }

  /** Makes the ccxt instance safe to hold: see the module comment for each point. */
  #harden(exchange: CcxtExchange): void {
    const calls = this.#calls;
    // SECURITY: credentials live in the current call's context only, never as data properties of the instance.
    for (const field of CREDENTIAL_FIELDS) {
      Object.defineProperty(exchange, field, {
        configurable: false,
        enumerable: false,
        get(): string | undefined {
          const value = calls.getStore()?.credentials?.[field];
          return value === undefined || value.zeroed ? undefined : value.text();
        },
        set(): void {
          throw new CofreError(
            'COFRE_INTERNAL',
            'ccxt credentials are supplied per call and cannot be assigned',
          );
        },
      });
    }
    // SECURITY: verbose logging prints every request with its headers and signature; never on, not even later.
    pin(exchange, 'verbose', false);
    pin(exchange, 'enableRateLimit', true);
    // SECURITY: ccxt keeps no copy of requests (URL with signature, headers with the API key) or responses.
    pin(exchange, 'fetchHistoryCacheSize', 0);
    exchange.setLastRequest = (): void => undefined;
    exchange.enableLastHttpResponse = false;
    exchange.enableLastResponseHeaders = false;
    exchange.enableLastJsonResponse = false;
    // Writes are never retried by ccxt: the option is pinned to 0 globally and cleared per API path (ccxt looks at
    // `options[<path>]` first).
    const ccxtOptions = exchange.options as Record<string, unknown>;
    for (const value of Object.values(ccxtOptions)) {
      if (typeof value === 'object' && value !== null && 'maxRetriesOnFailure' in value) {
        (value as Record<string, unknown>)['maxRetriesOnFailure'] = 0;
      }
    }
    pin(ccxtOptions, 'maxRetriesOnFailure', 0);

    // Typed as returning unknown: ccxt declares undefined, but some exchanges return true to skip ccxt's generic
    // HTTP status handling, and that must be passed on.
    const handleErrors: (...args: Parameters<CcxtExchange['handleErrors']>) => unknown =
      exchange.handleErrors.bind(exchange);
    exchange.handleErrors = (...args: Parameters<CcxtExchange['handleErrors']>) => {
      const call = calls.getStore();
      if (call !== undefined) {
        // (status, statusText, url, method, headers, body, response, …): ccxt's order, exchange.js handleErrors.
        call.httpStatus = args[0];
        const answer = venueErrorFields(args[6] as unknown);
        call.venueCode = answer.code;
        call.venueMessage = answer.message;
      }
      return handleErrors(...args) as undefined;
    };

    const send = exchange.fetch.bind(exchange);
    exchange.fetch = async (
      url: unknown,
      method = 'GET',
      headers?: unknown,
      body?: unknown,
    ): Promise<unknown> => {
      // SECURITY: the last check before a request leaves, whatever happened to `urls` since the account opened.
      const target = this.#checkHost(url);
      const call = calls.getStore();
      if (call !== undefined) {
        const deadline = currentRequestContext()?.deadline;
        if (!call.sent && deadline !== undefined && Date.now() >= deadline) {
          // The call waited (in ccxt's rate limiter) past its request's deadline: send nothing rather than late.
          throw new CofreError(
            'COFRE_REQUEST_DEADLINE_EXCEEDED',
            `${this.venue} ${call.operation} for account "${this.id}" could not start before the request's deadline; nothing was sent, so it is safe to send again`,
            { details: { account: this.id, venue: this.venue, operation: call.operation, sent: false } },
          );
        }
        if (call.write && method !== 'GET') {
          const key = `${method} ${target.path}`;
          if (call.writesSent.has(key)) {
            // ccxt is about to send the same write again (a retry): the first attempt may have succeeded.
            throw new CofreError(
              'COFRE_VENUE_OUTCOME_UNKNOWN',
              `${this.venue} ${call.operation} for account "${this.id}": refused to send the write a second time; the first attempt's outcome is unknown: ${lostAnswerAdvice(call.operation)}`,
              { details: { account: this.id, venue: this.venue, operation: call.operation } },
            );
          }
          call.writesSent.add(key);
        }
        call.sent = true;
        if (call.write && call.record !== undefined) {
          call.record.writeSent = true;
          // What was signed and is about to leave, for the audit outcome (body as ccxt gives it: a string or none).
          (call.record.sentSha256 ??= []).push(
            sentRequestSha256(method, url as string, typeof body === 'string' ? body : undefined),
          );
        }
        call.httpStatus = undefined;
        call.venueCode = undefined;
        call.venueMessage = undefined;
      }
      this.#onRequest?.({ accountId: this.id, method, origin: target.origin, path: target.path });
      return (await send(url, method, headers, body)) as unknown;
    };
  }

  /** Throws `COFRE_VENUE_HOST_REFUSED` unless `url` goes, without a proxy, to an origin the mode allows. */
  #checkHost(url: unknown): { origin: string; path: string } {
    const where = `account "${this.id}" (${this.venue}, ${this.mode})`;
    const settings = this.#exchange as unknown as Record<string, unknown>;
    const proxy = PROXY_PROPERTIES.find((name) => {
      const value = settings[name];
      return value !== undefined && value !== null && value !== '' && value !== false;
    });
    if (proxy !== undefined) {
      throw new CofreError(
        'COFRE_VENUE_HOST_REFUSED',
        `${where}: refused a request: ccxt proxy setting ${proxy} is set`,
      );
    }
    let parsed: URL | undefined;
    try {
      parsed = typeof url === 'string' ? new URL(url) : undefined;
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined) {
      throw new CofreError('COFRE_VENUE_HOST_REFUSED', `${where}: refused a request to an unparsable URL`);
    }
    if (!this.#allowedOrigins.has(parsed.origin)) {
      throw new CofreError(
        'COFRE_VENUE_HOST_REFUSED',
        `${where}: refused a request to ${parsed.origin}; allowed: ${[...this.#allowedOrigins].join(', ')}`,
        { details: { account: this.id, venue: this.venue, origin: parsed.origin } },
      );
    }
    return { origin: parsed.origin, path: parsed.pathname };
  }
}

/** Checks what the broker should already have ensured; a malformed order is never handed to ccxt. */
function checkOrderRequest(order: OrderRequest): void {
  const bad = (why: string): never => {
    throw new CofreError('COFRE_INPUT_INVALID', `order ${order.clientOrderId}: ${why}`);
  };
  if (!DECIMAL.test(order.amount)) bad('amount must be a decimal string such as "0.01"');
  if (order.type === 'limit' && (order.price === undefined || !DECIMAL.test(order.price))) {
    bad('a limit order needs a price as a decimal string');
  }
  if (order.clientOrderId === '') bad('clientOrderId is required');
}

/** Defines `key` as a constant: later assignments throw (ccxt's code runs in strict mode). */
function pin(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: false, configurable: false, enumerable: true });
}

/**
 * `credentials` with the API secret in the form ccxt signs with (`api-secret.ts`): an HMAC secret as it is, a PEM
 * private key as canonical PKCS#8, the stored PEM kept apart so that errors and answers are scrubbed of both.
 * A key cofre cannot sign with is refused (`COFRE_CREDENTIALS_INVALID`) and every value zeroed.
 */
function forSigning(
  credentials: VenueCredentials,
  account: string,
): { credentials: VenueCredentials; stored: SecretValue | undefined } {
  let signing: ReturnType<typeof signingSecret>;
  try {
    signing = signingSecret(credentials.secret, account);
  } catch (err) {
    for (const value of credentialValues(credentials)) value.zero();
    throw err;
  }
  if (signing.value === credentials.secret) return { credentials, stored: undefined };
  return { credentials: { ...credentials, secret: signing.value }, stored: credentials.secret };
}

/** Every secret value a call holds: its credentials and the stored form of its API secret. */
function callSecrets(call: Pick<CallState, 'credentials' | 'stored'>): SecretValue[] {
  const values = credentialValues(call.credentials);
  return call.stored === undefined ? values : [...values, call.stored];
}

function credentialValues(credentials: VenueCredentials | undefined): SecretValue[] {
  if (credentials === undefined) return [];
  return CREDENTIAL_FIELDS.flatMap((field) => {
    const value = credentials[field];
    return value === undefined ? [] : [value];
  });
}

/** Binance-style `{ code, msg }` (or `message`) from a parsed error response, as text. */
function venueErrorFields(response: unknown): { code: string | undefined; message: string | undefined } {
  if (typeof response !== 'object' || response === null || Array.isArray(response)) {
    return { code: undefined, message: undefined };
  }
  const fields = response as Record<string, unknown>;
  const code = fields['code'];
  const message = fields['msg'] ?? fields['message'];
  return {
    code: typeof code === 'number' || typeof code === 'string' ? String(code) : undefined,
    message: typeof message === 'string' ? message : undefined,
  };
}

/**
 * The client id of the order a cancel answer is about. A Binance cancel answer carries the cancel request's own
 * client id in `clientOrderId` and the order's in `origClientOrderId`; report the order's.
 */
function originalClientOrderId(answer: Ccxt.Order): string | undefined {
  const info: unknown = answer.info;
  const original =
    typeof info === 'object' && info !== null && 'origClientOrderId' in info
      ? info.origClientOrderId
      : undefined;
  return typeof original === 'string' && original !== '' ? original : undefined;
}

function toCofreError(err: unknown): CofreError {
  return err instanceof CofreError
    ? err
    : new CofreError('COFRE_INTERNAL', 'unexpected failure while cancelling orders', { cause: err });
}

/**
 * A cancel-all over several symbols that failed on some: the most serious failure's code (an unknown outcome
 * first), and which symbols were cancelled and which were not, so the caller can retry just those.
 */
function partialCancelError(
  account: string,
  venue: string,
  done: readonly string[],
  failed: readonly { label: string; error: CofreError }[],
): CofreError {
  const first = failed.find((f) => f.error.code === 'COFRE_VENUE_OUTCOME_UNKNOWN') ?? failed[0];
  const cancelledText = done.length === 0 ? 'nothing' : done.join(', ');
  const failedText = failed.map((f) => `${f.label} (${f.error.code})`).join(', ');
  return new CofreError(
    first?.error.code ?? 'COFRE_INTERNAL',
    `${venue} cancelAllOrders for account "${account}": cancelled on ${cancelledText}; failed on ${failedText}. List the open orders and cancel again`,
    {
      // No cause: like every venue error, the message and details are all a caller gets (see venue-error.ts).
      details: {
        account,
        venue,
        operation: 'cancelAllOrders',
        cancelled: [...done],
        failed: failed.map((f) => f.label),
      },
    },
  );
}

/**
 * SECURITY: the error of a withdrawal, with the venue's own text dropped if it quotes the destination (address or
 * memo). cofre's own messages never name them; a venue's error text might.
 */
function withoutDestination(err: unknown, request: WithdrawalRequest): unknown {
  if (!(err instanceof CofreError) || err.details === undefined) return err;
  const text = err.details['venueText'];
  if (typeof text !== 'string') return err;
  const quoted = [request.address, request.memo].some(
    (value) => value !== undefined && value.length >= 4 && text.includes(value),
  );
  if (!quoted) return err;
  const details = Object.fromEntries(Object.entries(err.details).filter(([key]) => key !== 'venueText'));
  return new CofreError(err.code, err.message, { details });
}

/** Scales the instance's rate limiter to `share` of the venue's rate (see {@link VenueAccountOptions.rateShare}). */
function shareRate(exchange: CcxtExchange, id: string, share: number): void {
  if (!(share > 0 && share <= 1)) {
    throw new CofreError('COFRE_INPUT_INVALID', `account "${id}": rateShare must be above 0 and at most 1`);
  }
  if (share === 1) return;
  const limiter = exchange as unknown as {
    rateLimit: number;
    tokenBucket: unknown;
    initRestRateLimiter(): void;
  };
  limiter.rateLimit = limiter.rateLimit / share;
  // The bucket ccxt built keeps the old rateLimit and wins over the default when rebuilt; no venue cofre reviewed
  // configures its own (checked by the venue account's rate-share test).
  limiter.tokenBucket = undefined;
  limiter.initRestRateLimiter();
}

/**
 * The id an {@link OrderRef} names: its `orderId` when that is a string, else its `clientOrderId`. Read by value,
 * not by key: a reference built from optional fields (`{ orderId: undefined, clientOrderId }`) has the key `orderId`,
 * and testing `'orderId' in ref` sent neither id. One with neither is refused before anything is sent.
 */
function orderRefId(
  ref: OrderRef,
): { orderId: string; clientOrderId?: undefined } | { orderId?: undefined; clientOrderId: string } {
  const { orderId, clientOrderId } = ref as { orderId?: unknown; clientOrderId?: unknown };
  if (typeof orderId === 'string' && orderId !== '') return { orderId };
  if (typeof clientOrderId === 'string' && clientOrderId !== '') return { clientOrderId };
  throw new CofreError('COFRE_INPUT_INVALID', 'an order reference needs an orderId or a clientOrderId');
}
