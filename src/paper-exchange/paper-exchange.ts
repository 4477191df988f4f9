/**
 * A Binance-compatible paper exchange on loopback: the peer that stands in for Binance in cofre's tests and in
 * `cofre demo` (DESIGN.md, "Real peers for tests").
 *
 * It serves a subset of Binance's Spot REST API (`/api/v3/...`) with Binance's paths, parameters, JSON shapes and
 * error codes, and checks requests the way Binance documents it, so that ccxt's `binance` class, pointed at it, signs
 * and sends exactly what it would send to Binance, and a mistake in signing fails here as it would there. The
 * reference is "Public Rest API for Binance" (rest-api.md, binance/binance-spot-api-docs, 2023-06-07 revision) and
 * errors.md (2025-01-09): https://github.com/binance/binance-spot-api-docs
 *
 * SIGNED endpoints ("SIGNED (TRADE and USER_DATA) Endpoint security"):
 * - the API key comes in the `X-MBX-APIKEY` header: missing or malformed → -2014, unknown → -2015 (HTTP 401);
 * - `signature` is the hex HMAC-SHA256 of `totalParams` (query string concatenated with the request body) under the
 *   account's secret, or for an Ed25519 or RSA key the URL-encoded base64 signature of `totalParams` under the
 *   registered public key, sent in the query string or the body; wrong → -1022 (`binance-signature.ts`);
 * - `timestamp` is required; `recvWindow` defaults to 5000 and may not exceed 60000; the request is processed only
 *   if `timestamp < serverTime + 1000 && serverTime - timestamp <= recvWindow`, else -1021.
 *
 * Why node:http and not fastify (which cofre's own HTTP surface uses): this is a test peer impersonating Binance, not
 * part of cofre's surface. It must control the raw query string and body byte for byte (the signature covers them as
 * sent), it needs none of fastify's schema or plugin machinery, and keeping it dependency-free means a test of
 * cofre's HTTP surface never shares framework code with the server it is checked against.
 *
 * Where it differs from Binance on purpose: one reference price per symbol with unlimited liquidity (orders fill
 * completely or not at all, see `paper-engine.ts`), a synthetic order book one tick either side of that price, no
 * rate limits, no WebSocket streams, of the `/sapi` endpoints only withdrawals and their history (`paper-withdrawals.ts`), unknown
 * parameters ignored rather than refused.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { isIP } from 'node:net';

import { BinanceApiError, binanceErrors } from './binance-error.js';
import { BinanceParams } from './binance-params.js';
import { signedPayload } from './binance-signature.js';
import {
  ECHO_KEY_MODES,
  echoKeyError,
  echoKeyInResult,
  type EchoKeyMode,
  isErrorEcho,
} from './echo-key-fault.js';
import { ExactDecimal } from './exact-decimal.js';
import {
  checkSymbolForm,
  readCancelClientOrderId,
  readNewOrder,
  readOptionalSymbol,
  readOrderRef,
  readSymbol,
} from './order-params.js';
import { cancelOrderResponse, myTradeResponse, newOrderResponse, queryOrderResponse } from './order-wire.js';
import { type PaperApiKey, PaperApiKeys, type PaperKeyRestrictions } from './paper-api-keys.js';
import { PaperConfigError } from './paper-config-error.js';
import { type OrderState, PaperEngine, type Trade } from './paper-engine.js';
import { exchangeInfoSymbol, type PaperSymbol, type SymbolRules, symbolRules } from './paper-symbol.js';
import { type PaperWithdrawal, PaperWithdrawals } from './paper-withdrawals.js';

export type { EchoKeyMode } from './echo-key-fault.js';
export type { PaperApiKey, PaperKeyRestrictions } from './paper-api-keys.js';
export type { PaperSymbol } from './paper-symbol.js';
export type { PaperWithdrawal } from './paper-withdrawals.js';

/** An account of the paper exchange. */
export interface PaperAccount extends PaperApiKey {
  /** Starting free balance per asset, as decimal strings (`{ USDT: "10000", BTC: "0.5" }`). */
  readonly balances: Readonly<Record<string, string>>;
}

