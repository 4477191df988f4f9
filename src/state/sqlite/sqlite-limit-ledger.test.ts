// The limit ledger on real SQLite files, through the state store: reserving all checks or none, exactness at the
// cap and rounding, rolling windows on an injected clock, settlement (commit with actuals, release, twice), open
// orders, restart, two connections on one file and two OS processes, pruning, sums past 64 bits, migration and
// the query plans.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { isCofreError } from '../../errors.js';
import type { LimitCheck, LimitMeasure } from '../../policy/policy-types.js';
import { PRUNE_BATCH, PRUNE_GRACE_MS, RESERVE_READS } from './sqlite-limit-ledger.js';
import { SqliteStateStore } from './sqlite-state-store.js';

let dir: string;
let path: string;
let store: SqliteStateStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cofre-ledger-'));
  path = join(dir, 'state.db');
  store = new SqliteStateStore(path);
});

afterEach(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

const MINUTE = 60_000;
const t = (ms: number): Date => new Date(1_700_000_000_000 + ms);

function check(
  key: string,
  cap: string,
  amount: string,
  windowMs: number | undefined = MINUTE,
  measure: LimitMeasure = 'notional',
): LimitCheck {
  return { limit: `limit-${key}`, key, measure, windowMs, cap, amount };
}

const open = (key: string, cap: string): LimitCheck => ({
  ...check(key, cap, '1', MINUTE, 'openOrders'),
  windowMs: undefined,
});

function usageOf(key: string, at: Date, windowMs = MINUTE, s = store): string | undefined {
  return s.usage([{ key, windowMs }], at).get(key);
}

/** Usage of an `openOrders` key (no window). */
function openUsage(key: string, at: Date): string | undefined {
  return store.usage([{ key, windowMs: undefined }], at).get(key);
}

function invalidCode(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    return isCofreError(err, 'COFRE_LIMIT_INVALID') ? err.message : `other error: ${String(err)}`;
  }
  return undefined;
}

describe('reserve', () => {
  it('always grants an empty list of checks', () => {
    expect(store.reserve('r0', [], t(0))).toEqual({ ok: true });
    expect(store.reservedRequests()).toEqual([]);
  });

  it('is exact at the cap: 250 + 250 fit under 500, then 0.00000001 more is refused', () => {
    expect(store.reserve('r1', [check('k', '500', '250')], t(0))).toEqual({ ok: true });
    expect(store.reserve('r2', [check('k', '500', '250')], t(1))).toEqual({ ok: true });
    expect(store.reserve('r3', [check('k', '500', '0.00000001')], t(2))).toEqual({
      ok: false,
      limit: 'limit-k',
      key: 'k',
      cap: '500',
      used: '500',
      requested: '0.00000001',
    });
    // A request for nothing still fits at exactly the cap.
    expect(store.reserve('r4', [check('k', '500', '0')], t(3))).toEqual({ ok: true });
  });

  it('reserves every check or none, and names the first check that does not fit', () => {
    store.reserve('r1', [check('b', '10', '8')], t(0));
    const refused = store.reserve(
      'r2',
      [check('a', '100', '5'), check('b', '10', '5'), check('c', '1', '5')],
      t(1),
    );
    expect(refused).toMatchObject({ ok: false, key: 'b', used: '8', requested: '5', cap: '10' });
    expect(usageOf('a', t(1))).toBe('0');
    expect(store.reservedRequests()).toEqual(['r1']);
    expect(store.reserve('r3', [check('a', '100', '100')], t(2))).toEqual({ ok: true });
  });

  it('rounds an amount up and a cap down to 0.00000001, so rounding never lets a cap pass', () => {
    // The cap 0.000000019 counts as 0.00000001; the amount 0.000000001 as 0.00000001.
    expect(store.reserve('r1', [check('k', '0.000000019', '0.000000001')], t(0))).toEqual({ ok: true });
    expect(usageOf('k', t(0))).toBe('0.00000001');
    expect(store.reserve('r2', [check('k', '0.000000019', '0.000000001')], t(0))).toMatchObject({
      ok: false,
      cap: '0.00000001',
      used: '0.00000001',
      requested: '0.00000001',
    });
    // Digits past the eighth that are all zero are not rounded.
    expect(store.reserve('r3', [check('j', '1', '0.999999990000')], t(0))).toEqual({ ok: true });
    expect(usageOf('j', t(0))).toBe('0.99999999');
  });

  it('rejects caps, amounts and windows it cannot count, naming the limit, and reserves nothing', () => {
    expect(store.reserve('ok', [check('k', '10000000000', '10000000000')], t(0))).toEqual({ ok: true });
    const bad: LimitCheck[] = [
      check('k', '10000000000.00000001', '1'),
      check('k', '10', '10000000000.000000001'),
      check('k', '-1', '1'),
      check('k', '10', '1e3'),
      check('k', '10', ''),
      check('k', '10', '1', 0),
      check('k', '10', '1', 1.5),
      { ...check('k', '10', '1'), windowMs: undefined },
      check('k', '10', '1', MINUTE, 'openOrders'),
    ];
    for (const c of bad) {
      const message = invalidCode(() => store.reserve('r', [check('other', '5', '1'), c], t(0)));
      expect(message, JSON.stringify(c)).toMatch(/^limit limit-k \(k\): /);
    }
    expect(store.reservedRequests()).toEqual(['ok']);
    expect(usageOf('other', t(0))).toBe('0');
  });

  it('counts two checks on one key (two limits sharing a counter) once, against each cap', () => {
    const daily = check('k', '100', '30');
    const strict = { ...check('k', '50', '30'), limit: 'strict' };
    expect(store.reserve('r1', [daily, strict], t(0))).toEqual({ ok: true });
    expect(usageOf('k', t(0))).toBe('30');
    expect(store.reserve('r2', [daily, strict], t(0))).toMatchObject({ ok: false, limit: 'strict' });
  });

  it('refuses a second reservation for a request that still holds one', () => {
    store.reserve('r1', [check('k', '10', '1')], t(0));
    expect(() => store.reserve('r1', [check('k', '10', '1')], t(0))).toThrow(/already holds/);
    expect(usageOf('k', t(0))).toBe('1');
  });

  it('lists the requests holding a reservation, oldest first', () => {
    store.reserve('b', [check('k', '10', '1'), check('j', '10', '1')], t(5));
    store.reserve('a', [check('k', '10', '1')], t(7));
    store.reserve('c', [check('k', '10', '1')], t(1));
    expect(store.reservedRequests()).toEqual(['c', 'b', 'a']);
    store.settleReservation('b', { kind: 'release' });
    store.settleReservation('c', { kind: 'commit', at: t(8) });
    expect(store.reservedRequests()).toEqual(['a']);
  });
});

