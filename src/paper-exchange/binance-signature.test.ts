import { describe, expect, it } from 'vitest';

import { binanceSignature, signedPayload, verifyBinanceSignature } from './binance-signature.js';
import { WORKED_EXAMPLE as EX } from './testdata/binance-worked-example.js';

describe("Binance's published worked example (SIGNED Endpoint Examples for POST /api/v3/order)", () => {
  it('Example 1, as a request body: signs to the published hex', () => {
    const payload = signedPayload('', `${EX.params}&signature=${EX.signature}`);
    expect(payload.totalParams).toBe(EX.params);
    expect(payload.signature).toBe(EX.signature);
    expect(binanceSignature(EX.secretKey, payload.totalParams)).toBe(EX.signature);
    expect(verifyBinanceSignature(EX.secretKey, payload.totalParams, EX.signature)).toBe(true);
  });

  it('Example 2, as a query string: signs to the same published hex', () => {
    const payload = signedPayload(`${EX.params}&signature=${EX.signature}`, '');
    expect(payload.totalParams).toBe(EX.params);
    expect(binanceSignature(EX.secretKey, payload.totalParams)).toBe(EX.signature);
  });

  it('Example 3, mixed: query string and body concatenated with no "&" between them', () => {
    const payload = signedPayload(EX.mixedQuery, `${EX.mixedBody}&signature=${EX.mixedSignature}`);
    expect(payload.totalParams).toBe(
      'symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTCquantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559',
    );
    expect(binanceSignature(EX.secretKey, payload.totalParams)).toBe(EX.mixedSignature);
    // Not the same as Examples 1 and 2: the missing "&" changes the signed text.
    expect(EX.mixedSignature).not.toBe(EX.signature);
  });

  it('accepts a Buffer secret like a string secret', () => {
    expect(binanceSignature(Buffer.from(EX.secretKey, 'utf8'), EX.params)).toBe(EX.signature);
  });
});

describe('verifyBinanceSignature', () => {
  it('is not case sensitive, as the docs say', () => {
    expect(verifyBinanceSignature(EX.secretKey, EX.params, EX.signature.toUpperCase())).toBe(true);
  });

  it('rejects a signature with one character changed, a truncated one, and the wrong secret', () => {
    const flipped = `${EX.signature.slice(0, -1)}${EX.signature.endsWith('1') ? '2' : '1'}`;
    expect(verifyBinanceSignature(EX.secretKey, EX.params, flipped)).toBe(false);
    expect(verifyBinanceSignature(EX.secretKey, EX.params, EX.signature.slice(0, 63))).toBe(false);
    expect(verifyBinanceSignature(`${EX.secretKey}x`, EX.params, EX.signature)).toBe(false);
    expect(verifyBinanceSignature(EX.secretKey, EX.params, '')).toBe(false);
  });

  it('rejects a signature of different parameters (one character of the payload changed)', () => {
    expect(
      verifyBinanceSignature(EX.secretKey, EX.params.replace('price=0.1', 'price=0.2'), EX.signature),
    ).toBe(false);
  });
});

describe('signedPayload', () => {
  it('removes the signature wherever it stands and reports duplicates', () => {
    expect(signedPayload('a=1&signature=ff&b=2', '')).toEqual({
      totalParams: 'a=1&b=2',
      signature: 'ff',
      duplicated: false,
    });
    expect(signedPayload('signature=aa', 'x=1&signature=bb').duplicated).toBe(true);
    expect(signedPayload('a=1', '').signature).toBeUndefined();
  });
});
