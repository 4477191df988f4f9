/**
 * ccxt's unified structures (orders, balances, tickers, markets, withdrawals) turned into cofre's shapes, with decimal strings.
 *
 * Numbers: ccxt 4 parses every amount and price from the exchange's text with `Precise` string arithmetic and turns
 * the result into a JS number only at the end (`parseNumber`, with `exchange.number = Number`). We turn it back with
 * ccxt's own `numberToString`, which prints the shortest decimal that round-trips the double and never uses an
 * exponent (`1e-8` → `"0.00000001"`). Any decimal of up to 15 significant digits survives this round trip exactly,
 * which covers the prices and quantities venues publish (Binance: at most 8 decimals, and prices below 10^7); a value
 * with more significant digits would come back rounded in its last digit. The alternatives are worse: the raw
 * strings sit only in `info`, whose layout differs per exchange and per endpoint, and `exchange.number = String`
 * changes types under ccxt's exchange-specific code paths, which were written for numbers.
 *
 * Everything here is pure and synchronous. Malformed input throws `COFRE_VENUE_RESPONSE_INVALID`.
 */
import type {
  Balances as CcxtBalances,
  MarketInterface as CcxtMarket,
  Order as CcxtOrder,
  Ticker as CcxtTicker,
  Transaction as CcxtTransaction,
} from 'ccxt';

import { CofreError } from '../errors.js';
import type {
  Balance,
  Decimal,
  MarketRules,
  Order,
  OrderStatus,
  Ticker,
  Withdrawal,
} from './venue-account.js';

/** How numbers from one ccxt exchange are printed and what its market precision means. */
export interface NumberFormat {
  /** ccxt's `numberToString` (no exponent notation). */
  readonly numberToString: (value: number) => string;
  /** The exchange's `precisionMode`. */
  readonly precisionMode: number;
  /** ccxt's precision-mode constants (`functions.DECIMAL_PLACES`, ...). */
  readonly modes: {
    readonly DECIMAL_PLACES: number;
    readonly SIGNIFICANT_DIGITS: number;
    readonly TICK_SIZE: number;
  };
}

const DECIMAL_TEXT = /^-?\d+(\.\d+)?$/;

/** A ccxt number (or numeric string) as a decimal string; undefined when absent or not finite. */
export function toDecimal(value: unknown, format: NumberFormat): Decimal | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    return format.numberToString(value === 0 ? 0 : value); // no "-0"
  }
  if (typeof value === 'string' && DECIMAL_TEXT.test(value)) return value;
  return undefined;
}

/**
 * A ccxt order as cofre's {@link Order}. `clientOrderId` falls back to `knownClientOrderId` when the venue's answer
 * does not carry one (the caller knows it: it sent it or looked the order up by it).
 */
export function toOrder(order: CcxtOrder, format: NumberFormat, knownClientOrderId?: string): Order {
  const id = typeof order.id === 'string' && order.id !== '' ? order.id : undefined;
  if (id === undefined) throw invalidResponse('an order without an id');
  const symbol = order.symbol;
  if (typeof symbol !== 'string' || symbol === '') throw invalidResponse(`order ${id} without a symbol`);
  const side = order.side;
  if (side !== 'buy' && side !== 'sell') throw invalidResponse(`order ${id} with an unknown side`);
  const amount = toDecimal(order.amount, format);
  const filled = toDecimal(order.filled, format);
  if (amount === undefined || filled === undefined) {
    throw invalidResponse(`order ${id} without an amount or filled amount`);
  }
  const clientOrderId =
    typeof order.clientOrderId === 'string' && order.clientOrderId !== ''
      ? order.clientOrderId
      : knownClientOrderId;
  return {
    id,
    clientOrderId,
    symbol,
    side,
    type: order.type === 'market' || order.type === 'limit' ? order.type : 'other',
    status: toOrderStatus(order.status, id),
    amount,
    filled,
    price: positive(toDecimal(order.price, format)),
    average: positive(toDecimal(order.average, format)),
    timestamp: isoTime(order.timestamp),
  };
}

/** A ccxt balance as cofre's {@link Balance}: per asset, zero balances left out. */
export function toBalance(balances: CcxtBalances, format: NumberFormat): Balance {
  const totals = (balances as { total?: unknown }).total;
  const codes = typeof totals === 'object' && totals !== null ? Object.keys(totals) : [];
  const assets: [string, { free: Decimal; used: Decimal; total: Decimal }][] = [];
  for (const code of codes) {
    const entry = balances[code];
    if (entry === undefined) continue;
    const free = toDecimal(entry.free, format) ?? '0';
    const used = toDecimal(entry.used, format) ?? '0';
    const total = toDecimal(entry.total, format) ?? '0';
    if (isZero(free) && isZero(used) && isZero(total)) continue;
    assets.push([code, { free, used, total }]);
  }
  return { assets: Object.fromEntries(assets) };
}

