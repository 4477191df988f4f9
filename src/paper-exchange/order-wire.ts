/**
 * The JSON shapes Binance answers order endpoints with (rest-api.md: "New order" ACK / RESULT / FULL, "Query order",
 * "Cancel order", "Current open orders", "Account trade list"). Amounts are strings with at least 8 decimals, as
 * Binance prints them.
 */
import type { OrderResponseType } from './order-params.js';
import type { OrderState, Trade } from './paper-engine.js';

/** Response of `POST /api/v3/order` in the requested `newOrderRespType`. */
export function newOrderResponse(order: OrderState, type: OrderResponseType): Record<string, unknown> {
  const ack = {
    symbol: order.symbol,
    orderId: order.orderId,
    orderListId: -1,
    clientOrderId: order.clientOrderId,
    transactTime: order.time,
  };
  if (type === 'ACK') return ack;
  const result = {
    ...ack,
    price: order.price.toFixed(),
    origQty: order.origQty.toFixed(),
    executedQty: order.executedQty.toFixed(),
    origQuoteOrderQty: order.origQuoteOrderQty.toFixed(),
    cummulativeQuoteQty: order.cummulativeQuoteQty.toFixed(),
    status: order.status,
    timeInForce: order.timeInForce,
    type: order.type,
    side: order.side,
    workingTime: order.time,
    selfTradePreventionMode: 'NONE',
  };
  if (type === 'RESULT') return result;
  return { ...result, fills: order.fills.map(fillWire) };
}

/** One order as `GET /api/v3/order` and `GET /api/v3/openOrders` return it. */
export function queryOrderResponse(order: OrderState): Record<string, unknown> {
  return {
    symbol: order.symbol,
    orderId: order.orderId,
    orderListId: -1,
    clientOrderId: order.clientOrderId,
    price: order.price.toFixed(),
    origQty: order.origQty.toFixed(),
    executedQty: order.executedQty.toFixed(),
    cummulativeQuoteQty: order.cummulativeQuoteQty.toFixed(),
    status: order.status,
    timeInForce: order.timeInForce,
    type: order.type,
    side: order.side,
    stopPrice: '0.00000000',
    icebergQty: '0.00000000',
    time: order.time,
    updateTime: order.updateTime,
    isWorking: true,
    workingTime: order.time,
    origQuoteOrderQty: order.origQuoteOrderQty.toFixed(),
    selfTradePreventionMode: 'NONE',
  };
}

/** Response of `DELETE /api/v3/order` (and each element of `DELETE /api/v3/openOrders`). */
export function cancelOrderResponse(order: OrderState, cancelClientOrderId: string): Record<string, unknown> {
  return {
    symbol: order.symbol,
    origClientOrderId: order.clientOrderId,
    orderId: order.orderId,
    orderListId: -1,
    clientOrderId: cancelClientOrderId,
    transactTime: order.updateTime,
    price: order.price.toFixed(),
    origQty: order.origQty.toFixed(),
    executedQty: order.executedQty.toFixed(),
    origQuoteOrderQty: order.origQuoteOrderQty.toFixed(),
    cummulativeQuoteQty: order.cummulativeQuoteQty.toFixed(),
    status: order.status,
    timeInForce: order.timeInForce,
    type: order.type,
    side: order.side,
    selfTradePreventionMode: 'NONE',
  };
}

/** One element of `GET /api/v3/myTrades`. */
export function myTradeResponse(trade: Trade): Record<string, unknown> {
  return {
    symbol: trade.symbol,
    id: trade.id,
    orderId: trade.orderId,
    orderListId: -1,
    price: trade.price.toFixed(),
    qty: trade.qty.toFixed(),
    quoteQty: trade.quoteQty.toFixed(),
    commission: trade.commission.toFixed(),
    commissionAsset: trade.commissionAsset,
    time: trade.time,
    isBuyer: trade.isBuyer,
    isMaker: trade.isMaker,
    isBestMatch: true,
  };
}

function fillWire(trade: Trade): Record<string, unknown> {
  return {
    price: trade.price.toFixed(),
    qty: trade.qty.toFixed(),
    commission: trade.commission.toFixed(),
    commissionAsset: trade.commissionAsset,
    tradeId: trade.id,
  };
}
