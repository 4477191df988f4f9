// The limit ledger on a real PostgreSQL server, what is PostgreSQL's own (what every ledger does is in the
// conformance suite, limit-ledger.conformance.test.ts): child processes with their own pools racing on one cap,
// concurrent reservations and settlements in one process, settlement and restoration inside a caller's transaction
// that commits or rolls back, pruning, the query plans, a key held by a hung transaction, and database failures as
// COFRE_STATE_UNAVAILABLE.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';

import { peerOrSkip } from '../../../test/peers/peer-or-skip.js';
import { startPostgres } from '../../../test/peers/peers.js';
import { CofreError, isCofreError } from '../../errors.js';
import type { LimitCheck } from '../../policy/policy-types.js';
import { PRUNE_BATCH, PRUNE_GRACE_MS } from '../limit-ledger-rules.js';
import { PgDb } from './pg-db.js';
import { LEDGER_LOCK_CLASS, PostgresLimitLedger, RESERVE_USAGE } from './postgres-limit-ledger.js';
import { createLedgerDatabase, openLedger } from './testdata/ledger-database.js';

const server = await peerOrSkip('PostgreSQL', startPostgres);

afterAll(async () => {
  await server?.stop();
});

const MINUTE = 60_000;
const t = (ms: number): Date => new Date(1_700_000_000_000 + ms);
const check = (key: string, cap: string, amount: string, windowMs = MINUTE): LimitCheck => ({
  limit: `limit-${key}`,
  key,
  measure: 'notional',
  windowMs,
  cap,
  amount,
});

