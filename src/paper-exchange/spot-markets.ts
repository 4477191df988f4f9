import type { PaperSymbol } from './paper-symbol.js';

/**
 * BTC/USDT with Binance's usual spot filters (tick 0.01, step 0.00001, minimum value 5 USDT): the market `cofre demo`,
 * the tests and the benchmarks trade on, so they all exercise the same rules.
 */
export const BTCUSDT: PaperSymbol = Object.freeze({
  symbol: 'BTCUSDT',
  baseAsset: 'BTC',
  quoteAsset: 'USDT',
  tickSize: '0.01',
  stepSize: '0.00001',
  minQty: '0.00001',
  maxQty: '9000',
  minNotional: '5',
});

/** ETH/USDT with the same kind of filters (step 0.0001). */
export const ETHUSDT: PaperSymbol = Object.freeze({
  symbol: 'ETHUSDT',
  baseAsset: 'ETH',
  quoteAsset: 'USDT',
  tickSize: '0.01',
  stepSize: '0.0001',
  minQty: '0.0001',
  maxQty: '9000',
  minNotional: '5',
});