describe('windows and settlement', () => {
  it('counts a commit for its window after the commit time, on the injected clock', () => {
    store.reserve('r1', [check('k', '100', '60')], t(0));
    store.settleReservation('r1', { kind: 'commit', at: t(10_000) });
    expect(usageOf('k', t(10_000 + MINUTE - 1))).toBe('60');
    expect(store.reserve('r2', [check('k', '100', '41')], t(10_000 + MINUTE - 1))).toMatchObject({
      ok: false,
    });
    expect(usageOf('k', t(10_000 + MINUTE))).toBe('0');
    expect(store.reserve('r3', [check('k', '100', '100')], t(10_000 + MINUTE))).toEqual({ ok: true });
  });

  it('rolls: each commit leaves the window on its own', () => {
    for (let i = 0; i < 4; i++) {
      store.reserve(`r${i}`, [check('k', '100', '10')], t(i * 20_000));
      store.settleReservation(`r${i}`, { kind: 'commit', at: t(i * 20_000) });
    }
    // Commits at 0, 20 s, 40 s, 60 s; a 60 s window at 60 s holds the last three.
    expect(usageOf('k', t(60_000))).toBe('30');
    expect(usageOf('k', t(79_999))).toBe('30');
    expect(usageOf('k', t(80_000))).toBe('20');
    expect(usageOf('k', t(120_000))).toBe('0');
    // The same key read with a longer window sees more of the same rows.
    expect(usageOf('k', t(60_000), 3 * MINUTE)).toBe('40');
  });

  it('keeps counting a reservation whose outcome is unknown, for as long as it is not settled', () => {
    store.reserve('lost', [check('k', '100', '70')], t(0));
    expect(usageOf('k', t(1000 * MINUTE))).toBe('70');
    expect(store.reserve('r2', [check('k', '100', '31')], t(1000 * MINUTE))).toMatchObject({ ok: false });
    expect(store.reservedRequests()).toEqual(['lost']);
  });

  it('release gives the whole reservation back', () => {
    store.reserve('r1', [check('k', '100', '70'), open('o', '1')], t(0));
    store.settleReservation('r1', { kind: 'release' });
    expect(usageOf('k', t(0))).toBe('0');
    expect(openUsage('o', t(0))).toBe('0');
    expect(store.reserve('r2', [check('k', '100', '100'), open('o', '1')], t(0))).toEqual({ ok: true });
  });

  it('commits the actual amounts where given (0 included) and the reserved ones elsewhere', () => {
    store.reserve('r1', [check('a', '100', '50'), check('b', '100', '50'), check('c', '100', '50')], t(0));
    store.settleReservation('r1', {
      kind: 'commit',
      at: t(0),
      actual: new Map([
        ['a', '12.5'],
        ['b', '0'],
      ]),
    });
    expect(
      store.usage(
        [
          { key: 'a', windowMs: MINUTE },
          { key: 'b', windowMs: MINUTE },
          { key: 'c', windowMs: MINUTE },
        ],
        t(1),
      ),
    ).toEqual(
      new Map([
        ['a', '12.5'],
        ['b', '0'],
        ['c', '50'],
      ]),
    );
    expect(store.reservedRequests()).toEqual([]);
  });

  it('does nothing on a second settlement, whichever kind', () => {
    store.reserve('r1', [check('k', '100', '40')], t(0));
    store.settleReservation('r1', { kind: 'commit', at: t(0) });
    store.settleReservation('r1', { kind: 'commit', at: t(1) });
    store.settleReservation('r1', { kind: 'release' });
    expect(usageOf('k', t(2))).toBe('40');
    store.reserve('r2', [check('k', '100', '40')], t(2));
    store.settleReservation('r2', { kind: 'release' });
    store.settleReservation('r2', { kind: 'commit', at: t(3) });
    expect(usageOf('k', t(3))).toBe('40');
    // Settling a request that never reserved is harmless too.
    store.settleReservation('never', { kind: 'commit', at: t(3) });
  });

  it('counts a commit stamped before the key’s last commit from that last commit (clocks of two processes)', () => {
    store.reserve('r1', [check('k', '100', '10')], t(0));
    store.reserve('r2', [check('k', '100', '10')], t(0));
    store.settleReservation('r1', { kind: 'commit', at: t(5_000) });
    store.settleReservation('r2', { kind: 'commit', at: t(1_000) }); // a clock running 4 s behind
    expect(usageOf('k', t(1_000 + MINUTE))).toBe('20');
    expect(usageOf('k', t(5_000 + MINUTE))).toBe('0');
    // A commit stamped after the time asked about still counts.
    expect(usageOf('k', t(0))).toBe('20');
  });

  it('refuses an actual that is not a decimal before changing anything; records one past the range at its top', () => {
    store.reserve('r1', [check('k', '100', '10')], t(0));
    expect(
      invalidCode(() => {
        store.settleReservation('r1', { kind: 'commit', at: t(0), actual: new Map([['k', 'ten']]) });
      }),
    ).toMatch(/not a decimal/);
    expect(store.reservedRequests()).toEqual(['r1']);
    store.settleReservation('r1', { kind: 'commit', at: t(0), actual: new Map([['k', '99999999999']]) });
    expect(usageOf('k', t(0))).toBe('10000000000');
  });
});