/** Options of {@link startPaperExchange}. */
export interface PaperExchangeOptions {
  /** Loopback address to bind; default `127.0.0.1`. Anything else is refused. */
  readonly host?: string;
  /** TCP port; default 0 (an ephemeral port, see {@link PaperExchange.port}). */
  readonly port?: number;
  readonly accounts: readonly PaperAccount[];
  /** The pairs traded, as `GET /api/v3/exchangeInfo` lists them. */
  readonly symbols: readonly PaperSymbol[];
  /** Starting reference price of every symbol, e.g. `{ BTCUSDT: "60000" }`. */
  readonly prices: Readonly<Record<string, string>>;
  /** Fee as a fraction of the asset received; default `"0.001"` (0.1%). */
  readonly feeRate?: string;
  /** Server clock in ms since the epoch, used for `serverTime` and the recvWindow check; default `Date.now`. */
  readonly now?: () => number;
  /** Generates client order ids for orders sent without `newClientOrderId`; default random. */
  readonly newClientOrderId?: () => string;
  /** Largest request body accepted, in bytes; default 65536. */
  readonly maxBodyBytes?: number;
  /**
   * Fault mode "slow venue": called for each request before it is processed; a returned promise holds the request
   * (unprocessed, unrecorded) until it settles. Lets a test make reads slow or stall the venue deterministically.
   * A held request is judged at its arrival (its timestamp against `recvWindow`, its server time), as a venue that
   * accepted it in time and is slow to answer would, so a test on a loaded machine is not failed by the hold itself.
   */
  readonly holdRequest?: (request: {
    readonly method: string;
    readonly path: string;
  }) => Promise<void> | undefined;
  /**
   * Receives any unexpected exception while serving a request (a bug in the paper exchange, answered as HTTP 500
   * with -1000); default: ignored.
   */
  readonly onError?: (error: unknown) => void;
  /**
   * Fault mode: echo the caller's API key back in errors or results (`echo-key-fault.ts`), to test that the
   * broker passes none of it on. Default: off. Can be changed later with {@link PaperExchange.echoKey}.
   */
  readonly echoKey?: EchoKeyMode;
}

/** A request as the paper exchange received it, with what it made of it. */
export interface ReceivedRequest {
  /** 1 for the first request, then 2, 3… */
  readonly seq: number;
  /** Server time (the `now` option) when the request was processed. */
  readonly receivedAt: number;
  readonly method: string;
  /** Path without the query string, e.g. `/api/v3/order`. */
  readonly path: string;
  /** Raw query string as received, without `?`, still percent-encoded. */
  readonly query: string;
  /** Raw body as received. */
  readonly body: string;
  /** Decoded parameters (query string over body), without `signature`; empty when they could not be parsed. */
  readonly params: Readonly<Record<string, string>>;
  /** `X-MBX-APIKEY` as sent, if any. */
  readonly apiKey: string | undefined;
  /** True for an endpoint that requires a signature. */
  readonly signed: boolean;
  /** True when the API key, signature and timestamp were all accepted (always false for public endpoints). */
  readonly verified: boolean;
  /** HTTP status of the response. */
  readonly status: number;
  /** Binance error code of the response, if it was an error. */
  readonly errorCode: number | undefined;
}

/** One fill of a {@link PaperOrder}. */
export interface PaperFill {
  readonly tradeId: number;
  readonly price: string;
  readonly qty: string;
  readonly commission: string;
  readonly commissionAsset: string;
  readonly isMaker: boolean;
}

/** An order as the paper exchange holds it (a copy; amounts as exact decimal strings). */
export interface PaperOrder {
  readonly apiKey: string;
  readonly orderId: number;
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: 'BUY' | 'SELL';
  readonly type: 'LIMIT' | 'LIMIT_MAKER' | 'MARKET';
  readonly timeInForce: 'GTC' | 'IOC' | 'FOK';
  /** Limit price; `"0"` for MARKET. */
  readonly price: string;
  readonly origQty: string;
  readonly origQuoteOrderQty: string;
  readonly executedQty: string;
  readonly cummulativeQuoteQty: string;
  readonly status: 'NEW' | 'FILLED' | 'CANCELED' | 'EXPIRED';
  readonly time: number;
  readonly updateTime: number;
  readonly fills: readonly PaperFill[];
}

/** Free and locked amount of one asset, as exact decimal strings. */
export interface PaperBalance {
  readonly free: string;
  readonly locked: string;
}

/**
 * A running paper exchange. Its methods run synchronously between HTTP requests, so they are safe to call while
 * clients are connected; what they return are copies.
 */
export interface PaperExchange {
  /** Base URL, e.g. `http://127.0.0.1:40123` (no trailing slash). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /**
   * Moves a symbol's reference price and fills every resting limit order it reaches, at the order's limit price.
   * Throws `COFRE_INPUT_INVALID` for an unknown symbol or a price that is not a positive decimal string.
   */
  setPrice(symbol: string, price: string): void;
  /** Current reference price of a symbol. */
  price(symbol: string): string;
  /** Balances of an account by asset. Throws `COFRE_INPUT_INVALID` for an unknown API key. */
  balances(apiKey: string): Record<string, PaperBalance>;
  /**
   * Adds an API key to the account that `accountApiKey` (any of its keys) belongs to, as a key rotation on the
   * exchange's site does: both keys work until the old one is revoked. Throws `PaperConfigError` for an unknown
   * account or a key already in use.
   */
  addApiKey(accountApiKey: string, key: PaperApiKey): void;
  /** Deletes an API key: requests signed with it are refused from now on with -2015. */
  revokeApiKey(apiKey: string): void;
  /** Changes what an API key may do (`GET /sapi/v1/account/apiRestrictions` reports it; trading and withdrawals are enforced). */
  restrictApiKey(apiKey: string, restrictions: PaperKeyRestrictions): void;
  /** Every order accepted so far, oldest first. */
  orders(): PaperOrder[];
  /** Every withdrawal accepted so far (`POST /sapi/v1/capital/withdraw/apply`), oldest first. */
  withdrawals(): PaperWithdrawal[];
  /** Every request received so far, oldest first. The secret of an account appears in none of them. */
  requests(): ReceivedRequest[];
  /**
   * Turns the echo-the-key fault on (a mode of `echo-key-fault.ts`) or off (`undefined`) for the requests that
   * follow. Throws `PaperConfigError` for an unknown mode.
   */
  echoKey(mode: EchoKeyMode | undefined): void;
  /** Stops listening and closes open connections. Safe to call twice. */
  stop(): Promise<void>;
}