describe.skipIf(server === undefined)('PostgresLimitLedger', () => {
  let database: string;
  let ledger: PostgresLimitLedger;
  let db: PgDb;
  const closers: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    database = await createLedgerDatabase(server?.connectionString ?? '');
    const opened = openLedger(database, 10);
    ({ ledger, db } = opened);
    closers.push(opened.close);
  });

  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  async function usageOf(key: string, at: Date, windowMs = MINUTE): Promise<string | undefined> {
    return (await ledger.usage([{ key, windowMs }], at)).get(key);
  }

  async function rows(table: string): Promise<number> {
    const { rows: counted } = await db.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${table}`);
    return Number(counted[0]?.n);
  }

  describe('child processes, each with its own pool', () => {
    interface Tally {
      accepted: number;
      violations: number;
    }

    /** Starts racers (testdata/ledger-racer.ts), waits until each has its pool, starts them together. */
    async function race(
      racers: number,
      config: { mode: 'budget' | 'mutex'; cap: string; count: number; parallel: number },
    ): Promise<Tally[]> {
      const script = fileURLToPath(new URL('testdata/ledger-racer.ts', import.meta.url));
      const children = Array.from({ length: racers }, (_, index) => {
        const args = JSON.stringify({
          connectionString: database,
          name: `p${String(index)}`,
          index,
          ...config,
        });
        const child = spawn(process.execPath, ['--import', 'tsx', script, args], {
          cwd: fileURLToPath(new URL('../../../', import.meta.url)),
          stdio: ['pipe', 'pipe', 'inherit'],
        });
        let out = '';
        const ready = new Promise<void>((resolve) => {
          child.stdout.on('data', (chunk: Buffer) => {
            out += chunk.toString('utf8');
            if (out.includes('ready\n')) resolve();
          });
        });
        const done = new Promise<Tally>((resolve, reject) => {
          child.once('exit', (code) => {
            const last = out.trim().split('\n').at(-1) ?? '';
            if (code === 0) resolve(JSON.parse(last) as Tally);
            else reject(new Error(`racer ${String(index)} exited with ${String(code)}`));
          });
        });
        return { child, ready, done };
      });
      await Promise.all(children.map((c) => c.ready));
      for (const c of children) c.child.stdin.write('go\n');
      return Promise.all(children.map((c) => c.done));
    }

    it('grants exactly the cap to four processes reserving against it at once, all of each reservation or none', async () => {
      const tallies = await race(4, { mode: 'budget', cap: '100', count: 60, parallel: 5 });
      // 240 attempts on a cap of 100: exactly 100 granted, and the refused ones left nothing on the other key.
      expect(tallies.reduce((sum, r) => sum + r.accepted, 0)).toBe(100);
      expect(await usageOf('token', t(0))).toBe('100');
      expect(await usageOf('shared', t(0))).toBe('100');
      expect(await ledger.reservedRequests()).toHaveLength(100);
      // Every racer got some: they really raced.
      for (const r of tallies) expect(r.accepted).toBeGreaterThan(0);
    });

    it('holds a cap of 1 as a mutex between three processes reserving and releasing at once', async () => {
      const tallies = await race(3, { mode: 'mutex', cap: '1', count: 150, parallel: 3 });
      for (const r of tallies) expect(r.accepted).toBeGreaterThan(0);
      expect(tallies.map((r) => r.violations)).toEqual([0, 0, 0]);
      expect(await usageOf('token', t(0))).toBe('0');
      expect(await ledger.reservedRequests()).toEqual([]);
    });
  });

  describe('concurrent calls in one process', () => {
    it('grants 20 concurrent reservations exactly up to the cap', async () => {
      const verdicts = await Promise.all(
        Array.from({ length: 20 }, (_, i) => ledger.reserve(`r${String(i)}`, [check('k', '70', '10')], t(0))),
      );
      expect(verdicts.filter((v) => v.ok)).toHaveLength(7);
      expect(await usageOf('k', t(0))).toBe('70');
    });

    it('keeps a key’s running total exact under 20 concurrent commits of different requests', async () => {
      const ids = Array.from({ length: 20 }, (_, i) => `r${String(i)}`);
      for (const id of ids) await ledger.reserve(id, [check('k', '100', '1'), check('j', '100', '2')], t(0));
      // Two waves of ten concurrent commits: at 0 s, then at 30 s.
      for (const wave of [0, 1]) {
        await Promise.all(
          ids
            .slice(wave * 10, wave * 10 + 10)
            .map((id) => ledger.settleReservation(id, { kind: 'commit', at: t(wave * 30_000) })),
        );
      }
      expect(await usageOf('k', t(30_000))).toBe('20');
      expect(await usageOf('j', t(30_000))).toBe('40');
      // The first wave has left the window, the second not: the running totals before each row are right too.
      expect(await usageOf('k', t(MINUTE))).toBe('10');
      expect(await usageOf('j', t(MINUTE))).toBe('20');
    });

    it('counts a reservation settled by ten concurrent settlements (two pools) once', async () => {
      const other = openLedger(database, 5);
      closers.push(other.close);
      await ledger.reserve('r1', [check('k', '100', '40')], t(0));
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? ledger : other.ledger).settleReservation('r1', { kind: 'commit', at: t(i) }),
        ),
      );
      expect(await usageOf('k', t(10))).toBe('40');
      expect(await rows('limit_usage')).toBe(1);
      expect(await ledger.reservedRequests()).toEqual([]);
    });
  });

  describe("inside the caller's transaction", () => {
    it('leaves the reservation as it was when the transaction that settled it rolls back', async () => {
      await ledger.reserve('r1', [check('k', '100', '40')], t(0));
      const rollback = new CofreError('COFRE_INTERNAL', 'the finish failed after the settlement');
      await expect(
        db.transaction(async (tx) => {
          await ledger.settleIn(tx, 'r1', { kind: 'commit', at: t(1), actual: new Map([['k', '5']]) });
          throw rollback;
        }),
      ).rejects.toBe(rollback);
      expect(await ledger.reservedRequests()).toEqual(['r1']);
      expect(await usageOf('k', t(1))).toBe('40');
      expect(await rows('limit_usage')).toBe(0);
      // And the settlement still happens once, later.
      await db.transaction((tx) => ledger.settleIn(tx, 'r1', { kind: 'commit', at: t(2) }));
      expect(await usageOf('k', t(2))).toBe('40');
      expect(await ledger.reservedRequests()).toEqual([]);
    });

    it('restores a spent reservation over the cap, once, and not when rolled back', async () => {
      await ledger.reserve('other', [check('k', '10', '10')], t(0));
      await expect(
        db.transaction(async (tx) => {
          await ledger.restoreReservationIn(tx, 'lost', [check('k', '10', '4')], t(0));
          throw new CofreError('COFRE_INTERNAL', 'rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect(await ledger.reservedRequests()).toEqual(['other']);
      await db.transaction((tx) => ledger.restoreReservationIn(tx, 'lost', [check('k', '10', '4')], t(1)));
      // A second restoration of a request that holds one does nothing.
      await db.transaction((tx) => ledger.restoreReservationIn(tx, 'lost', [check('k', '10', '9')], t(2)));
      expect(await ledger.reservedRequests()).toEqual(['other', 'lost']);
      expect(await usageOf('k', t(2))).toBe('14');
      await expect(
        db.transaction((tx) => ledger.restoreReservationIn(tx, 'bad', [check('k', '10', '-1')], t(2))),
      ).rejects.toThrow(/limit limit-k \(k\)/);
    });
  });

  describe('storage', () => {
    it('prunes committed rows past their key’s longest window, a bounded batch per commit, without changing sums', async () => {
      const commit = async (id: string, key: string, at: number, windowMs: number): Promise<void> => {
        await ledger.reserve(id, [check(key, '1000000', '1', windowMs)], t(at));
        await ledger.settleReservation(id, { kind: 'commit', at: t(at) });
      };
      for (let i = 0; i < PRUNE_BATCH + 10; i++) await commit(`short${String(i)}`, 'short', 0, MINUTE);
      await commit('long0', 'long', 0, 10 * MINUTE);
      expect(await rows('limit_usage')).toBe(PRUNE_BATCH + 11);
      const later = MINUTE + PRUNE_GRACE_MS;
      await commit('short-late', 'short', later, MINUTE);
      expect(await rows('limit_usage')).toBe(12); // one batch deleted, the new row added
      await commit('short-late2', 'short', later, MINUTE);
      expect(await rows('limit_usage')).toBe(3); // the long window's row is kept
      expect(await usageOf('short', t(later))).toBe('2');
      expect(await usageOf('long', t(later), 10 * MINUTE)).toBe('1');
    });

    it('answers the reads of a reservation from indexes, with no sequential scan or sort, on a large ledger', async () => {
      // 2000 keys with 10 committed rows and 2 reservations and open orders each: the planner would scan a table
      // only without a usable index.
      await db.query(`INSERT INTO limit_usage (key, at, amount, before_total, expires_at)
        SELECT 'k' || (i % 2000), i, 1, i / 2000, i + 60000 FROM generate_series(0, 19999) AS i`);
      await db.query(`INSERT INTO limit_totals (key, total, last_at, window_ms)
        SELECT 'k' || i, 10, 19999, 60000 FROM generate_series(0, 1999) AS i`);
      await db.query(`INSERT INTO limit_reservations (request_id, key, measure, window_ms, amount, reserved_at)
        SELECT 'r' || i, 'k' || (i % 2000), 'notional', 60000, 1, i FROM generate_series(0, 3999) AS i`);
      await db.query(`INSERT INTO limit_open_orders (account, order_id, key, amount, opened_at)
        SELECT 'acc', 'o' || i, 'k' || (i % 2000), 1, i FROM generate_series(0, 3999) AS i`);
      await db.query('VACUUM ANALYZE');
      const plan = async (checks: LimitCheck[]): Promise<string> => {
        const { rows: lines } = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${RESERVE_USAGE}`, [
          checks.map((c) => c.key),
          checks.map((c) => c.windowMs ?? null),
          t(0).getTime(),
          'r1',
        ]);
        return lines.map((l) => l['QUERY PLAN']).join('\n');
      };
      const explained = await plan([
        check('k7', '10', '1'),
        { ...check('k8', '10', '1'), windowMs: undefined },
      ]);
      expect(explained).toMatch(/Index/);
      expect(explained).not.toMatch(/Seq Scan on limit_|Sort/);
    });
  });

  describe('errors', () => {
    it('turns a database without the ledger tables into COFRE_STATE_UNAVAILABLE, naming no password', async () => {
      const bare = new URL(server?.connectionString ?? '');
      const empty = openLedger(bare.toString());
      closers.push(empty.close);
      const failed = await empty.ledger.reserve('r1', [check('k', '10', '1')], t(0)).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(isCofreError(failed, 'COFRE_STATE_UNAVAILABLE')).toBe(true);
      expect((failed as Error).message).not.toContain(server?.password ?? '');
      expect((failed as Error).message).toMatch(/SQLSTATE 42P01/);
    });

    it('fails a reservation waiting on a key another transaction holds after the statement timeout, reserving nothing', async () => {
      // A replica that hangs mid-reservation (a network partition) holds its key's lock; the waiting one gives up.
      const impatient = new PgDb(new pg.Pool({ connectionString: database, statement_timeout: 300 }));
      closers.push(() => impatient.close());
      const waiting = new PostgresLimitLedger(impatient);
      const holder = await db.pool.connect();
      try {
        await holder.query('BEGIN');
        await holder.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LEDGER_LOCK_CLASS, 'k']);
        const failed = await waiting.reserve('r1', [check('j', '10', '1'), check('k', '10', '1')], t(0)).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(isCofreError(failed, 'COFRE_STATE_UNAVAILABLE')).toBe(true);
        expect((failed as Error).message).toMatch(/SQLSTATE 57014/);
        // Another key is not held up.
        expect(await waiting.reserve('r2', [check('j', '10', '1')], t(0))).toEqual({ ok: true });
      } finally {
        await holder.query('ROLLBACK');
        holder.release();
      }
      expect(await ledger.reservedRequests()).toEqual(['r2']);
      expect(await usageOf('j', t(0))).toBe('1');
    });

    it('refuses a second reservation for a request that holds one as COFRE_INTERNAL, not as a database failure', async () => {
      await ledger.reserve('r1', [check('k', '10', '1')], t(0));
      const failed = await ledger.reserve('r1', [check('j', '10', '1')], t(0)).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(isCofreError(failed, 'COFRE_INTERNAL')).toBe(true);
    });
  });
});