describe('open orders', () => {
  it('counts an order committed open until it is closed', () => {
    store.reserve('r1', [open('o', '2')], t(0));
    store.settleReservation('r1', { kind: 'commit', at: t(0), openOrder: { account: 'acc', orderId: 'x1' } });
    store.reserve('r2', [open('o', '2')], t(1));
    expect(openUsage('o', t(1))).toBe('2');
    expect(store.reserve('r3', [open('o', '2')], t(1000 * MINUTE))).toMatchObject({ ok: false, used: '2' });
    store.settleReservation('r2', { kind: 'commit', at: t(2), openOrder: { account: 'acc', orderId: 'x2' } });
    store.closeOpenOrder('acc', 'x1');
    expect(openUsage('o', t(3))).toBe('1');
    expect(store.reserve('r4', [open('o', '2')], t(3))).toEqual({ ok: true });
  });

  it('does not count an order committed without being open (filled at once), nor one committed with actual 0', () => {
    store.reserve('r1', [open('o', '1')], t(0));
    store.settleReservation('r1', { kind: 'commit', at: t(0) });
    store.reserve('r2', [open('o', '1')], t(0));
    store.settleReservation('r2', {
      kind: 'commit',
      at: t(0),
      actual: new Map([['o', '0']]),
      openOrder: { account: 'acc', orderId: 'x2' },
    });
    expect(openUsage('o', t(0))).toBe('0');
  });

  it('syncs to the orders the venue lists, keeping ones committed after the venue was asked', () => {
    for (const [i, at] of [0, 10, 20].entries()) {
      store.reserve(`r${i}`, [open('o', '5'), check('n', '100', '1')], t(at));
      store.settleReservation(`r${i}`, {
        kind: 'commit',
        at: t(at),
        openOrder: { account: 'acc', orderId: `x${i}` },
      });
    }
    store.reserve('other', [open('p', '5')], t(0));
    store.settleReservation('other', {
      kind: 'commit',
      at: t(0),
      openOrder: { account: 'acc2', orderId: 'y' },
    });
    store.syncOpenOrders('acc', ['x1'], t(15));
    expect(openUsage('o', t(30))).toBe('2'); // x1 listed, x2 committed after the venue answered
    store.syncOpenOrders('acc', []);
    expect(openUsage('o', t(30))).toBe('0');
    expect(openUsage('p', t(30))).toBe('1'); // another account is untouched
    expect(usageOf('n', t(30))).toBe('3'); // windowed usage is not open orders
  });

  it('counts one order once even if committed twice under one key', () => {
    for (const id of ['r1', 'r2']) {
      store.reserve(id, [open('o', '5')], t(0));
      store.settleReservation(id, {
        kind: 'commit',
        at: t(0),
        openOrder: { account: 'acc', orderId: 'same' },
      });
    }
    expect(openUsage('o', t(0))).toBe('1');
  });
});