const API_KEY = /^[A-Za-z0-9]{1,128}$/;
const DEFAULT_RECV_WINDOW = 5000;
const MAX_RECV_WINDOW = 60000;
const DEPTH_LEVELS = 5;

interface RequestContext {
  readonly params: BinanceParams;
  /** The account of a SIGNED request, named by its first API key; empty for public endpoints. */
  readonly apiKey: string;
  /** The verified API key the request was signed with (one of the account's keys); empty for public endpoints. */
  readonly key: string;
  readonly serverTime: number;
}

interface Route {
  readonly signed: boolean;
  /** What the signing key must be allowed to do, beyond reading. */
  readonly permission?: 'trade' | 'withdraw';
  readonly handle: (ctx: RequestContext) => unknown;
}

/**
 * Starts a paper exchange and resolves once it listens.
 *
 * SECURITY: binds loopback only (a request to bind any other address throws a `PaperConfigError`); account
 * secrets are kept in this closure, used only as HMAC keys, and never written to a response or to
 * {@link PaperExchange.requests}.
 */
export async function startPaperExchange(options: PaperExchangeOptions): Promise<PaperExchange> {
  const { host, requestedPort } = readAddress(options);
  const now = options.now ?? Date.now;
  const maxBodyBytes = options.maxBodyBytes ?? 65536;
  let echo = checkEchoMode(options.echoKey);

  const { rules, known, prices, feeRate } = readMarkets(options);

  const keys = new PaperApiKeys(now);
  const balances = readAccounts(options.accounts, keys);

  const engine = new PaperEngine({
    symbols: rules,
    prices,
    balances,
    feeRate,
    now,
    ...(options.newClientOrderId === undefined ? {} : { newClientOrderId: options.newClientOrderId }),
  });
  const accountIds = new Map(keys.accounts().map((key, index) => [key, index + 1]));
  let priceUpdates = 0;
  const withdrawals = new PaperWithdrawals(engine);
  const bookVersion = () => priceUpdates + engine.everyOrder().length;
  const routes = binanceRoutes(engine, feeRate, accountIds, bookVersion, withdrawals);
  addApiRestrictionsRoute(routes, keys);
  const received: ReceivedRequest[] = [];

  const server = createServer((req, res) => {
    readBody(req, maxBodyBytes, (body, tooLarge) => {
      whenReleased(req, options.holdRequest, now, (arrived) => {
        const ctx = { routes, keys, now: () => arrived, echo, onError: options.onError };
        const entry = handleRequest(req, body, tooLarge, ctx);
        received.push({ ...entry.record, seq: received.length + 1 });
        res.writeHead(entry.status, { 'content-type': 'application/json;charset=UTF-8' });
        res.end(JSON.stringify(entry.body));
      });
    });
  });

  await listen(server, requestedPort, host);
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : requestedPort;
  const url = `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  let stopping: Promise<void> | undefined;

  return {
    url,
    host,
    port,
    setPrice(symbol, price) {
      if (!known.has(symbol)) throw invalid(`paper exchange has no symbol ${JSON.stringify(symbol)}`);
      engine.setPrice(symbol, positiveDecimal(price, `price of ${symbol}`));
      priceUpdates += 1;
    },
    price(symbol) {
      if (!known.has(symbol)) throw invalid(`paper exchange has no symbol ${JSON.stringify(symbol)}`);
      return engine.price(symbol).toString();
    },
    balances: (apiKey) => balancesOf(engine, keys, apiKey),
    ...keyControls(keys),
    orders() {
      return engine.everyOrder().map(orderSnapshot);
    },
    withdrawals: () => withdrawals.all(),
    requests() {
      return received.map((r) => ({ ...r, params: { ...r.params } }));
    },
    echoKey(mode) {
      echo = checkEchoMode(mode);
    },
    stop() {
      stopping ??= closeServer(server);
      return stopping;
    },
  };
}

/** The listed symbols, their starting prices and the fee rate, checked. */
/** {@link PaperExchange.balances}: the balances of the account `apiKey` (any of its keys) belongs to. */
function balancesOf(engine: PaperEngine, keys: PaperApiKeys, apiKey: string): Record<string, PaperBalance> {
  if (!keys.has(apiKey)) throw invalid('paper exchange has no account with that API key');
  const result: Record<string, PaperBalance> = {};
  for (const [asset, b] of engine.balances(keys.ownerOf(apiKey))) {
    result[asset] = { free: b.free.toString(), locked: b.locked.toString() };
  }
  return result;
}

/** The {@link PaperExchange} methods that add, revoke and restrict API keys. */
function keyControls(
  keys: PaperApiKeys,
): Pick<PaperExchange, 'addApiKey' | 'revokeApiKey' | 'restrictApiKey'> {
  return {
    addApiKey(accountApiKey, key) {
      keys.add(keys.ownerOf(accountApiKey), key, 'paper exchange API key');
    },
    revokeApiKey(apiKey) {
      keys.revoke(apiKey);
    },
    restrictApiKey(apiKey, restrictions) {
      keys.restrict(apiKey, restrictions);
    },
  };
}

/** Where to listen: loopback only, a valid port (0 for any free one). */
function readAddress(options: PaperExchangeOptions): { host: string; requestedPort: number } {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host)) {
    throw invalid(`paper exchange host ${JSON.stringify(host)} is not a loopback address`);
  }
  const requestedPort = options.port ?? 0;
  if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) {
    throw invalid('paper exchange port must be an integer from 0 to 65535');
  }
  return { host, requestedPort };
}

function readMarkets(options: PaperExchangeOptions): {
  rules: SymbolRules[];
  known: Set<string>;
  prices: Map<string, ExactDecimal>;
  feeRate: ExactDecimal;
} {
  const rules = options.symbols.map(symbolRules);
  const known = new Set<string>();
  for (const r of rules) {
    if (known.has(r.symbol)) throw invalid(`paper exchange symbol ${r.symbol} is listed twice`);
    known.add(r.symbol);
  }
  const prices = new Map<string, ExactDecimal>();
  for (const [symbol, text] of Object.entries(options.prices)) {
    if (!known.has(symbol)) throw invalid(`paper exchange price given for unlisted symbol ${symbol}`);
    prices.set(symbol, positiveDecimal(text, `price of ${symbol}`));
  }
  for (const symbol of known) {
    if (!prices.has(symbol)) throw invalid(`paper exchange symbol ${symbol} has no price`);
  }
  const feeRate = ExactDecimal.parse(options.feeRate ?? '0.001');
  if (feeRate === undefined || feeRate.gte(ExactDecimal.fromInteger(1))) {
    throw invalid('paper exchange feeRate must be a decimal string from 0 to below 1, e.g. "0.001"');
  }
  return { rules, known, prices, feeRate };
}

/** Each account's API key (into `keys`) and starting balances by API key, checked. */
function readAccounts(
  accounts: readonly PaperAccount[],
  keys: PaperApiKeys,
): Map<string, Map<string, ExactDecimal>> {
  const balances = new Map<string, Map<string, ExactDecimal>>();
  for (const [index, account] of accounts.entries()) {
    keys.add(account.apiKey, account, `paper exchange account #${index + 1}`);
    const assets = new Map<string, ExactDecimal>();
    for (const [asset, text] of Object.entries(account.balances)) {
      const amount = ExactDecimal.parse(text);
      if (amount === undefined) {
        throw invalid(`paper exchange account #${index + 1}: balance of ${asset} must be a decimal string`);
      }
      assets.set(asset, amount);
    }
    balances.set(account.apiKey, assets);
  }
  return balances;
}

