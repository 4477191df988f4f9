// Issue 19, asymmetric exchange API keys: orders through `cofre serve` (ccxt's binance) signed with an Ed25519 key
// and with an RSA key, verified by the paper exchange as Binance documents; a wrong key refused; a rotation from
// HMAC to Ed25519 with `cofre rotate`; the private keys never in a log line, an audit record, the state DB, a
// response or an error.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BTCUSDT } from '../../src/paper-exchange/spot-markets.js';
import { promoteElsewhere } from './promote-elsewhere.js';
import { errorCodeOf, type HttpAnswer, type ServedFixture, startServedBroker } from './served-broker.js';

const ed = generateKeyPairSync('ed25519');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const stranger = generateKeyPairSync('ed25519');
const pem = (key: KeyObject, type: 'pkcs8' | 'pkcs1' = 'pkcs8'): string =>
  key.export({ type, format: 'pem' }).toString();
const spki = (key: KeyObject): string => key.export({ type: 'spki', format: 'pem' }).toString();

// As operators store them: the Ed25519 key pasted with CRLF line ends (which ccxt alone would sign as RSA), the RSA
// key in PKCS#1 as `openssl genrsa` writes it, a key that is not the one registered, and an encrypted one.
const STORED = {
  ed: pem(ed.privateKey).replace(/\n/g, '\r\n'),
  rsa: pem(rsa.privateKey, 'pkcs1'),
  wrong: pem(stranger.privateKey),
  encrypted: ed.privateKey
    .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' })
    .toString(),
};
const rotated = generateKeyPairSync('ed25519');
const ROTATED_PEM = pem(rotated.privateKey);
const API_KEYS = { ed: 'EdKey0123456789abcdef', rsa: 'RsaKey0123456789abcdef' };

/** Every form a leak of one PEM key could take (past the first bytes, which are the same for every key of a type). */
const formsOf = (text: string): string[] => {
  const lines = text.split(/\r?\n/).filter((l) => l !== '' && !l.startsWith('-----'));
  const body = lines.join('');
  const der = Buffer.from(body, 'base64');
  const tail = body.slice(32);
  return [
    ...lines.slice(1).filter((l) => l.length >= 16),
    tail,
    encodeURIComponent(tail),
    der.subarray(24).toString('hex'),
    der.subarray(24).toString('base64'),
    JSON.stringify(text).slice(40, 100),
  ];
};
const canaries = [...Object.values(STORED), ROTATED_PEM].flatMap(formsOf);

let fx: ServedFixture;
let agent: string;
const answers: HttpAnswer[] = [];

const account = (id: string, secret: string, apiKey: string) => (url: string) =>
  `  ${id}: { venue: binance, mode: paper, baseUrl: "${url}", credentials: { apiKey: "local:exchanges/${apiKey}#apiKey", secret: "local:exchanges/${secret}#secret" } }`;

