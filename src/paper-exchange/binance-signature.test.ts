import { constants, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import {
  binanceSignature,
  signedPayload,
  verifyAsymmetricSignature,
  verifyBinanceSignature,
} from './binance-signature.js';
import { RSA_EXAMPLE, WORKED_EXAMPLE as EX } from './testdata/binance-worked-example.js';

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

describe('verifyAsymmetricSignature (RSA Keys and Ed25519 Keys of "SIGNED Endpoint Examples")', () => {
  // Binance's RSA example publishes its payload and signature but neither key, and "API Key Types" publishes a
  // sample key and signature but not what was signed, so no published vector can be checked: fresh keys sign the
  // documented payload instead, and the URL-encoding step is checked against the docs' own example.
  const ed = generateKeyPairSync('ed25519');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const sign64 = (key: KeyObject, data: string): string =>
    (key.asymmetricKeyType === 'ed25519'
      ? sign(null, Buffer.from(data), key)
      : sign('sha256', Buffer.from(data), key)
    ).toString('base64');

  it('accepts the URL-encoded base64 signature of the RSA example payload, PKCS#1 v1.5 with SHA-256', () => {
    const signature = sign64(rsa.privateKey, RSA_EXAMPLE.payload);
    expect(verifyAsymmetricSignature(rsa.publicKey, RSA_EXAMPLE.payload, encodeURIComponent(signature))).toBe(
      true,
    );
    // PSS with the same key and hash is another scheme: refused.
    const pss = sign('sha256', Buffer.from(RSA_EXAMPLE.payload), {
      key: rsa.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
    }).toString('base64');
    expect(verifyAsymmetricSignature(rsa.publicKey, RSA_EXAMPLE.payload, encodeURIComponent(pss))).toBe(
      false,
    );
  });

  it("URL-encodes as the docs' example does: their signature and its encoded form correspond", () => {
    expect(encodeURIComponent(RSA_EXAMPLE.signature)).toBe(RSA_EXAMPLE.urlEncoded);
    // 2048-bit RSA: 256 bytes of signature.
    expect(Buffer.from(RSA_EXAMPLE.signature, 'base64')).toHaveLength(256);
  });

  it('accepts an Ed25519 signature of the payload, in the query string or the body', () => {
    const signature = encodeURIComponent(sign64(ed.privateKey, EX.params));
    for (const [query, body] of [
      [`${EX.params}&signature=${signature}`, ''],
      ['', `${EX.params}&signature=${signature}`],
    ] as const) {
      const payload = signedPayload(query, body);
      expect(verifyAsymmetricSignature(ed.publicKey, payload.totalParams, payload.signature ?? '')).toBe(
        true,
      );
    }
  });

  it('is case sensitive, unlike HMAC, and refuses a tampered payload, another key and a non-base64 value', () => {
    const signature = sign64(ed.privateKey, EX.params);
    const swapped = signature.replace(/[a-z]/, (c) => c.toUpperCase());
    expect(swapped).not.toBe(signature);
    expect(verifyAsymmetricSignature(ed.publicKey, EX.params, encodeURIComponent(swapped))).toBe(false);
    expect(
      verifyAsymmetricSignature(ed.publicKey, EX.params.replace('0.1', '0.2'), encodeURIComponent(signature)),
    ).toBe(false);
    const other = generateKeyPairSync('ed25519');
    expect(verifyAsymmetricSignature(other.publicKey, EX.params, encodeURIComponent(signature))).toBe(false);
    expect(verifyAsymmetricSignature(ed.publicKey, EX.params, '%zz')).toBe(false);
    expect(verifyAsymmetricSignature(ed.publicKey, EX.params, 'not*base64')).toBe(false);
    expect(verifyAsymmetricSignature(ed.publicKey, EX.params, '')).toBe(false);
    // An Ed25519 signature checked against an RSA key (and the reverse) is false, not an exception.
    expect(verifyAsymmetricSignature(rsa.publicKey, EX.params, encodeURIComponent(signature))).toBe(false);
  });

  it('refuses a base64 "+" sent without URL-encoding (it decodes as a space), as the docs warn', () => {
    let data: string = EX.params;
    let signature = sign64(rsa.privateKey, data);
    for (let i = 0; !signature.includes('+'); i++) {
      data = `${EX.params}&n=${i}`;
      signature = sign64(rsa.privateKey, data);
    }
    expect(verifyAsymmetricSignature(rsa.publicKey, data, signature)).toBe(false);
    expect(verifyAsymmetricSignature(rsa.publicKey, data, encodeURIComponent(signature))).toBe(true);
  });
});
