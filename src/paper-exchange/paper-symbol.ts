/**
 * A trading pair of the paper exchange: its configuration, its Binance filters (PRICE_FILTER, LOT_SIZE and
 * NOTIONAL or MIN_NOTIONAL), and its entry in `GET /api/v3/exchangeInfo`.
 *
 * Filter rules follow Binance's "Filters" document (filters.md, binance/binance-spot-api-docs):
 * - PRICE_FILTER: `price >= minPrice` and `price <= maxPrice` (each check off when that bound is 0) and
 *   `(price - minPrice) % tickSize == 0` (off when tickSize is 0);
 * - LOT_SIZE: `quantity >= minQty`, `quantity <= maxQty`, `(quantity - minQty) % stepSize == 0`;
 * - NOTIONAL: `price * quantity >= minNotional` (and `<= maxNotional`); MIN_NOTIONAL: the lower bound only.
 *   Both apply to MARKET orders here (`applyMinToMarket` / `applyToMarket` true), at the current price.
 */
import { binanceErrors, SYMBOL_RANGE } from './binance-error.js';
import { ExactDecimal } from './exact-decimal.js';
import { PaperConfigError } from './paper-config-error.js';

/** One trading pair, as given to `startPaperExchange`. Decimal fields are strings such as `"0.01"`. */
export interface PaperSymbol {
  /** Binance symbol id, e.g. `BTCUSDT`. */
  readonly symbol: string;
  readonly baseAsset: string;
  readonly quoteAsset: string;
  /** PRICE_FILTER `tickSize`. */
  readonly tickSize: string;
  /** PRICE_FILTER `minPrice`; default: the tick size. */
  readonly minPrice?: string;
  /** PRICE_FILTER `maxPrice`; default `"1000000"`. */
  readonly maxPrice?: string;
  /** LOT_SIZE `stepSize`. */
  readonly stepSize: string;
  /** LOT_SIZE `minQty`. */
  readonly minQty: string;
  /** LOT_SIZE `maxQty`. */
  readonly maxQty: string;
  /** Minimum `price * quantity`. */
  readonly minNotional: string;
  /** NOTIONAL `maxNotional`; default `"9000000"`. Ignored with `MIN_NOTIONAL`. */
  readonly maxNotional?: string;
  /** Which notional filter the symbol carries; default `NOTIONAL` (Binance's current one). */
  readonly notionalFilter?: 'NOTIONAL' | 'MIN_NOTIONAL';
  /** Decimal places of the base asset (`baseAssetPrecision`); default 8. */
  readonly baseAssetPrecision?: number;
  /** Decimal places of the quote asset (`quoteAssetPrecision`); default 8. */
  readonly quoteAssetPrecision?: number;
  /** Symbol status; a symbol not `TRADING` rejects new orders with "Market is closed.". Default `TRADING`. */
  readonly status?: 'TRADING' | 'HALT' | 'BREAK';
}

/** A validated {@link PaperSymbol} with exact numbers. */
export interface SymbolRules {
  readonly symbol: string;
  readonly baseAsset: string;
  readonly quoteAsset: string;
  readonly status: 'TRADING' | 'HALT' | 'BREAK';
  readonly tickSize: ExactDecimal;
  readonly minPrice: ExactDecimal;
  readonly maxPrice: ExactDecimal;
  readonly stepSize: ExactDecimal;
  readonly minQty: ExactDecimal;
  readonly maxQty: ExactDecimal;
  readonly minNotional: ExactDecimal;
  readonly maxNotional: ExactDecimal;
  readonly notionalFilter: 'NOTIONAL' | 'MIN_NOTIONAL';
  readonly baseAssetPrecision: number;
  readonly quoteAssetPrecision: number;
}

/** Order types the paper exchange executes; listed as the symbol's `orderTypes`. */
export const PAPER_ORDER_TYPES = ['LIMIT', 'LIMIT_MAKER', 'MARKET'] as const;

/** Validates a symbol's configuration; throws `COFRE_INPUT_INVALID` naming the field. */
export function symbolRules(config: PaperSymbol): SymbolRules {
  const where = `paper exchange symbol ${JSON.stringify(config.symbol)}`;
  if (!new RegExp(SYMBOL_RANGE).test(config.symbol)) {
    throw invalid(`${where}: symbol must match ${SYMBOL_RANGE}`);
  }
  for (const [field, asset] of [
    ['baseAsset', config.baseAsset],
    ['quoteAsset', config.quoteAsset],
  ] as const) {
    if (!/^[A-Z0-9]{1,20}$/.test(asset)) throw invalid(`${where}: ${field} must be 1-20 of A-Z, 0-9`);
  }
  if (config.baseAsset === config.quoteAsset)
    throw invalid(`${where}: baseAsset and quoteAsset are the same`);
  const decimal = (field: string, text: string | undefined, fallback: string): ExactDecimal => {
    const value = ExactDecimal.parse(text ?? fallback);
    if (value === undefined)
      throw invalid(`${where}: ${field} must be a plain decimal string such as "0.01"`);
    return value;
  };
  const precision = (field: string, value: number | undefined): number => {
    const result = value ?? 8;
    if (!Number.isInteger(result) || result < 0 || result > 18) {
      throw invalid(`${where}: ${field} must be an integer from 0 to 18`);
    }
    return result;
  };
  const tickSize = decimal('tickSize', config.tickSize, '');
  const rules: SymbolRules = {
    symbol: config.symbol,
    baseAsset: config.baseAsset,
    quoteAsset: config.quoteAsset,
    status: config.status ?? 'TRADING',
    tickSize,
    minPrice: decimal('minPrice', config.minPrice, tickSize.toString()),
    maxPrice: decimal('maxPrice', config.maxPrice, '1000000'),
    stepSize: decimal('stepSize', config.stepSize, ''),
    minQty: decimal('minQty', config.minQty, ''),
    maxQty: decimal('maxQty', config.maxQty, ''),
    minNotional: decimal('minNotional', config.minNotional, ''),
    maxNotional: decimal('maxNotional', config.maxNotional, '9000000'),
    notionalFilter: config.notionalFilter ?? 'NOTIONAL',
    baseAssetPrecision: precision('baseAssetPrecision', config.baseAssetPrecision),
    quoteAssetPrecision: precision('quoteAssetPrecision', config.quoteAssetPrecision),
  };
  if (!rules.tickSize.isPositive()) throw invalid(`${where}: tickSize must be positive`);
  if (!rules.stepSize.isPositive()) throw invalid(`${where}: stepSize must be positive`);
  if (rules.maxQty.lt(rules.minQty)) throw invalid(`${where}: maxQty is below minQty`);
  if (rules.maxPrice.isPositive() && rules.maxPrice.lt(rules.minPrice)) {
    throw invalid(`${where}: maxPrice is below minPrice`);
  }
  return rules;
}

