// Issue 12: the ccxt account's keyScope() and serverTime() against the paper exchange, which serves
// GET /sapi/v1/account/apiRestrictions per key with configurable answers and GET /api/v3/time from its own clock.
import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AccountConfig } from '../config/config-schema.js';
import { isCofreError } from '../errors.js';
import { type PaperExchange, startPaperExchange } from '../paper-exchange/paper-exchange.js';
import { BTCUSDT } from '../paper-exchange/spot-markets.js';
import { SecretValue } from '../secrets/secret-value.js';
import { keyScopeFromApiRestrictions } from './binance-api-restrictions.js';
import { openVenueAccount } from './ccxt-venue-account.js';
import type { VenueCallRecord, VenueCredentials } from './venue-account.js';

const API_KEY = `ScopeKey${randomBytes(16).toString('hex')}`;
const SECRET = `scope-secret-${randomBytes(16).toString('hex')}`;
const NARROW_KEY = `NarrowKey${randomBytes(16).toString('hex')}`;
const NARROW_SECRET = `narrow-secret-${randomBytes(16).toString('hex')}`;
const REFS = { apiKey: 'local:k#apiKey', secret: 'local:k#secret' };
/** The paper exchange's clock: fixed, so the key's creation time and the server time are known exactly. */
const PAPER_NOW = Date.parse('2026-11-30T09:00:00Z');

let paper: PaperExchange;
let clock = PAPER_NOW;

beforeAll(async () => {
  paper = await startPaperExchange({
    accounts: [{ apiKey: API_KEY, secret: SECRET, balances: { USDT: '100' } }],
    symbols: [BTCUSDT],
    prices: { BTCUSDT: '60000' },
    now: () => clock,
  });
  paper.addApiKey(API_KEY, {
    apiKey: NARROW_KEY,
    secret: NARROW_SECRET,
    restrictions: { enableWithdrawals: false, ipRestrict: true },
  });
});

afterAll(async () => {
  await paper.stop();
});

/** Fresh SecretValues per call, kept to check that the account zeroes them. */
function source(pair = { apiKey: API_KEY, secret: SECRET }) {
  const handedOut: SecretValue[] = [];
  return {
    handedOut,
    get(): Promise<VenueCredentials> {
      const apiKey = SecretValue.fromText(pair.apiKey);
      const secret = SecretValue.fromText(pair.secret);
      handedOut.push(apiKey, secret);
      return Promise.resolve({ apiKey, secret });
    },
  };
}

const paperAccount = (): AccountConfig => ({
  venue: 'binance',
  mode: 'paper',
  baseUrl: paper.url,
  credentials: REFS,
});

describe('CcxtVenueAccount.keyScope', () => {
  it('reports what the venue says the key may do, through a signed, verified read', async () => {
    // The paper clock is fixed in the past: signed requests need it near ours (recvWindow), so move it here.
    clock = Date.now();
    const credentials = source();
    const account = await openVenueAccount('main', paperAccount(), () => credentials.get());
    const before = paper.requests().length;
    const record: VenueCallRecord = { held: [], writeSent: false };
    const scope = await account.keyScope?.(record);
    const created = paper.requests().length;
    expect(scope).toEqual({
      canTrade: true,
      canWithdraw: true,
      ipRestricted: false,
      createdAt: new Date(PAPER_NOW),
    });
    const sent = paper.requests().slice(before);
    // One request, no market loading (exchangeInfo) for a call that needs no market.
    expect(sent.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /sapi/v1/account/apiRestrictions']);
    expect(sent[0]).toMatchObject({ apiKey: API_KEY, signed: true, verified: true });
    expect(created - before).toBe(1);
    // Credentials resolved for this call only, zeroed after; the record holds copies for scrubbing.
    expect(credentials.handedOut.length).toBe(2);
    expect(credentials.handedOut.every((v) => v.zeroed)).toBe(true);
    expect(record.held.map((v) => v.text()).sort()).toEqual([API_KEY, SECRET].sort());
    expect(record.writeSent).toBe(false);
    await account.close();
  });

  it('follows the key it signs with, and changes the venue makes to that key', async () => {
    clock = Date.now();
    const narrow = await openVenueAccount('main', paperAccount(), () =>
      source({ apiKey: NARROW_KEY, secret: NARROW_SECRET }).get(),
    );
    expect(await narrow.keyScope?.()).toMatchObject({
      canTrade: true,
      canWithdraw: false,
      ipRestricted: true,
    });
    paper.restrictApiKey(NARROW_KEY, { enableSpotAndMarginTrading: false });
    expect(await narrow.keyScope?.()).toMatchObject({
      canTrade: false,
      canWithdraw: false,
      ipRestricted: true,
    });
    paper.restrictApiKey(NARROW_KEY, { enableSpotAndMarginTrading: true });
    await narrow.close();
  });

  it('fails like any private read when the venue refuses the key, naming no credential', async () => {
    clock = Date.now();
    const unknown = `Unknown${randomBytes(8).toString('hex')}`;
    const account = await openVenueAccount('main', paperAccount(), () =>
      source({ apiKey: unknown, secret: SECRET }).get(),
    );
    const err: unknown = await account.keyScope?.().catch((e: unknown) => e);
    expect(isCofreError(err)).toBe(true);
    const text = JSON.stringify({
      message: (err as Error).message,
      details: (err as { details?: unknown }).details,
    });
    expect(text).not.toContain(unknown);
    expect(text).not.toContain(SECRET);
    await account.close();
  });

  it('is absent for a venue that does not report key permissions', async () => {
    const account = await openVenueAccount('kr', { venue: 'kraken', mode: 'live', credentials: REFS }, () =>
      source().get(),
    );
    // eslint-disable-next-line @typescript-eslint/unbound-method -- only checks that there is none
    const { keyScope } = account;
    expect(keyScope).toBeUndefined();
    await account.close();
  });
});

describe('CcxtVenueAccount.serverTime', () => {
  it("is the venue's clock (a public read: no credentials)", async () => {
    clock = Date.parse('2026-01-02T03:04:05.678Z');
    const credentials = source();
    const account = await openVenueAccount('main', paperAccount(), () => credentials.get());
    const before = paper.requests().length;
    expect(await account.serverTime?.()).toBe(clock);
    const sent = paper.requests().slice(before);
    expect(sent.map((r) => `${r.method} ${r.path} ${r.signed}`)).toEqual(['GET /api/v3/time false']);
    expect(credentials.handedOut).toEqual([]);
    await account.close();
  });
});

describe('keyScopeFromApiRestrictions', () => {
  it('reads the documented fields, and leaves missing or mistyped ones unknown rather than guessing', () => {
    expect(
      keyScopeFromApiRestrictions({
        ipRestrict: true,
        createTime: 1_700_000_000_000,
        enableWithdrawals: false,
        enableSpotAndMarginTrading: true,
      }),
    ).toEqual({
      canTrade: true,
      canWithdraw: false,
      ipRestricted: true,
      createdAt: new Date(1_700_000_000_000),
    });
    expect(
      keyScopeFromApiRestrictions({ enableWithdrawals: 'false', ipRestrict: 0, createTime: 'yesterday' }),
    ).toEqual({ canTrade: undefined, canWithdraw: undefined, ipRestricted: undefined, createdAt: undefined });
  });

  it('refuses an answer that is not an object', () => {
    for (const answer of [null, [], 'ok', 3]) {
      expect(() => keyScopeFromApiRestrictions(answer)).toThrow(/not an object/);
    }
  });
});
