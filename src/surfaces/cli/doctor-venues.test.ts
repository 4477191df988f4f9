// Issue 12: `cofre doctor`'s venue checks against paper exchanges through ccxt: the key scope as serve judges it,
// and the clock skew against paper exchanges whose clocks (`now`) are set off from this host's.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { CofreConfig } from '../../config/config-schema.js';
import { loadConfig } from '../../config/load-config.js';
import { type PaperExchange, startPaperExchange } from '../../paper-exchange/paper-exchange.js';
import { BTCUSDT } from '../../paper-exchange/spot-markets.js';
import { EmbeddedBackend } from '../../secrets/embedded/embedded-backend.js';
import { openResolver } from '../../secrets/open-backend.js';
import type { SecretResolver } from '../../secrets/secret-resolver.js';
import { SecretValue } from '../../secrets/secret-value.js';
import type { DoctorFinding } from './doctor-checks.js';
import { venueDoctorChecks } from './doctor-venues.js';

const API_KEY = `DoctorKey${randomBytes(16).toString('hex')}`;
const SECRET = `doctor-secret-${randomBytes(16).toString('hex')}`;
const NARROW_KEY = `NarrowDoc${randomBytes(16).toString('hex')}`;
const NARROW_SECRET = `narrow-doctor-${randomBytes(16).toString('hex')}`;

/** Paper exchanges by how far their clock is from this host's (ms; positive: the venue is ahead). */
const OFFSETS = { synced: 0, slow: -3_000, fast: 3_000, far: 12_000 } as const;
const exchanges = new Map<string, PaperExchange>();
let dir: string;
let config: CofreConfig;
let resolver: SecretResolver;