describe('durability and concurrency', () => {
  it('keeps reservations, usage and open orders across a restart', () => {
    store.reserve('held', [check('k', '100', '30')], t(0));
    store.reserve('done', [check('k', '100', '20'), open('o', '3')], t(0));
    store.settleReservation('done', {
      kind: 'commit',
      at: t(0),
      openOrder: { account: 'acc', orderId: 'x' },
    });
    store.close();
    store = new SqliteStateStore(path);
    expect(store.reservedRequests()).toEqual(['held']);
    expect(usageOf('k', t(1))).toBe('50');
    expect(openUsage('o', t(1))).toBe('1');
    store.settleReservation('held', { kind: 'release' });
    expect(usageOf('k', t(1))).toBe('20');
  });

  it('shares one budget between two connections to the same file (two processes)', () => {
    const other = new SqliteStateStore(path);
    try {
      const stores = [store, other];
      let granted = 0;
      for (let i = 0; i < 20; i++) {
        const s = stores[i % 2] ?? store;
        if (s.reserve(`r${i}`, [check('k', '100', '15')], t(i)).ok) granted++;
      }
      expect(granted).toBe(6);
      expect(usageOf('k', t(20), MINUTE, other)).toBe('90');
      other.settleReservation('r0', { kind: 'commit', at: t(21), actual: new Map([['k', '5']]) });
      expect(store.reserve('late', [check('k', '100', '15')], t(22))).toEqual({ ok: true });
      expect(usageOf('k', t(22), MINUTE, other)).toBe('95');
      expect(other.reservedRequests()).toHaveLength(6);
    } finally {
      other.close();
    }
  });
});

