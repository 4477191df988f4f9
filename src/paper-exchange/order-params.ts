/**
 * Reads the parameters of Binance's order endpoints (`POST /api/v3/order`, `POST /api/v3/order/test`,
 * `GET /api/v3/order`, `DELETE /api/v3/order`) into typed requests, raising the errors Binance raises for each
 * missing, malformed or superfluous parameter ("New order (TRADE)" in rest-api.md; errors.md).
 */
import { binanceErrors, CLIENT_ORDER_ID_RANGE, SYMBOL_RANGE } from './binance-error.js';
import type { BinanceParams } from './binance-params.js';
import type { ExactDecimal } from './exact-decimal.js';
import type { NewOrder, OrderRef, OrderSide, OrderType, PaperEngine, TimeInForce } from './paper-engine.js';
import type { SymbolRules } from './paper-symbol.js';

/** `newOrderRespType`. */
export type OrderResponseType = 'ACK' | 'RESULT' | 'FULL';

const SIDES: readonly OrderSide[] = ['BUY', 'SELL'];
const TYPES: readonly OrderType[] = ['LIMIT', 'LIMIT_MAKER', 'MARKET'];
const TIME_IN_FORCE: readonly TimeInForce[] = ['GTC', 'IOC', 'FOK'];
const RESPONSE_TYPES: readonly OrderResponseType[] = ['ACK', 'RESULT', 'FULL'];
const CLIENT_ORDER_ID = /^[.A-Z:/a-z0-9_-]{1,36}$/;
const SYMBOL = /^[A-Z0-9-_.]{1,20}$/;

/** The `symbol` parameter, checked for form (-1100) and existence (-1121). */
export function readSymbol(params: BinanceParams, engine: PaperEngine): SymbolRules {
  return engine.rules(checkSymbolForm(params.required('symbol')));
}

/** An optional `symbol`, checked like {@link readSymbol}. */
export function readOptionalSymbol(params: BinanceParams, engine: PaperEngine): SymbolRules | undefined {
  const symbol = params.optional('symbol');
  return symbol === undefined ? undefined : engine.rules(checkSymbolForm(symbol));
}

/** A symbol given by the caller in any form: -1100 when it is not of Binance's symbol form. */
export function checkSymbolForm(symbol: string): string {
  if (!SYMBOL.test(symbol)) throw binanceErrors.illegalChars('symbol', SYMBOL_RANGE);
  return symbol;
}

/** Parameters of a new order, validated up to (not including) filters and balances, which the engine checks. */
export function readNewOrder(
  params: BinanceParams,
  engine: PaperEngine,
): { order: NewOrder; responseType: OrderResponseType } {
  const rules = readSymbol(params, engine);
  const side = oneOf(params.required('side'), SIDES, binanceErrors.invalidSide);
  const type = oneOf(params.required('type'), TYPES, binanceErrors.invalidOrderType);

  let timeInForce: TimeInForce | undefined;
  let quantity: ExactDecimal | undefined;
  let quoteOrderQty: ExactDecimal | undefined;
  let price: ExactDecimal | undefined;
  if (type === 'LIMIT') {
    timeInForce = oneOf(params.required('timeInForce'), TIME_IN_FORCE, binanceErrors.invalidTimeInForce);
    quantity = params.requiredDecimal('quantity');
    price = params.requiredDecimal('price');
    if (params.has('quoteOrderQty')) throw binanceErrors.notRequired('quoteOrderQty');
  } else if (type === 'LIMIT_MAKER') {
    if (params.has('timeInForce')) throw binanceErrors.notRequired('timeInForce');
    quantity = params.requiredDecimal('quantity');
    price = params.requiredDecimal('price');
    if (params.has('quoteOrderQty')) throw binanceErrors.notRequired('quoteOrderQty');
  } else {
    if (params.has('timeInForce')) throw binanceErrors.notRequired('timeInForce');
    if (params.has('price')) throw binanceErrors.notRequired('price');
    quantity = params.optionalDecimal('quantity');
    quoteOrderQty = params.optionalDecimal('quoteOrderQty');
    if (quantity === undefined && quoteOrderQty === undefined) {
      throw binanceErrors.mandatoryEither('quantity', 'quoteOrderQty');
    }
    if (quantity !== undefined && quoteOrderQty !== undefined)
      throw binanceErrors.notRequired('quoteOrderQty');
  }
  if (quantity !== undefined && quantity.significantScale() > rules.baseAssetPrecision) {
    throw binanceErrors.tooMuchPrecision('quantity');
  }
  if (price !== undefined && price.significantScale() > rules.quoteAssetPrecision) {
    throw binanceErrors.tooMuchPrecision('price');
  }
  if (quoteOrderQty !== undefined && quoteOrderQty.significantScale() > rules.quoteAssetPrecision) {
    throw binanceErrors.tooMuchPrecision('quoteOrderQty');
  }

  const clientOrderId = params.optional('newClientOrderId');
  if (clientOrderId !== undefined && !CLIENT_ORDER_ID.test(clientOrderId)) {
    throw binanceErrors.illegalChars('newClientOrderId', CLIENT_ORDER_ID_RANGE);
  }
  const respText = params.optional('newOrderRespType');
  // MARKET and LIMIT default to FULL, all other types to ACK (rest-api.md, New order).
  const responseType =
    respText === undefined
      ? type === 'LIMIT_MAKER'
        ? 'ACK'
        : 'FULL'
      : oneOf(respText, RESPONSE_TYPES, () => binanceErrors.invalidParameter('newOrderRespType'));

  const order: NewOrder = {
    symbol: rules.symbol,
    side,
    type,
    ...(timeInForce === undefined ? {} : { timeInForce }),
    ...(quantity === undefined ? {} : { quantity }),
    ...(quoteOrderQty === undefined ? {} : { quoteOrderQty }),
    ...(price === undefined ? {} : { price }),
    ...(clientOrderId === undefined ? {} : { clientOrderId }),
  };
  return { order, responseType };
}

/** `orderId` or `origClientOrderId`; -1102 when neither is sent. */
export function readOrderRef(params: BinanceParams): OrderRef {
  const orderId = params.optionalLong('orderId');
  const clientOrderId = params.optional('origClientOrderId');
  if (orderId !== undefined) return { orderId };
  if (clientOrderId !== undefined) return { clientOrderId };
  throw binanceErrors.mandatoryEither('origClientOrderId', 'orderId');
}

/** `newClientOrderId` of a cancel, checked for form. */
export function readCancelClientOrderId(params: BinanceParams): string | undefined {
  const id = params.optional('newClientOrderId');
  if (id !== undefined && !CLIENT_ORDER_ID.test(id)) {
    throw binanceErrors.illegalChars('newClientOrderId', CLIENT_ORDER_ID_RANGE);
  }
  return id;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], error: () => Error): T {
  const found = allowed.find((candidate) => candidate === value);
  if (found === undefined) throw error();
  return found;
}