beforeAll(async () => {
  const stored = (apiKey: string, secret: string) => JSON.stringify({ apiKey, secret });
  fx = await startServedBroker(
    (url, credentials) => [
      'accounts:',
      account('ed', 'ed', 'ed')(url),
      account('rsa', 'rsa', 'rsa')(url),
      account('wrong', 'wrong', 'wrong')(url),
      account('encrypted', 'encrypted', 'encrypted')(url),
      // The fixture's HMAC key, rotated to an Ed25519 key below.
      `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
      'policies:',
      '  trader:',
      '    rules:',
      '      - allow: [list_accounts, get_balance, place_order, cancel_order, get_order]',
      '        accounts: [ed, rsa, wrong, encrypted, paper]',
      'rotation: { pollInterval: 1h }',
    ],
    {
      accounts: [
        { apiKey: API_KEYS.ed, publicKey: spki(ed.publicKey), balances: { USDT: '100000', BTC: '2' } },
        { apiKey: API_KEYS.rsa, publicKey: spki(rsa.publicKey), balances: { USDT: '100000', BTC: '2' } },
      ],
      symbols: [BTCUSDT],
      prices: { BTCUSDT: '60000' },
    },
    {
      secrets: {
        'exchanges/ed': stored(API_KEYS.ed, STORED.ed),
        'exchanges/rsa': stored(API_KEYS.rsa, STORED.rsa),
        // The Ed25519 account's API key, signed with a key Binance never saw.
        'exchanges/wrong': stored(API_KEYS.ed, STORED.wrong),
        'exchanges/encrypted': stored(API_KEYS.ed, STORED.encrypted),
      },
    },
  );
  fx.paper.addApiKey(API_KEYS.ed, { apiKey: fx.apiKey.apiKey, secret: fx.apiKey.secret });
  agent = await fx.agentToken('trader-1', 'trader');
});

afterAll(async () => {
  await fx.close();
});

async function call(path: string, body: Record<string, unknown>): Promise<HttpAnswer> {
  const answer = await fx.call('POST', path, agent, body);
  answers.push(answer);
  return answer;
}

const buy = (accountId: string, clientOrderId: string, extra: Record<string, unknown> = {}) =>
  call('/v1/actions/place_order', {
    account: accountId,
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'market',
    amount: '0.001',
    clientOrderId,
    ...extra,
  });

describe('orders signed with asymmetric keys', () => {
  it('places, reads and cancels orders with the Ed25519 key (stored with CRLF line ends)', async () => {
    const placed = await buy('ed', 'ed-market-1');
    expect(placed.body['status'], JSON.stringify(placed.body)).toBe('executed');
    expect(placed.body['result']).toMatchObject({
      order: { clientOrderId: 'ed-market-1', status: 'closed' },
    });
    const resting = await buy('ed', 'ed-limit-1', { type: 'limit', price: '50000' });
    expect(resting.body['result']).toMatchObject({ order: { status: 'open' } });
    const cancelled = await call('/v1/actions/cancel_order', {
      account: 'ed',
      symbol: 'BTC/USDT',
      clientOrderId: 'ed-limit-1',
    });
    expect(cancelled.body['result']).toMatchObject({ order: { status: 'canceled' } });
  });

  it('places an order with the RSA key (stored as PKCS#1)', async () => {
    const placed = await buy('rsa', 'rsa-market-1');
    expect(placed.body['status'], JSON.stringify(placed.body)).toBe('executed');
    expect(placed.body['result']).toMatchObject({
      order: { clientOrderId: 'rsa-market-1', status: 'closed' },
    });
    const balance = await call('/v1/actions/get_balance', { account: 'rsa' });
    expect(balance.body['status']).toBe('executed');
  });

  it('signed them as Binance documents: base64 signatures, URL-encoded, verified against the public keys', () => {
    const signed = fx.paper.requests().filter((r) => r.signed && r.apiKey !== undefined);
    const orders = signed.filter((r) => r.method === 'POST' && r.path === '/api/v3/order');
    expect(orders.map((r) => [r.apiKey, r.verified])).toEqual([
      [API_KEYS.ed, true],
      [API_KEYS.ed, true],
      [API_KEYS.rsa, true],
    ]);
    for (const request of orders) {
      const signature = /(?:^|&)signature=([^&]*)/.exec(`${request.query}&${request.body}`)?.[1] ?? '';
      // Not HMAC's 64 hex digits: base64 of 64 bytes (Ed25519) or 256 bytes (RSA 2048), URL-encoded.
      const bytes = Buffer.from(decodeURIComponent(signature), 'base64').length;
      expect(bytes).toBe(request.apiKey === API_KEYS.ed ? 64 : 256);
    }
  });

  it("judged both keys' scope at start through the same signing path (least privilege still works)", () => {
    const byAccount = Object.fromEntries((fx.server.keyScope ?? []).map((s) => [s.account, s]));
    for (const id of ['ed', 'rsa']) {
      expect(byAccount[id]).toMatchObject({ state: 'allowed', scope: { canTrade: true, canWithdraw: true } });
    }
  });
});

describe('keys that cannot sign', () => {
  it('refuses a key that is not the registered one with COFRE_VENUE_AUTH_FAILED (-1022 at the venue)', async () => {
    const before = fx.paper.orders().length;
    const refused = await buy('wrong', 'wrong-1');
    expect(errorCodeOf(refused), JSON.stringify(refused.body)).toBe('COFRE_VENUE_AUTH_FAILED');
    expect(JSON.stringify(refused.body)).toContain('-1022');
    expect(fx.paper.orders()).toHaveLength(before);
  });

  it('refuses an encrypted key with COFRE_CREDENTIALS_INVALID before sending anything', async () => {
    const sent = fx.paper.requests().length;
    const refused = await buy('encrypted', 'encrypted-1');
    expect(errorCodeOf(refused), JSON.stringify(refused.body)).toBe('COFRE_CREDENTIALS_INVALID');
    expect(JSON.stringify(refused.body)).toContain('encrypted private key');
    // Markets may load (public, unsigned); nothing signed goes out with this account's key.
    expect(
      fx.paper
        .requests()
        .slice(sent)
        .filter((r) => r.signed),
    ).toEqual([]);
  });
});

describe('rotation', () => {
  it('rotates an HMAC account to an Ed25519 key with `cofre rotate` (its test step signs with the new key)', async () => {
    expect((await buy('paper', 'hmac-before-rotation')).body['status']).toBe('executed');
    const apiKey = 'RotatedEd0123456789';
    fx.paper.addApiKey(API_KEYS.ed, { apiKey, publicKey: spki(rotated.publicKey) });
    await promoteElsewhere(fx, { apiKey, secret: ROTATED_PEM });
    expect(await fx.server.runtime.credentialVersions.checkNow()).toHaveLength(1);
    expect((await buy('paper', 'ed-after-rotation')).body['status']).toBe('executed');
    const sent = fx.paper.requests().filter((r) => r.params['newClientOrderId'] === 'ed-after-rotation');
    expect(sent.map((r) => [r.apiKey, r.verified])).toEqual([[apiKey, true]]);
  });

  it('refuses to promote an Ed25519 key the venue does not know, and keeps the current one', async () => {
    const unknown = generateKeyPairSync('ed25519');
    fx.paper.addApiKey(API_KEYS.ed, { apiKey: 'RotatedEdOther012345', publicKey: spki(rotated.publicKey) });
    const refused = await promoteElsewhere(fx, {
      apiKey: 'RotatedEdOther012345',
      secret: pem(unknown.privateKey),
    }).catch((err: unknown) => String(err));
    expect(refused).toMatch(/COFRE_VENUE_AUTH_FAILED/);
    // What `cofre rotate` printed names neither the new key nor the current one.
    for (const canary of [...canaries, ...formsOf(pem(unknown.privateKey))])
      expect(refused).not.toContain(canary);
    expect((await buy('paper', 'ed-after-refused')).body['status']).toBe('executed');
  });
});

describe('canary: the private keys never leave', () => {
  it('none in the server log, the audit log, the state DB or any other file cofre wrote', () => {
    expect(canaries.length).toBeGreaterThan(20);
    const files = readdirSync(fx.dir).filter((f) => !['cofre.store', 'cofre.key', 'cofre.yaml'].includes(f));
    expect(files).toContain('audit.jsonl');
    const written = files.map((f) => readFileSync(join(fx.dir, f)).toString('latin1'));
    const everything = [...fx.logLines, ...written].join('\n');
    for (const canary of canaries) expect(everything).not.toContain(canary);
  });

  it('none in any answer or error', () => {
    expect(answers.length).toBeGreaterThan(5);
    const everything = JSON.stringify(answers);
    for (const canary of canaries) expect(everything).not.toContain(canary);
  });

  it('none in what reached the paper exchange (it holds public keys only)', () => {
    const everything = JSON.stringify(fx.paper.requests());
    for (const canary of canaries) expect(everything).not.toContain(canary);
  });
});