beforeAll(async () => {
  for (const [name, offset] of Object.entries(OFFSETS)) {
    const paper = await startPaperExchange({
      accounts: [{ apiKey: API_KEY, secret: SECRET, balances: { USDT: '100' } }],
      symbols: [BTCUSDT],
      prices: { BTCUSDT: '60000' },
      now: () => Date.now() + offset,
    });
    paper.addApiKey(API_KEY, {
      apiKey: NARROW_KEY,
      secret: NARROW_SECRET,
      restrictions: { enableWithdrawals: false, ipRestrict: true },
    });
    exchanges.set(name, paper);
  }
  dir = mkdtempSync(join(tmpdir(), 'cofre-doctor-venues-'));
  const store = await EmbeddedBackend.create(join(dir, 'cofre.store'), {
    kind: 'key-file',
    path: join(dir, 'cofre.key'),
  });
  await store.write('ex/wide', SecretValue.fromText(JSON.stringify({ apiKey: API_KEY, secret: SECRET })));
  await store.write(
    'ex/narrow',
    SecretValue.fromText(JSON.stringify({ apiKey: NARROW_KEY, secret: NARROW_SECRET })),
  );
  // A key the venue does not know (deleted there, e.g. revoked after a rotation).
  await store.write(
    'ex/unknown',
    SecretValue.fromText(JSON.stringify({ apiKey: 'UnknownKey123', secret: 'unknown-secret' })),
  );
  await store.close();
  const creds = (name: string) =>
    `credentials: { apiKey: "local:ex/${name}#apiKey", secret: "local:ex/${name}#secret" }`;
  const url = (name: string) => exchanges.get(name)?.url ?? '';
  const path = join(dir, 'cofre.yaml');
  writeFileSync(
    path,
    [
      'backends: { local: { type: embedded, path: cofre.store, keyFile: cofre.key } }',
      'accounts:',
      // The same venue clock, three keys and settings: refused, warned about, fine.
      `  strict: { venue: binance, mode: paper, baseUrl: "${url('synced')}", requireLeastPrivilege: true, ${creds('wide')} }`,
      `  loose: { venue: binance, mode: paper, baseUrl: "${url('synced')}", ${creds('wide')} }`,
      `  narrow: { venue: binance, mode: paper, baseUrl: "${url('synced')}", ${creds('narrow')} }`,
      // The narrow key on venues whose clocks are off.
      // A venue 3 s slow (this host 3 s ahead), one 3 s fast (this host behind), one 12 s fast.
      `  ahead: { venue: binance, mode: paper, baseUrl: "${url('slow')}", ${creds('narrow')} }`,
      `  behind: { venue: binance, mode: paper, baseUrl: "${url('fast')}", ${creds('narrow')} }`,
      `  far: { venue: binance, mode: paper, baseUrl: "${url('far')}", ${creds('narrow')} }`,
      `  revoked: { venue: binance, mode: paper, baseUrl: "${url('synced')}", ${creds('unknown')} }`,
      // Nothing listens there.
      `  down: { venue: binance, mode: paper, baseUrl: "http://127.0.0.1:1", ${creds('narrow')} }`,
      'policies:',
      "  trader: { accounts: ['*'], actions: [place_order] }",
      'audit: { path: audit.jsonl }',
      'state: { path: state.db }',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  config = await loadConfig(path);
  resolver = await openResolver(config);
});

afterAll(async () => {
  await resolver.close();
  await Promise.all([...exchanges.values()].map((p) => p.stop()));
  rmSync(dir, { recursive: true, force: true });
});

let findings: readonly DoctorFinding[];
const of = (check: string, subject: string) =>
  findings.find((f) => f.check === check && f.subject === subject);

describe('venueDoctorChecks', () => {
  beforeAll(async () => {
    findings = await venueDoctorChecks({
      config,
      configPath: join(dir, 'cofre.yaml'),
      resolver,
      now: new Date(),
    });
  });

  it('reports one key-scope and one clock finding per account', () => {
    const subjects = Object.keys(config.accounts);
    expect(findings.filter((f) => f.check === 'key-scope').map((f) => f.subject)).toEqual(subjects);
    expect(findings.filter((f) => f.check === 'clock').map((f) => f.subject)).toEqual(subjects);
  });

  it('fails a key that serve would refuse, warns about one it only warns about, and passes a narrow one', () => {
    expect(of('key-scope', 'strict')).toMatchObject({
      status: 'fail',
      message: expect.stringContaining(
        'the key can withdraw, but no policy allows withdraw on account "strict"',
      ),
      details: { canWithdraw: true, canTrade: true, ipRestricted: false, required: true },
    });
    expect(of('key-scope', 'strict')?.message).toContain('requireLeastPrivilege: false');
    expect(of('key-scope', 'loose')).toMatchObject({ status: 'warn', details: { required: false } });
    expect(of('key-scope', 'narrow')).toMatchObject({
      status: 'ok',
      details: { canWithdraw: false, ipRestricted: true, createdAt: expect.any(String) },
    });
  });

  it('judges the clock skew against each venue: ok, warn 3 s behind, fail 3 s ahead or 12 s behind', () => {
    expect(of('clock', 'narrow')).toMatchObject({ status: 'ok' });
    expect(of('clock', 'behind')).toMatchObject({
      status: 'warn',
      message: expect.stringContaining('behind'),
    });
    expect(of('clock', 'ahead')).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('ahead of'),
    });
    expect(of('clock', 'far')).toMatchObject({ status: 'fail', message: expect.stringContaining('behind') });
    const skew = (subject: string) => Number(of('clock', subject)?.details?.['skewMs']);
    // The venue's clock was set 3 s slow: this host is about 3 s ahead (within the round trip), and the reverse.
    expect(Math.abs(skew('ahead') + OFFSETS.slow)).toBeLessThan(1_000);
    expect(Math.abs(skew('behind') + OFFSETS.fast)).toBeLessThan(1_000);
  });

  it('warns on both checks where the venue cannot be reached now; a clock far off fails, though the key-scope read it spoils only warns', () => {
    // As `cofre serve` does: an unreachable venue is served and judged once it answers.
    expect(of('key-scope', 'down')).toMatchObject({
      status: 'warn',
      details: { code: 'COFRE_VENUE_UNAVAILABLE' },
    });
    expect(of('clock', 'down')).toMatchObject({
      status: 'warn',
      details: { code: 'COFRE_VENUE_UNAVAILABLE' },
    });
    // 12 s behind: outside the 10 s recvWindow ccxt sends to binance, so even the signed key-scope read is refused
    // (-1021, the venue unavailable to this host); the clock check names the cause and fails.
    expect(of('key-scope', 'far')).toMatchObject({ status: 'warn' });
    expect(of('clock', 'far')).toMatchObject({ status: 'fail' });
    // 3 s ahead: past the 1 s Binance allows, so it is refused too.
    expect(of('key-scope', 'ahead')).toMatchObject({ status: 'warn' });
    expect(of('clock', 'ahead')).toMatchObject({ status: 'fail' });
  });

  it('fails the key-scope check of a key the venue refuses', () => {
    expect(of('key-scope', 'revoked')).toMatchObject({
      status: 'fail',
      details: { code: 'COFRE_VENUE_AUTH_FAILED' },
    });
    expect(of('clock', 'revoked')).toMatchObject({ status: 'ok' });
  });

  it('puts no credential in any finding', () => {
    const text = JSON.stringify(findings);
    for (const value of [API_KEY, SECRET, NARROW_KEY, NARROW_SECRET]) expect(text).not.toContain(value);
  });
});
