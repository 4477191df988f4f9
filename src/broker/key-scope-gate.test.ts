// Issue 12: the least-privilege gate, over the real check (checkKeyScope through ccxt against the paper exchange),
// with the gate's clock injected.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { CofreConfig } from '../config/config-schema.js';
import { parseConfig } from '../config/load-config.js';
import { isCofreError } from '../errors.js';
import { type PaperExchange, startPaperExchange } from '../paper-exchange/paper-exchange.js';
import { BTCUSDT } from '../paper-exchange/spot-markets.js';
import { SecretValue } from '../secrets/secret-value.js';
import { openVenueAccount } from '../venues/ccxt-venue-account.js';
import { checkKeyScope } from '../venues/check-key-scope.js';
import type { VenueAccount } from '../venues/venue-account.js';
import { KEY_SCOPE_RECHECK_MS, KeyScopeGate } from './key-scope-gate.js';

const API_KEY = `GateKey${randomBytes(16).toString('hex')}`;
const SECRET = `gate-secret-${randomBytes(16).toString('hex')}`;

let paper: PaperExchange;

beforeAll(async () => {
  paper = await startPaperExchange({
    accounts: [{ apiKey: API_KEY, secret: SECRET, balances: { USDT: '100' } }],
    symbols: [BTCUSDT],
    prices: { BTCUSDT: '60000' },
  });
});

afterAll(async () => {
  await paper.stop();
});

function configFor(accounts: string): CofreConfig {
  return parseConfig(
    [
      'backends:',
      '  local: { type: embedded, path: s.enc, keyFile: s.key }',
      'accounts:',
      accounts,
      'policies:',
      "  trader: { accounts: ['*'], actions: [place_order] }",
      '',
    ].join('\n'),
    { sourcePath: 'c.yaml' },
  );
}

const CREDS = "credentials: { apiKey: 'local:k#a', secret: 'local:k#s' }";

/** A gate over the real check, with its clock, log and the number of checks it ran. */
async function gateFor(config: CofreConfig, baseUrl = paper.url) {
  const venues = new Map<string, VenueAccount>();
  for (const [id, account] of Object.entries(config.accounts)) {
    venues.set(
      id,
      await openVenueAccount(id, { ...account, baseUrl }, () =>
        Promise.resolve({ apiKey: SecretValue.fromText(API_KEY), secret: SecretValue.fromText(SECRET) }),
      ),
    );
  }
  const lines: { level: number; msg: string }[] = [];
  const logger = pino(
    { level: 'warn' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as { level: number; msg: string });
        done();
      },
    }),
  );
  /** `hold`: a check's answer, once read, is handed to the gate only when it settles (a slow venue). */
  const state: { now: number; checks: number; hold: Promise<void> | undefined } = {
    now: 1_000_000,
    checks: 0,
    hold: undefined,
  };
  const gate = new KeyScopeGate({
    config,
    logger,
    now: () => state.now,
    check: async (id) => {
      state.checks++;
      const hold = state.hold;
      const venue = venues.get(id);
      if (venue === undefined) throw new Error(`no venue ${id}`);
      const result = await checkKeyScope(config, id, venue);
      await hold;
      return result;
    },
  });
  return {
    gate,
    state,
    lines,
    close: () => Promise.all([...venues.values()].map((v) => v.close())),
  };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return isCofreError(err) ? err.code : String(err);
  }
}

