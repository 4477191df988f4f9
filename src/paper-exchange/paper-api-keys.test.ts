// Several API keys per paper account, as a key rotation on Binance's site makes them, and what each key may do.
import { generateKeyPairSync } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type PaperExchange, startPaperExchange } from './paper-exchange.js';
import { BTCUSDT } from './spot-markets.js';
import { client, keyPairClient } from './testdata/signed-client.js';

const OLD = { apiKey: 'oldKey0123456789', secret: 'old-secret-do-not-leak' };
const NEW = { apiKey: 'newKey0123456789', secret: 'new-secret-do-not-leak' };
const BUY = {
  symbol: 'BTCUSDT',
  side: 'BUY',
  type: 'LIMIT',
  timeInForce: 'GTC',
  quantity: '0.001',
  price: '50000',
};

describe('paper exchange: API keys', () => {
  let ex: PaperExchange;
  const now = () => Date.now();

  beforeAll(async () => {
    ex = await startPaperExchange({
      accounts: [{ ...OLD, balances: { USDT: '10000' } }],
      symbols: [BTCUSDT],
      prices: { BTCUSDT: '60000' },
    });
  });
  afterAll(async () => {
    await ex.stop();
  });

  it('serves one account under both keys until the old one is revoked, then refuses it with -2015', async () => {
    ex.addApiKey(OLD.apiKey, NEW);
    const old = client(ex, OLD.apiKey, OLD.secret, now);
    const fresh = client(ex, NEW.apiKey, NEW.secret, now);
    expect((await old('POST', '/api/v3/order', BUY)).status).toBe(200);
    expect((await fresh('POST', '/api/v3/order', BUY)).status).toBe(200);
    // One account: both orders are in it, and its balance is the same under either key.
    expect((await fresh('GET', '/api/v3/openOrders', {})).body).toHaveLength(2);
    expect(ex.balances(NEW.apiKey)).toEqual(ex.balances(OLD.apiKey));
    // A secret that belongs to the other key does not sign for this one.
    expect((await client(ex, NEW.apiKey, OLD.secret, now)('GET', '/api/v3/account', {})).body).toMatchObject({
      code: -1022,
    });

    ex.revokeApiKey(OLD.apiKey);
    const refused = await old('GET', '/api/v3/account', {});
    expect([refused.status, refused.body.code]).toEqual([401, -2015]);
    expect((await fresh('GET', '/api/v3/account', {})).status).toBe(200);
  });

  it('reports each key’s restrictions at GET /sapi/v1/account/apiRestrictions, and enforces trading and withdrawals', async () => {
    const key = { apiKey: 'readOnlyKey0123', secret: 'read-only-secret' };
    ex.addApiKey(NEW.apiKey, {
      ...key,
      restrictions: { enableSpotAndMarginTrading: false, enableWithdrawals: false },
    });
    const readOnly = client(ex, key.apiKey, key.secret, now);
    const answer = await readOnly('GET', '/sapi/v1/account/apiRestrictions', {});
    expect(answer.body).toMatchObject({
      ipRestrict: false,
      enableReading: true,
      enableWithdrawals: false,
      enableSpotAndMarginTrading: false,
      createTime: expect.any(Number),
    });
    const order = await readOnly('POST', '/api/v3/order', BUY);
    expect([order.status, order.body.code]).toEqual([401, -2015]);
    const withdraw = await readOnly('POST', '/sapi/v1/capital/withdraw/apply', {
      coin: 'USDT',
      address: 'TAddressForTests1',
      amount: '10',
    });
    expect([withdraw.status, withdraw.body.code]).toEqual([401, -2015]);
    expect((await readOnly('GET', '/api/v3/account', {})).status).toBe(200);

    ex.restrictApiKey(key.apiKey, { enableSpotAndMarginTrading: true, ipRestrict: true });
    expect((await readOnly('GET', '/sapi/v1/account/apiRestrictions', {})).body).toMatchObject({
      ipRestrict: true,
      enableSpotAndMarginTrading: true,
      enableWithdrawals: false,
    });
    expect((await readOnly('POST', '/api/v3/order', BUY)).status).toBe(200);
  });

  it('refuses a key that is already in use, or an account it does not have', () => {
    expect(() => {
      ex.addApiKey(NEW.apiKey, { apiKey: NEW.apiKey, secret: 'x' });
    }).toThrow(/listed twice/);
    expect(() => {
      ex.addApiKey('noSuchKey', { apiKey: 'anotherKey1', secret: 'x' });
    }).toThrow(/no such API key/);
    expect(() => {
      ex.revokeApiKey('noSuchKey');
    }).toThrow(/no such API key/);
  });

  it('registers Ed25519 and RSA public keys and verifies their signatures; -1022 for another key', async () => {
    const ed = generateKeyPairSync('ed25519');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = (key: typeof ed.publicKey) => key.export({ type: 'spki', format: 'pem' }).toString();
    ex.addApiKey(NEW.apiKey, { apiKey: 'edKey0123456789', publicKey: pem(ed.publicKey) });
    ex.addApiKey(NEW.apiKey, { apiKey: 'rsaKey012345678', publicKey: pem(rsa.publicKey) });
    const edClient = keyPairClient(ex, 'edKey0123456789', ed.privateKey, now);
    const rsaClient = keyPairClient(ex, 'rsaKey012345678', rsa.privateKey, now);
    expect((await edClient('POST', '/api/v3/order', BUY)).status).toBe(200);
    expect((await rsaClient('GET', '/api/v3/account', {})).status).toBe(200);
    // Each key signs for itself only, and an HMAC signature is no signature for a key pair.
    const crossed = await keyPairClient(
      ex,
      'edKey0123456789',
      rsa.privateKey,
      now,
    )('GET', '/api/v3/account', {});
    expect([crossed.status, crossed.body.code]).toEqual([400, -1022]);
    const hmac = await client(ex, 'rsaKey012345678', 'anything', now)('GET', '/api/v3/account', {});
    expect(hmac.body.code).toBe(-1022);
  });

  it('refuses a key pair it cannot register: a private key, an unsupported size or type, both or neither form', () => {
    const ed = generateKeyPairSync('ed25519');
    const add = (key: Record<string, unknown>) => () => {
      ex.addApiKey(NEW.apiKey, { apiKey: 'refusedKey0123', ...key });
    };
    expect(add({ publicKey: ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() })).toThrow(
      /holds a private key/,
    );
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    expect(add({ publicKey: small.export({ type: 'spki', format: 'pem' }).toString() })).toThrow(
      /RSA of 1024 bits/,
    );
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    expect(add({ publicKey: ec.export({ type: 'spki', format: 'pem' }).toString() })).toThrow(
      /publicKey is ec/,
    );
    expect(add({ publicKey: 'not a key' })).toThrow(/not a PEM public key/);
    expect(add({})).toThrow(/either secret \(HMAC\) or publicKey/);
    expect(
      add({ secret: 'x', publicKey: ed.publicKey.export({ type: 'spki', format: 'pem' }).toString() }),
    ).toThrow(/either secret/);
  });
});