/** PRICE_FILTER; throws -1013 "Filter failure: PRICE_FILTER". */
export function checkPriceFilter(rules: SymbolRules, price: ExactDecimal): void {
  const tooLow = rules.minPrice.isPositive() ? price.lt(rules.minPrice) : !price.isPositive();
  const tooHigh = rules.maxPrice.isPositive() && price.gt(rules.maxPrice);
  const offTick = !price.sub(rules.minPrice).isMultipleOf(rules.tickSize);
  if (tooLow || tooHigh || offTick) throw binanceErrors.filterFailure('PRICE_FILTER');
}

/** LOT_SIZE; throws -1013 "Filter failure: LOT_SIZE". */
export function checkLotSize(rules: SymbolRules, quantity: ExactDecimal): void {
  const offStep = !quantity.sub(rules.minQty).isMultipleOf(rules.stepSize);
  if (quantity.lt(rules.minQty) || quantity.gt(rules.maxQty) || offStep || !quantity.isPositive()) {
    throw binanceErrors.filterFailure('LOT_SIZE');
  }
}

/** NOTIONAL or MIN_NOTIONAL; throws -1013 "Filter failure: NOTIONAL" (or MIN_NOTIONAL). */
export function checkNotional(rules: SymbolRules, notional: ExactDecimal): void {
  const tooLow = notional.lt(rules.minNotional);
  const tooHigh = rules.notionalFilter === 'NOTIONAL' && notional.gt(rules.maxNotional);
  if (tooLow || tooHigh) throw binanceErrors.filterFailure(rules.notionalFilter);
}

/**
 * The symbol's entry in `GET /api/v3/exchangeInfo`, with the fields of Binance's current response (including the
 * ones ccxt's `binance.parseMarket` reads: `symbol`, `status`, `baseAsset`, `quoteAsset`, the precisions,
 * `permissions`, `isMarginTradingAllowed` and `filters`).
 */
export function exchangeInfoSymbol(rules: SymbolRules): Record<string, unknown> {
  const notional =
    rules.notionalFilter === 'NOTIONAL'
      ? {
          filterType: 'NOTIONAL',
          minNotional: rules.minNotional.toFixed(),
          applyMinToMarket: true,
          maxNotional: rules.maxNotional.toFixed(),
          applyMaxToMarket: false,
          avgPriceMins: 5,
        }
      : {
          filterType: 'MIN_NOTIONAL',
          minNotional: rules.minNotional.toFixed(),
          applyToMarket: true,
          avgPriceMins: 5,
        };
  return {
    symbol: rules.symbol,
    status: rules.status,
    baseAsset: rules.baseAsset,
    baseAssetPrecision: rules.baseAssetPrecision,
    quoteAsset: rules.quoteAsset,
    quotePrecision: rules.quoteAssetPrecision,
    quoteAssetPrecision: rules.quoteAssetPrecision,
    baseCommissionPrecision: rules.baseAssetPrecision,
    quoteCommissionPrecision: rules.quoteAssetPrecision,
    orderTypes: [...PAPER_ORDER_TYPES],
    icebergAllowed: false,
    ocoAllowed: false,
    otoAllowed: false,
    quoteOrderQtyMarketAllowed: true,
    allowTrailingStop: false,
    cancelReplaceAllowed: false,
    amendAllowed: false,
    pegInstructionsAllowed: false,
    isSpotTradingAllowed: true,
    isMarginTradingAllowed: false,
    filters: [
      {
        filterType: 'PRICE_FILTER',
        minPrice: rules.minPrice.toFixed(),
        maxPrice: rules.maxPrice.toFixed(),
        tickSize: rules.tickSize.toFixed(),
      },
      {
        filterType: 'LOT_SIZE',
        minQty: rules.minQty.toFixed(),
        maxQty: rules.maxQty.toFixed(),
        stepSize: rules.stepSize.toFixed(),
      },
      notional,
    ],
    // Binance moved permissions into permissionSets in 2024 and sends an empty `permissions` list.
    permissions: [],
    permissionSets: [['SPOT']],
    defaultSelfTradePreventionMode: 'NONE',
    allowedSelfTradePreventionModes: ['NONE'],
  };
}

function invalid(message: string): PaperConfigError {
  return new PaperConfigError(message);
}
