import { CofreError } from '../errors.js';
import { compareDecimal, floorToStep, multiplyDecimal, normalizeDecimal } from './decimal.js';
import type { Decimal, MarketRules, OrderSide, OrderType } from './venue-account.js';

/** An order as an agent asked for it, validated but not yet fitted to the market. */
export interface OrderIntent {
  readonly symbol: string;
  readonly side: OrderSide;
  readonly type: OrderType;
  readonly amount: Decimal;
  readonly price: Decimal | undefined;
}

/** The order fitted to the market's steps, with its estimated value in the quote asset. */
export interface NormalizedOrder extends OrderIntent {
  readonly quote: string;
  /** amount × (limit price, or the reference price for a market order). */
  readonly notional: Decimal;
}

/**
 * Fits an order to the market: amount and price rounded *down* to the market's steps (never more than asked),
 * then checked against minimum/maximum amount and minimum notional. `referencePrice` (the last trade) estimates a
 * market order's value. Pure. Throws `COFRE_INPUT_INVALID` with the rule that failed.
 */
export function normalizeOrder(
  rules: MarketRules,
  intent: OrderIntent,
  referencePrice: Decimal,
): NormalizedOrder {
  const amount =
    rules.amountStep === undefined
      ? normalizeDecimal(intent.amount)
      : floorToStep(intent.amount, rules.amountStep);
  const price =
    intent.price === undefined
      ? undefined
      : rules.priceStep === undefined
        ? normalizeDecimal(intent.price)
        : floorToStep(intent.price, rules.priceStep);
  const reject = (why: string): never => {
    throw new CofreError('COFRE_INPUT_INVALID', `order for ${rules.symbol} rejected before sending: ${why}`);
  };
  if (compareDecimal(amount, '0') <= 0) reject(`amount rounds down to 0 at step ${rules.amountStep ?? '?'}`);
  if (price !== undefined && compareDecimal(price, '0') <= 0)
    reject(`price rounds down to 0 at step ${rules.priceStep ?? '?'}`);
  if (rules.minAmount !== undefined && compareDecimal(amount, rules.minAmount) < 0) {
    reject(`amount ${amount} is below the minimum ${rules.minAmount}`);
  }
  if (rules.maxAmount !== undefined && compareDecimal(amount, rules.maxAmount) > 0) {
    reject(`amount ${amount} is above the maximum ${rules.maxAmount}`);
  }
  const notional = multiplyDecimal(amount, price ?? referencePrice);
  if (rules.minNotional !== undefined && compareDecimal(notional, rules.minNotional) < 0) {
    reject(`value ${notional} ${rules.quote} is below the minimum ${rules.minNotional}`);
  }
  return {
    symbol: rules.symbol,
    side: intent.side,
    type: intent.type,
    amount,
    price,
    quote: rules.quote,
    notional,
  };
}
