/**
 * A limit buy on the `paper` account well under the market every test's paper exchange quotes (BTC/USDT at 60,000),
 * so it rests on the book; within the 5% band of no policy, so it is for tests that do not judge the price.
 */
export const RESTING_BUY = {
  account: 'paper',
  symbol: 'BTC/USDT',
  side: 'buy',
  type: 'limit',
  amount: '0.001',
  price: '50000',
} as const;

/**
 * A limit buy on `paper` at the price every test's paper exchange quotes (BTC/USDT at 60,000): it fills at once, and
 * its notional is `amount` × 60,000 (0.005 BTC is 300 USDT), for tests that judge orders against caps and limits.
 */
export function buyAtMarket(amount: string, clientOrderId: string) {
  return {
    account: 'paper',
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'limit',
    price: '60000',
    amount,
    clientOrderId,
  } as const;
}