describe('KeyScopeGate', () => {
  it('judges a required account on first use, refuses it, and serves it again once the key is narrowed', async () => {
    paper.restrictApiKey(API_KEY, { enableWithdrawals: true });
    const config = configFor(
      `  strict: { venue: binance, mode: paper, requireLeastPrivilege: true, ${CREDS} }`,
    );
    const t = await gateFor(config);
    try {
      expect(t.gate.status('strict').state).toBe('unchecked');
      expect(await codeOf(t.gate.admit('strict'))).toBe('COFRE_ACCOUNT_REFUSED');
      expect(t.state.checks).toBe(1);
      // Judged: refused without asking again, until the judgement is a minute old.
      expect(await codeOf(t.gate.admit('strict'))).toBe('COFRE_ACCOUNT_REFUSED');
      expect(t.state.checks).toBe(1);
      paper.restrictApiKey(API_KEY, { enableWithdrawals: false });
      t.state.now += KEY_SCOPE_RECHECK_MS;
      // Stale: this action still meets the old judgement while a fresh one is read in the background.
      expect(await codeOf(t.gate.admit('strict'))).toBe('COFRE_ACCOUNT_REFUSED');
      expect(t.state.checks).toBe(2);
      for (let i = 0; i < 200 && t.gate.status('strict').state === 'refused'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(await codeOf(t.gate.admit('strict'))).toBe('ok');
      expect(t.gate.status('strict')).toMatchObject({ state: 'allowed', problems: [] });
      expect(t.lines.map((l) => l.msg)).toEqual([
        'least privilege: the key can withdraw, but no policy allows withdraw on account "strict"',
        expect.stringMatching(/^refusing to serve account "strict": narrow the key at the venue/),
        'account "strict" is served again: its key now fits',
      ]);
    } finally {
      paper.restrictApiKey(API_KEY, { enableWithdrawals: true });
      await t.close();
    }
  });

  it('never holds up, refuses or asks about on use an account that does not require least privilege', async () => {
    const config = configFor(`  loose: { venue: binance, mode: paper, ${CREDS} }`);
    const t = await gateFor(config);
    try {
      expect(await codeOf(t.gate.admit('loose'))).toBe('ok');
      expect(t.state.checks).toBe(0);
      // Judged by the start's check: a warning, once, however often it is judged the same.
      await t.gate.checkAll();
      expect(t.gate.status('loose')).toMatchObject({ state: 'allowed', required: false });
      expect(t.gate.status('loose').problems).toHaveLength(1);
      t.state.now += KEY_SCOPE_RECHECK_MS;
      expect(await codeOf(t.gate.admit('loose'))).toBe('ok');
      await t.gate.checkAll();
      expect(t.state.checks).toBe(2);
      expect(t.lines.map((l) => l.msg)).toEqual([
        'least privilege: the key can withdraw, but no policy allows withdraw on account "loose"',
      ]);
    } finally {
      await t.close();
    }
  });

  it('serves an account whose venue cannot be reached, warns, and asks again at most once a minute', async () => {
    const config = configFor(
      `  strict: { venue: binance, mode: paper, requireLeastPrivilege: true, ${CREDS} }`,
    );
    const t = await gateFor(config, 'http://127.0.0.1:1');
    try {
      expect(await codeOf(t.gate.admit('strict'))).toBe('ok');
      expect(t.gate.status('strict')).toMatchObject({ state: 'unknown', error: 'COFRE_VENUE_UNAVAILABLE' });
      expect(await codeOf(t.gate.admit('strict'))).toBe('ok');
      expect(t.state.checks).toBe(1);
      t.state.now += KEY_SCOPE_RECHECK_MS;
      expect(await codeOf(t.gate.admit('strict'))).toBe('ok');
      expect(t.state.checks).toBe(2);
      expect(t.lines.map((l) => l.msg)).toEqual([
        expect.stringMatching(
          /^could not read the key permissions of account "strict" \(COFRE_VENUE_UNAVAILABLE\)/,
        ),
        expect.stringMatching(/^could not read the key permissions of account "strict"/),
      ]);
    } finally {
      await t.close();
    }
  });

  it('judges again before the next action once told the key changed (a rotation)', async () => {
    const config = configFor(
      `  strict: { venue: binance, mode: paper, requireLeastPrivilege: true, ${CREDS} }`,
    );
    const t = await gateFor(config);
    try {
      expect(await codeOf(t.gate.admit('strict'))).toBe('COFRE_ACCOUNT_REFUSED');
      paper.restrictApiKey(API_KEY, { enableWithdrawals: false });
      t.gate.invalidate('strict');
      expect(t.gate.status('strict').state).toBe('unchecked');
      expect(await codeOf(t.gate.admit('strict'))).toBe('ok');
      expect(t.state.checks).toBe(2);
      // A check running when the key changes read the old one: its answer is dropped, a new check runs.
      paper.restrictApiKey(API_KEY, { enableWithdrawals: true });
      t.state.now += KEY_SCOPE_RECHECK_MS;
      let release = (): void => undefined;
      t.state.hold = new Promise((resolve) => {
        release = resolve;
      });
      const before = paper.requests().at(-1)?.seq ?? 0;
      await t.gate.admit('strict'); // a background refresh starts: it reads a key that can withdraw
      t.state.hold = undefined;
      for (
        let i = 0;
        i < 400 && !paper.requests().some((r) => r.path.endsWith('apiRestrictions') && r.seq > before);
        i++
      ) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      t.gate.invalidate('strict');
      paper.restrictApiKey(API_KEY, { enableWithdrawals: false });
      expect(await codeOf(t.gate.admit('strict'))).toBe('ok');
      release();
      await new Promise((resolve) => setImmediate(resolve));
      expect(t.state.checks).toBe(4);
      expect(t.gate.status('strict').state).toBe('allowed');
      expect(await codeOf(t.gate.admit('strict'))).toBe('ok');
    } finally {
      paper.restrictApiKey(API_KEY, { enableWithdrawals: true });
      await t.close();
    }
  });

  it('runs one check at a time per account, however many actions wait for it', async () => {
    const config = configFor(
      `  strict: { venue: binance, mode: paper, requireLeastPrivilege: true, ${CREDS} }`,
    );
    const t = await gateFor(config);
    try {
      const codes = await Promise.all(Array.from({ length: 5 }, () => codeOf(t.gate.admit('strict'))));
      expect(codes).toEqual(Array(5).fill('COFRE_ACCOUNT_REFUSED'));
      expect(t.state.checks).toBe(1);
    } finally {
      await t.close();
    }
  });
});

describe('checkKeyScope', () => {
  it('requires least privilege on a live account by default: no IP restriction, withdrawals not needed', async () => {
    const live = configFor(`  main: { venue: binance, mode: live, ${CREDS} }`);
    const venue = await openVenueAccount(
      'main',
      { ...live.accounts['main']!, mode: 'paper', baseUrl: paper.url },
      () => Promise.resolve({ apiKey: SecretValue.fromText(API_KEY), secret: SecretValue.fromText(SECRET) }),
    );
    try {
      const strict = await checkKeyScope(live, 'main', venue);
      expect(strict.judgement).toEqual({
        refuse: true,
        problems: [
          'the key can withdraw, but no policy allows withdraw on account "main"',
          'the key of live account "main" has no IP restriction',
        ],
      });
      const relaxed = configFor(
        `  main: { venue: binance, mode: live, requireLeastPrivilege: false, ${CREDS} }`,
      );
      expect((await checkKeyScope(relaxed, 'main', venue)).judgement.refuse).toBe(false);
      paper.restrictApiKey(API_KEY, { enableWithdrawals: false, ipRestrict: true });
      expect((await checkKeyScope(live, 'main', venue)).judgement).toEqual({ refuse: false, problems: [] });
    } finally {
      paper.restrictApiKey(API_KEY, { enableWithdrawals: true, ipRestrict: false });
      await venue.close();
    }
  });

  it('judges nothing for a venue that cannot tell', async () => {
    const config = configFor(`  kr: { venue: kraken, mode: live, ${CREDS} }`);
    const venue = await openVenueAccount('kr', config.accounts['kr']!, () =>
      Promise.reject(new Error('no credentials should be read')),
    );
    expect(await checkKeyScope(config, 'kr', venue)).toEqual({
      scope: undefined,
      judgement: { problems: [], refuse: false },
    });
    await venue.close();
  });
});