/** What {@link handleRequest} needs from the running exchange. */
interface HandlerContext {
  readonly routes: ReadonlyMap<string, Route>;
  /** SECURITY: the accounts' API keys and HMAC secrets; the secrets are used only to verify signatures. */
  readonly keys: PaperApiKeys;
  readonly now: () => number;
  /** The echo-the-key fault in force for this request, if any (`echo-key-fault.ts`). */
  readonly echo: EchoKeyMode | undefined;
  readonly onError: ((error: unknown) => void) | undefined;
}

/**
 * Runs `answer` now, or once the test's `holdRequest` releases the request (a slow or stalled venue), with the time
 * the request arrived: a held request is judged as Binance judges one, at its arrival (the recvWindow check),
 * however long the test then keeps it waiting, as a venue that accepted it and is slow to answer would.
 */
function whenReleased(
  req: IncomingMessage,
  hold: PaperExchangeOptions['holdRequest'],
  now: () => number,
  answer: (arrived: number) => void,
): void {
  const arrived = now();
  const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
  const held = hold?.({ method: req.method ?? 'GET', path });
  const release = (): void => {
    answer(arrived);
  };
  if (held === undefined) release();
  else held.then(release, release);
}

/** Answers one request: route, parse, authenticate and verify a SIGNED one, run the handler, map errors. */
function handleRequest(
  req: IncomingMessage,
  body: string,
  tooLarge: boolean,
  ctx: HandlerContext,
): { status: number; body: unknown; record: Omit<ReceivedRequest, 'seq'> } {
  const { routes, keys, now, echo } = ctx;
  const method = req.method ?? 'GET';
  const target = req.url ?? '/';
  const mark = target.indexOf('?');
  const path = mark === -1 ? target : target.slice(0, mark);
  const query = mark === -1 ? '' : target.slice(mark + 1);
  const headerKey = req.headers['x-mbx-apikey'];
  const apiKey = typeof headerKey === 'string' ? headerKey : undefined;
  const route = routes.get(`${method} ${path}`);
  const serverTime = now();
  let params: BinanceParams | undefined;
  let verified = false;
  let status = 200;
  let response: unknown;
  let errorCode: number | undefined;
  try {
    if (route === undefined) throw binanceErrors.unsupported();
    if (tooLarge) throw binanceErrors.tooManyParameters();
    params = BinanceParams.parse(query, body, method);
    let account = '';
    let key = '';
    if (route.signed) {
      const presented = authenticate(keys, apiKey);
      checkSignedRequest(
        (totalParams, signature) => keys.verify(presented, totalParams, signature),
        query,
        body,
        params,
        serverTime,
      );
      verified = true;
      checkPermission(keys, presented, route.permission);
      if (echo !== undefined && isErrorEcho(echo)) throw echoKeyError(echo, presented);
      account = keys.ownerOf(presented);
      key = presented;
    }
    response = route.handle({ params, apiKey: account, key, serverTime });
    if (route.signed && echo !== undefined) response = echoKeyInResult(echo, key, response);
  } catch (err) {
    if (!(err instanceof BinanceApiError)) ctx.onError?.(err);
    const error = err instanceof BinanceApiError ? err : binanceErrors.unknown();
    status = error.httpStatus;
    errorCode = error.code;
    response = error.toWire();
  }
  return {
    status,
    body: response,
    record: {
      receivedAt: serverTime,
      method,
      path,
      query,
      body,
      params: params?.entries() ?? {},
      apiKey,
      signed: route?.signed ?? false,
      verified,
      status,
      errorCode,
    },
  };
}

