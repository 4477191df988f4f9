import { describe, expect, it } from 'vitest';

import { compileSymbolGlob } from './glob.js';

describe('compileSymbolGlob', () => {
  it('matches exact symbols only as written', () => {
    const exact = compileSymbolGlob('BTC/USDT');
    expect(exact('BTC/USDT')).toBe(true);
    expect(exact('BTC/USDTX')).toBe(false);
    expect(exact('btc/usdt')).toBe(false);
  });

  it('lets * and ? match within one side of the slash only', () => {
    const base = compileSymbolGlob('ETH/*');
    expect(base('ETH/USDT')).toBe(true);
    expect(base('ETH/')).toBe(true);
    expect(base('ETHW/USDT')).toBe(false);
    expect(base('ETH/USDT/X')).toBe(false);
    const quote = compileSymbolGlob('*/BUSD');
    expect(quote('DOGE/BUSD')).toBe(true);
    expect(quote('A/B/BUSD')).toBe(false);
    const one = compileSymbolGlob('BTC/USD?');
    expect(one('BTC/USDT')).toBe(true);
    expect(one('BTC/USDC')).toBe(true);
    expect(one('BTC/USD')).toBe(false);
  });

  it('treats regex characters in a symbol literally, and a lone * as every symbol', () => {
    expect(compileSymbolGlob('1.5/*')('125/X')).toBe(false);
    expect(compileSymbolGlob('*')('ANY/THING')).toBe(true);
  });
});