/** A ccxt ticker as cofre's {@link Ticker}. */
export function toTicker(ticker: CcxtTicker, symbol: string, format: NumberFormat): Ticker {
  return {
    symbol: typeof ticker.symbol === 'string' && ticker.symbol !== '' ? ticker.symbol : symbol,
    bid: toDecimal(ticker.bid, format),
    ask: toDecimal(ticker.ask, format),
    last: toDecimal(ticker.last, format),
    timestamp: isoTime(ticker.timestamp),
  };
}

/**
 * A ccxt market as cofre's {@link MarketRules}. ccxt's `precision` means a tick size (`TICK_SIZE` exchanges such as
 * binance), a number of decimal places (`DECIMAL_PLACES`), or significant digits (`SIGNIFICANT_DIGITS`, which has
 * no fixed step and is reported as undefined).
 */
export function toMarketRules(market: CcxtMarket, format: NumberFormat): MarketRules {
  return {
    symbol: market.symbol,
    base: market.base,
    quote: market.quote,
    priceStep: step(market.precision.price, format),
    amountStep: step(market.precision.amount, format),
    minAmount: positive(toDecimal(market.limits.amount?.min, format)),
    maxAmount: positive(toDecimal(market.limits.amount?.max, format)),
    minNotional: positive(toDecimal(market.limits.cost?.min, format)),
  };
}

function step(precision: unknown, format: NumberFormat): Decimal | undefined {
  if (typeof precision !== 'number' || !Number.isFinite(precision)) return undefined;
  if (format.precisionMode === format.modes.TICK_SIZE) return positive(toDecimal(precision, format));
  if (format.precisionMode === format.modes.DECIMAL_PLACES && Number.isInteger(precision)) {
    if (precision > 0) return `0.${'0'.repeat(precision - 1)}1`;
    return `1${'0'.repeat(-precision)}`;
  }
  return undefined;
}

function toOrderStatus(status: unknown, id: string): OrderStatus {
  switch (status) {
    case 'open':
    case 'closed':
    case 'canceled':
    case 'expired':
    case 'rejected':
      return status;
    case 'canceling':
      // A cancel the venue has not confirmed yet (Binance PENDING_CANCEL): the order may still fill, so it is open.
      return 'open';
    default:
      throw invalidResponse(`order ${id} with an unknown status`);
  }
}

function positive(value: Decimal | undefined): Decimal | undefined {
  return value === undefined || isZero(value) || value.startsWith('-') ? undefined : value;
}

function isZero(value: Decimal): boolean {
  return /^-?0+(\.0+)?$/.test(value);
}

function isoTime(ms: unknown): string | undefined {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) return undefined;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function invalidResponse(what: string): CofreError {
  return new CofreError('COFRE_VENUE_RESPONSE_INVALID', `the venue answered with ${what}`);
}

/**
 * A withdrawal from the venue's history as cofre's {@link Withdrawal}. The transaction's address and tag are never
 * read.
 */
export function toWithdrawalRecord(transaction: CcxtTransaction, format: NumberFormat): Withdrawal {
  const id = transaction.id;
  if (typeof id !== 'string' || id === '') throw invalidResponse('a withdrawal without an id');
  const amount = toDecimal(transaction.amount, format);
  const asset = transaction.currency;
  if (amount === undefined || typeof asset !== 'string' || asset === '') {
    throw invalidResponse(`withdrawal ${id} without an asset or amount`);
  }
  return toWithdrawal(transaction, {
    asset,
    amount,
    network:
      typeof transaction.network === 'string' && transaction.network !== '' ? transaction.network : undefined,
  });
}

/**
 * A ccxt transaction for a withdrawal cofre just asked for, as its {@link Withdrawal}. Only the id, the status and
 * the time are taken from the venue's answer (binance's answer is `{ id }` alone); the rest is what was sent. The
 * answer's address and tag are never read.
 */
export function toWithdrawal(
  transaction: CcxtTransaction,
  sent: { readonly asset: string; readonly amount: Decimal; readonly network: string | undefined },
): Withdrawal {
  const id = transaction.id;
  if (typeof id !== 'string' || id === '') throw invalidResponse('a withdrawal without an id');
  const status = transaction.status;
  return {
    id,
    asset: sent.asset,
    amount: sent.amount,
    network: sent.network,
    status: status === 'ok' || status === 'failed' || status === 'canceled' ? status : 'pending',
    timestamp: isoTime(transaction.timestamp),
  };
}
