// ccxt loaded a piece at a time (ccxt-modules.ts): the pieces are ccxt's own (the same classes its package entry
// exports, so a ccxt upgrade that changes its layout fails here), and opening an account loads its venue's exchange
// class and no other (checked in a fresh process, where a module loader hook sees every module Node loads).
import { spawn } from 'node:child_process';

import * as ccxt from 'ccxt';
import { describe, expect, it } from 'vitest';

import { REVIEWED_VENUES } from '../config/reviewed-venues.js';
import { REPO_ROOT } from '../secrets/embedded/testdata/spawn-tsx.js';
import { ccxtExchangeIds, loadCcxtBase, loadExchangeClass } from './ccxt-modules.js';
import { knownVenueIds } from './venue-ids.js';

const entryClasses = ccxt.exchanges as unknown as Readonly<Record<string, unknown>>;

describe('the pieces are the ones ccxt exports', () => {
  it('the ids are exactly those of ccxt.exchanges', async () => {
    const ids = [...(await ccxtExchangeIds())].sort();
    expect(ids).toEqual(Object.keys(entryClasses).sort());
    expect(await knownVenueIds()).toBe(await ccxtExchangeIds());
  });

  it('each id loads the very class ccxt.exchanges holds for it', async () => {
    for (const id of await ccxtExchangeIds()) {
      expect(await loadExchangeClass(id), id).toBe(entryClasses[id]);
    }
  });

  it('the error classes and functions are the entry’s, so instanceof holds across both ways of loading', async () => {
    const { errors, functions } = await loadCcxtBase();
    const same = (a: object, b: object): void => {
      expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
      for (const [key, value] of Object.entries(a))
        expect(value, key).toBe((b as Record<string, unknown>)[key]);
    };
    same(errors, ccxt.errors);
    same(functions, ccxt.functions);
    expect(errors.OrderNotFound).toBe(ccxt.OrderNotFound);
    expect(new ccxt.OrderNotFound('x')).toBeInstanceOf(errors.BaseError);
  });

  it('an id ccxt does not ship loads nothing, whatever it looks like', async () => {
    for (const id of [
      'nosuchexchange',
      '__proto__',
      'constructor',
      'base',
      'pro',
      'abstract',
      '../ccxt',
      'base/Exchange',
      'Binance',
      '',
    ]) {
      expect(await loadExchangeClass(id), id).toBeUndefined();
    }
  });
});

interface Step {
  readonly step: string;
  readonly error?: string;
  readonly loaded: readonly string[];
}

/** Runs testdata/venue-modules-loaded.ts with `venues` and returns its steps. */
async function loadedModules(venues: readonly string[]): Promise<Step[]> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/venues/testdata/venue-modules-loaded.ts', ...venues],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  expect(code, err).toBe(0);
  return out
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Step);
}

/** The exchange classes among loaded ccxt modules (`src/<id>.js`, `<id>` an exchange id). */
function exchangeModules(loaded: readonly string[], ids: ReadonlySet<string>): string[] {
  return loaded.flatMap((path) => {
    const id = /^src\/([^/]+)\.js$/.exec(path)?.[1];
    return id !== undefined && ids.has(id) ? [id] : [];
  });
}

describe('opening an account loads only its venue’s exchange class', () => {
  it('listing ids loads nothing; each account adds its own class (and its parent), no other, no entry, no pro', async () => {
    const ids = await ccxtExchangeIds();
    const steps = await loadedModules(['binance', 'kraken', 'binanceus', 'okx', 'bitget', 'nosuchexchange']);
    expect(steps.map((s) => [s.step, s.error])).toEqual([
      [`ids:${ids.size}`, undefined],
      ['binance', undefined],
      ['kraken', undefined],
      ['binanceus', undefined],
      ['okx', undefined],
      ['bitget', 'COFRE_VENUE_UNREVIEWED'],
      ['nosuchexchange', 'COFRE_VENUE_UNKNOWN'],
    ]);
    const classes = steps.map((s) => exchangeModules(s.loaded, ids).sort());
    expect(classes).toEqual([
      [],
      ['binance'],
      ['binance', 'kraken'],
      ['binance', 'binanceus', 'kraken'],
      ['binance', 'binanceus', 'kraken', 'okx'],
      // An unreviewed venue is refused before its code is loaded.
      ['binance', 'binanceus', 'kraken', 'okx'],
      ['binance', 'binanceus', 'kraken', 'okx'],
    ]);
    const all = steps.at(-1)?.loaded ?? [];
    expect(all).not.toContain('ccxt.js');
    expect(all.filter((path) => path.startsWith('src/pro/') || path.startsWith('src/prediction/'))).toEqual(
      [],
    );
    // The venues cofre trades on are the ones checked above.
    expect(Object.keys(REVIEWED_VENUES).sort()).toEqual(['binance', 'binanceus', 'kraken', 'okx']);
  });
});