function authenticate(keys: PaperApiKeys, apiKey: string | undefined): string {
  if (apiKey === undefined || !API_KEY.test(apiKey)) throw binanceErrors.apiKeyFormat();
  if (!keys.has(apiKey)) throw binanceErrors.rejectedApiKey();
  return apiKey;
}

/** A key without the permission a route needs is refused as Binance refuses it: -2015, HTTP 401. */
function checkPermission(keys: PaperApiKeys, apiKey: string, permission: Route['permission']): void {
  if (permission === undefined) return;
  const r = keys.describe(apiKey);
  const allowed = permission === 'trade' ? r.enableSpotAndMarginTrading : r.enableWithdrawals;
  if (!allowed) throw binanceErrors.rejectedApiKey();
}

/**
 * `GET /sapi/v1/account/apiRestrictions` (USER_DATA, SIGNED): what the calling key may do, in the fields Binance
 * documents ("Get API Key Permission"); those the paper exchange has no notion of are false.
 */
function addApiRestrictionsRoute(routes: Map<string, Route>, keys: PaperApiKeys): void {
  routes.set('GET /sapi/v1/account/apiRestrictions', {
    signed: true,
    handle: ({ key }) => {
      const r = keys.describe(key);
      return {
        ipRestrict: r.ipRestrict,
        createTime: r.createTime,
        enableReading: r.enableReading,
        enableWithdrawals: r.enableWithdrawals,
        enableInternalTransfer: false,
        enableMargin: false,
        enableFutures: false,
        permitsUniversalTransfer: false,
        enableVanillaOptions: false,
        enableFixApiTrade: false,
        enableFixReadOnly: false,
        enableSpotAndMarginTrading: r.enableSpotAndMarginTrading,
        enablePortfolioMarginTrading: false,
      };
    },
  });
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Verifies the signature and timing of a SIGNED request ("SIGNED (TRADE and USER_DATA) Endpoint security",
 * "Timing security"). Throws -1102 (missing `signature`/`timestamp`), -1100 (malformed), -1022 (bad signature) or
 * -1021 (outside the window).
 */
function checkSignedRequest(
  verify: (totalParams: string, signature: string) => boolean,
  rawQuery: string,
  rawBody: string,
  params: BinanceParams,
  serverTime: number,
): void {
  const payload = signedPayload(rawQuery, rawBody);
  if (payload.duplicated) throw binanceErrors.duplicateParameter();
  if (payload.signature === undefined || payload.signature === '') throw binanceErrors.mandatory('signature');
  const timestamp = params.requiredLong('timestamp');
  const recvWindow = params.optionalLong('recvWindow') ?? DEFAULT_RECV_WINDOW;
  if (recvWindow > MAX_RECV_WINDOW) throw binanceErrors.greaterThan('recvWindow', String(MAX_RECV_WINDOW));
  // SECURITY: the signature is checked before anything else about the request is acted on.
  if (!verify(payload.totalParams, payload.signature)) {
    throw binanceErrors.invalidSignature();
  }
  // The documented rule, verbatim: process if timestamp < serverTime + 1000 && serverTime - timestamp <= recvWindow.
  if (!(timestamp < serverTime + 1000)) throw binanceErrors.timestampAhead();
  if (!(serverTime - timestamp <= recvWindow)) throw binanceErrors.timestampOutsideRecvWindow();
}

/** A route table entry's registration: `METHOD path`, whether it is SIGNED, and its handler. */
type AddRoute = (method: string, path: string, signed: boolean, handle: Route['handle']) => void;

function binanceRoutes(
  engine: PaperEngine,
  feeRate: ExactDecimal,
  accountIds: ReadonlyMap<string, number>,
  bookVersion: () => number,
  withdrawals: PaperWithdrawals,
): Map<string, Route> {
  const routes = new Map<string, Route>();
  const add: AddRoute = (method, path, signed, handle) => {
    // Every SIGNED write under /api/v3 places or cancels orders; the one under /sapi withdraws.
    const permission =
      !signed || method === 'GET' ? undefined : path.startsWith('/sapi/') ? 'withdraw' : 'trade';
    routes.set(
      `${method} ${path}`,
      permission === undefined ? { signed, handle } : { signed, permission, handle },
    );
  };
  addMarketDataRoutes(add, engine, bookVersion);
  addAccountRoute(add, engine, feeRate, accountIds);
  addOrderRoutes(add, engine);
  add('POST', '/sapi/v1/capital/withdraw/apply', true, ({ params, apiKey, serverTime }) =>
    withdrawals.apply(apiKey, params, serverTime),
  );
  add('GET', '/sapi/v1/capital/withdraw/history', true, ({ params, apiKey, serverTime }) =>
    withdrawals.history(apiKey, params, serverTime),
  );
  return routes;
}

/** Public market data: ping, time, exchangeInfo, depth, the tickers and avgPrice. */
function addMarketDataRoutes(add: AddRoute, engine: PaperEngine, bookVersion: () => number): void {
  add('GET', '/api/v3/ping', false, () => ({}));
  add('GET', '/api/v3/time', false, ({ serverTime }) => ({ serverTime }));
  add('GET', '/api/v3/exchangeInfo', false, ({ params, serverTime }) => ({
    timezone: 'UTC',
    serverTime,
    rateLimits: [
      { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 },
      { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
      { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 200000 },
      { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61000 },
    ],
    exchangeFilters: [],
    symbols: selectSymbols(params, engine).map(exchangeInfoSymbol),
  }));
  add('GET', '/api/v3/depth', false, ({ params }) => {
    const r = readSymbol(params, engine);
    const limit = params.optionalLong('limit') ?? 100;
    const book = syntheticBook(r, engine.price(r.symbol), Math.min(limit, DEPTH_LEVELS));
    return { lastUpdateId: bookVersion(), ...book };
  });
  add('GET', '/api/v3/ticker/price', false, ({ params }) =>
    perSymbol(params, engine, (r) => ({ symbol: r.symbol, price: engine.price(r.symbol).toFixed() })),
  );
  add('GET', '/api/v3/ticker/bookTicker', false, ({ params }) =>
    perSymbol(params, engine, (r) => {
      const book = syntheticBook(r, engine.price(r.symbol), 1);
      const [bid] = book.bids;
      const [ask] = book.asks;
      return {
        symbol: r.symbol,
        bidPrice: bid?.[0] ?? '0.00000000',
        bidQty: bid?.[1] ?? '0.00000000',
        askPrice: ask?.[0] ?? '0.00000000',
        askQty: ask?.[1] ?? '0.00000000',
      };
    }),
  );
  add('GET', '/api/v3/ticker/24hr', false, ({ params, serverTime }) =>
    perSymbol(params, engine, (r) => ticker24hr(r, engine, serverTime)),
  );
  add('GET', '/api/v3/avgPrice', false, ({ params, serverTime }) => {
    const r = readSymbol(params, engine);
    return { mins: 5, price: engine.price(r.symbol).toFixed(), closeTime: serverTime };
  });
}

/** `GET /api/v3/account` (SIGNED): commissions, permissions and balances. */
function addAccountRoute(
  add: AddRoute,
  engine: PaperEngine,
  feeRate: ExactDecimal,
  accountIds: ReadonlyMap<string, number>,
): void {
  add('GET', '/api/v3/account', true, ({ params, apiKey, serverTime }) => {
    const omitZero = readBoolean(params, 'omitZeroBalances');
    const bps = Number(feeRate.mul(ExactDecimal.fromInteger(10000)).roundHalfUp(0).toString());
    const balances = [...engine.balances(apiKey)]
      .filter(([, b]) => !omitZero || !(b.free.isZero() && b.locked.isZero()))
      .map(([asset, b]) => ({ asset, free: b.free.toFixed(), locked: b.locked.toFixed() }));
    return {
      makerCommission: bps,
      takerCommission: bps,
      buyerCommission: 0,
      sellerCommission: 0,
      commissionRates: {
        maker: feeRate.toFixed(),
        taker: feeRate.toFixed(),
        buyer: '0.00000000',
        seller: '0.00000000',
      },
      canTrade: true,
      canWithdraw: true,
      canDeposit: false,
      brokered: false,
      requireSelfTradePrevention: false,
      preventSor: false,
      updateTime: serverTime,
      accountType: 'SPOT',
      balances,
      permissions: ['SPOT'],
      uid: accountIds.get(apiKey) ?? 0,
    };
  });
}

/** Orders and trades (SIGNED): new, test, query, cancel, open orders, all orders, my trades. */
function addOrderRoutes(add: AddRoute, engine: PaperEngine): void {
  add('POST', '/api/v3/order', true, ({ params, apiKey }) => {
    const { order, responseType } = readNewOrder(params, engine);
    return newOrderResponse(engine.placeOrder(apiKey, order), responseType);
  });
  add('POST', '/api/v3/order/test', true, ({ params, apiKey }) => {
    const { order } = readNewOrder(params, engine);
    engine.testOrder(apiKey, order);
    return {};
  });
  add('GET', '/api/v3/order', true, ({ params, apiKey }) => {
    const r = readSymbol(params, engine);
    return queryOrderResponse(engine.queryOrder(apiKey, r.symbol, readOrderRef(params)));
  });
  add('DELETE', '/api/v3/order', true, ({ params, apiKey }) => {
    const r = readSymbol(params, engine);
    const ref = readOrderRef(params);
    const cancelId = readCancelClientOrderId(params);
    const order = engine.cancelOrder(apiKey, r.symbol, ref);
    return cancelOrderResponse(order, cancelId ?? `cancel-${order.orderId}`);
  });
  add('GET', '/api/v3/openOrders', true, ({ params, apiKey }) => {
    const r = readOptionalSymbol(params, engine);
    return engine.openOrders(apiKey, r?.symbol).map(queryOrderResponse);
  });
  add('DELETE', '/api/v3/openOrders', true, ({ params, apiKey }) => {
    const r = readSymbol(params, engine);
    return engine
      .cancelOpenOrders(apiKey, r.symbol)
      .map((o) => cancelOrderResponse(o, `cancel-${o.orderId}`));
  });
  add('GET', '/api/v3/allOrders', true, ({ params, apiKey }) => {
    const r = readSymbol(params, engine);
    const fromOrderId = params.optionalLong('orderId');
    const limit = readLimit(params);
    const orders = engine
      .allOrders(apiKey, r.symbol)
      .filter((o) => fromOrderId === undefined || o.orderId >= fromOrderId);
    return (fromOrderId === undefined ? orders.slice(-limit) : orders.slice(0, limit)).map(
      queryOrderResponse,
    );
  });
  add('GET', '/api/v3/myTrades', true, ({ params, apiKey }) => {
    const r = readSymbol(params, engine);
    const orderId = params.optionalLong('orderId');
    const fromId = params.optionalLong('fromId');
    const startTime = params.optionalLong('startTime');
    const endTime = params.optionalLong('endTime');
    const limit = readLimit(params);
    const trades = engine
      .trades(apiKey, r.symbol, orderId)
      .filter(
        (t: Trade) =>
          (fromId === undefined || t.id >= fromId) &&
          (startTime === undefined || t.time >= startTime) &&
          (endTime === undefined || t.time <= endTime),
      );
    return (fromId === undefined ? trades.slice(-limit) : trades.slice(0, limit)).map(myTradeResponse);
  });
}

/** The symbols named by `symbol` or `symbols` (a JSON array), or all of them. */
function selectSymbols(params: BinanceParams, engine: PaperEngine): SymbolRules[] {
  const one = params.optional('symbol');
  const many = params.optional('symbols');
  if (one !== undefined && many !== undefined) throw binanceErrors.badParamCombination();
  if (one !== undefined) return [engine.rules(checkSymbolForm(one))];
  if (many === undefined) return engine.allRules();
  let parsed: unknown;
  try {
    parsed = JSON.parse(many);
  } catch {
    throw binanceErrors.invalidParameter('symbols');
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((s) => typeof s === 'string')) {
    throw binanceErrors.invalidParameter('symbols');
  }
  return parsed.map((s) => engine.rules(checkSymbolForm(s)));
}

/** One object for `symbol`, an array for `symbols` or for neither (Binance's ticker endpoints). */
function perSymbol(params: BinanceParams, engine: PaperEngine, map: (r: SymbolRules) => unknown): unknown {
  const selected = selectSymbols(params, engine).map(map);
  return params.has('symbol') ? selected[0] : selected;
}

function ticker24hr(r: SymbolRules, engine: PaperEngine, serverTime: number): Record<string, unknown> {
  const stats = engine.stats(r.symbol);
  const last = engine.price(r.symbol);
  const change = last.sub(stats.openPrice);
  const book = syntheticBook(r, last, 1);
  const weighted = stats.volume.isZero() ? last : stats.quoteVolume.divFloor(stats.volume, 8);
  return {
    symbol: r.symbol,
    priceChange: change.toFixed(),
    priceChangePercent: percent(change, stats.openPrice),
    weightedAvgPrice: weighted.toFixed(),
    prevClosePrice: stats.openPrice.toFixed(),
    lastPrice: last.toFixed(),
    lastQty: stats.lastQty.toFixed(),
    bidPrice: book.bids[0]?.[0] ?? '0.00000000',
    bidQty: book.bids[0]?.[1] ?? '0.00000000',
    askPrice: book.asks[0]?.[0] ?? '0.00000000',
    askQty: book.asks[0]?.[1] ?? '0.00000000',
    openPrice: stats.openPrice.toFixed(),
    highPrice: stats.highPrice.toFixed(),
    lowPrice: stats.lowPrice.toFixed(),
    volume: stats.volume.toFixed(),
    quoteVolume: stats.quoteVolume.toFixed(),
    openTime: serverTime - 86_400_000,
    closeTime: serverTime,
    firstId: stats.firstId,
    lastId: stats.lastId,
    count: stats.count,
  };
}

/**
 * A decorative order book: `levels` bids and asks one tick apart, starting one tick either side of the reference
 * price (fills happen at the reference price itself, the mid). Each level shows 1000 × minQty, capped at maxQty.
 */
function syntheticBook(
  r: SymbolRules,
  price: ExactDecimal,
  levels: number,
): { bids: [string, string][]; asks: [string, string][] } {
  const thousand = r.minQty.mul(ExactDecimal.fromInteger(1000));
  const qty = (thousand.gt(r.maxQty) ? r.maxQty : thousand).toFixed();
  const bids: [string, string][] = [];
  const asks: [string, string][] = [];
  for (let k = 1; k <= levels; k++) {
    const offset = r.tickSize.mul(ExactDecimal.fromInteger(k));
    const bid = price.sub(offset);
    if (bid.isPositive()) bids.push([bid.toFixed(), qty]);
    asks.push([price.add(offset).toFixed(), qty]);
  }
  return { bids, asks };
}

function percent(change: ExactDecimal, base: ExactDecimal): string {
  if (base.isZero()) return '0.000';
  const magnitude = (change.isNegative() ? change.neg() : change)
    .mul(ExactDecimal.fromInteger(100))
    .divFloor(base, 6)
    .roundHalfUp(3);
  return (change.isNegative() && !magnitude.isZero() ? magnitude.neg() : magnitude).toFixed(3);
}

function readLimit(params: BinanceParams): number {
  const limit = params.optionalLong('limit') ?? 500;
  if (limit < 1) throw binanceErrors.invalidParameter('limit');
  return Math.min(limit, 1000);
}

function readBoolean(params: BinanceParams, name: string): boolean {
  const value = params.optional(name);
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw binanceErrors.invalidParameter(name);
}

function orderSnapshot(o: OrderState): PaperOrder {
  return {
    apiKey: o.apiKey,
    orderId: o.orderId,
    clientOrderId: o.clientOrderId,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    timeInForce: o.timeInForce,
    price: o.price.toString(),
    origQty: o.origQty.toString(),
    origQuoteOrderQty: o.origQuoteOrderQty.toString(),
    executedQty: o.executedQty.toString(),
    cummulativeQuoteQty: o.cummulativeQuoteQty.toString(),
    status: o.status,
    time: o.time,
    updateTime: o.updateTime,
    fills: o.fills.map((t) => ({
      tradeId: t.id,
      price: t.price.toString(),
      qty: t.qty.toString(),
      commission: t.commission.toString(),
      commissionAsset: t.commissionAsset,
      isMaker: t.isMaker,
    })),
  };
}

function readBody(req: IncomingMessage, max: number, done: (body: string, tooLarge: boolean) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= max) chunks.push(chunk);
  });
  req.on('end', () => {
    done(size <= max ? Buffer.concat(chunks).toString('utf8') : '', size > max);
  });
  req.on('error', () => {
    req.destroy();
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => {
      if (err === undefined) resolve();
      else reject(err);
    });
    // Keep-alive connections from fetch or ccxt would otherwise hold close() open.
    server.closeAllConnections();
  });
}

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

function positiveDecimal(text: string, what: string): ExactDecimal {
  const value = ExactDecimal.parse(text);
  if (value === undefined || !value.isPositive()) {
    throw invalid(`paper exchange ${what} must be a positive decimal string such as "60000"`);
  }
  return value;
}

function checkEchoMode(mode: EchoKeyMode | undefined): EchoKeyMode | undefined {
  if (mode !== undefined && !(ECHO_KEY_MODES as readonly string[]).includes(mode)) {
    throw invalid(`paper exchange echoKey must be one of ${ECHO_KEY_MODES.join(', ')}`);
  }
  return mode;
}

function invalid(message: string): PaperConfigError {
  return new PaperConfigError(message);
}