describe('storage', () => {
  function rows(table: string): number {
    const db = new Database(path, { readonly: true });
    try {
      return db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;
    } finally {
      db.close();
    }
  }

  it('prunes committed rows past their key’s longest window, a bounded batch per commit, without changing sums', () => {
    const commit = (id: string, key: string, at: number, windowMs: number): void => {
      store.reserve(id, [check(key, '1000000', '1', windowMs)], t(at));
      store.settleReservation(id, { kind: 'commit', at: t(at) });
    };
    for (let i = 0; i < PRUNE_BATCH + 10; i++) commit(`short${i}`, 'short', 0, MINUTE);
    commit('long0', 'long', 0, 10 * MINUTE);
    expect(rows('limit_usage')).toBe(PRUNE_BATCH + 11);
    const later = MINUTE + PRUNE_GRACE_MS;
    commit('short-late', 'short', later, MINUTE);
    expect(rows('limit_usage')).toBe(12); // one batch deleted, the new row added
    commit('short-late2', 'short', later, MINUTE);
    expect(rows('limit_usage')).toBe(3); // the long window's row is kept
    expect(usageOf('short', t(later))).toBe('2');
    expect(usageOf('long', t(later), 10 * MINUTE)).toBe('1');
  });

  it('sums committed usage past 64 bits exactly, and counts an overflowing open-order sum as over every cap', () => {
    // Ten reservations that fit, each committed at far more than it reserved (the range's top).
    for (let i = 0; i < 10; i++) {
      expect(
        store.reserve(`r${i}`, [check('k', '10000000000', '1'), open('o', '10000000000')], t(0)).ok,
      ).toBe(true);
    }
    for (let i = 0; i < 10; i++) {
      store.settleReservation(`r${i}`, {
        kind: 'commit',
        at: t(0),
        actual: new Map([
          ['k', '10000000000'],
          ['o', '10000000000'],
        ]),
        openOrder: { account: 'acc', orderId: `x${i}` },
      });
    }
    expect(usageOf('k', t(1))).toBe('100000000000');
    expect(store.reserve('next', [check('k', '10000000000', '0')], t(1))).toMatchObject({ ok: false });
    expect(store.reserve('next', [open('o', '10000000000')], t(1))).toMatchObject({ ok: false });
  });

  it('migrates a version-1 file to the current version and keeps its requests', async () => {
    const oldPath = join(dir, 'v1.db');
    const old = new Database(oldPath);
    old.exec(`CREATE TABLE requests (request_id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, action TEXT NOT NULL,
      account TEXT, idempotency_key TEXT UNIQUE, status TEXT NOT NULL, response TEXT, created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL, input TEXT);
      INSERT INTO requests VALUES ('r0', 'alice', 'place_order', 'paper', 'k1', 'executed', '{}', 1, 1, '{}');
      PRAGMA user_version = 1;`);
    old.close();
    const migrated = new SqliteStateStore(oldPath);
    try {
      expect(migrated.request('r0')).toMatchObject({ status: 'executed' });
      expect(migrated.reserve('r1', [check('k', '1', '1')], t(0))).toEqual({ ok: true });
    } finally {
      migrated.close();
    }
    const db = new Database(oldPath, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(5);
    db.close();
    await rm(oldPath, { force: true });
  });

  it('answers every read of a reservation from an index, with no scan or sort', () => {
    const db = new Database(path, { readonly: true });
    try {
      for (const sql of Object.values(RESERVE_READS)) {
        const statement = db.prepare(`EXPLAIN QUERY PLAN ${sql}`);
        const params = sql.includes('at > ?') ? ['k', 0] : ['k'];
        const plan = (statement.all(...params) as { detail: string }[]).map((r) => r.detail).join('; ');
        expect(plan, sql).toMatch(/^SEARCH /);
        expect(plan, sql).not.toMatch(/SCAN|TEMP B-TREE/);
      }
    } finally {
      db.close();
    }
  });
});

describe('two OS processes', () => {
  /** Starts a racer (testdata/ledger-racer.ts) and resolves once it has opened the file. */
  function racer(name: string, count: number) {
    const script = fileURLToPath(new URL('testdata/ledger-racer.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', script, JSON.stringify({ path, name, count })],
      {
        cwd: fileURLToPath(new URL('../../../', import.meta.url)),
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    const output = new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => {
        if (code === 0) resolve(out);
        else reject(new Error(`racer ${name} exited with ${String(code)}`));
      });
    });
    return { child, output };
  }

  async function ready(child: ReturnType<typeof racer>['child']): Promise<void> {
    await new Promise<void>((resolve) => {
      const onData = (chunk: Buffer): void => {
        if (chunk.toString('utf8').includes('ready\n')) {
          child.stdout.off('data', onData);
          resolve();
        }
      };
      child.stdout.on('data', onData);
    });
  }

  it('holds a cap of 1 as a mutex between two processes reserving on one file at once', async () => {
    const racers = [racer('a', 400), racer('b', 400)];
    await Promise.all(racers.map((r) => ready(r.child)));
    for (const r of racers) r.child.stdin.write('go\n');
    const results = (await Promise.all(racers.map((r) => r.output))).map((o) => {
      const last = o.trim().split('\n').at(-1) ?? '{}';
      return JSON.parse(last) as { acquired: number; violations: number };
    });
    // Both held the token at times (they really raced), and never both at once.
    for (const r of results) expect(r.acquired).toBeGreaterThan(0);
    expect(results.map((r) => r.violations)).toEqual([0, 0]);
    expect(usageOf('token', t(0))).toBe('0');
    expect(store.reservedRequests()).toEqual([]);
  });
});
