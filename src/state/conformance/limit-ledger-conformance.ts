import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { isCofreError } from '../../errors.js';
import type { LimitCheck, LimitMeasure } from '../../policy/policy-types.js';
import type { LimitLedger } from '../limit-ledger.js';
import { limitLedgerProperty } from './limit-ledger-property.js';

/** A connection to a ledger's storage, as a test file opens it. */
export interface OpenedLimitLedger {
  readonly ledger: LimitLedger;
  /** Closes this connection (not the storage: the next `open` of the same test finds everything kept). */
  close(): Promise<void>;
}

/**
 * Opens a connection to the storage of the running test. The test file gives each test fresh, empty storage (in a
 * `beforeEach` of its own, registered before the suite); every call within one test reaches that same storage, as
 * another process or a restart would: the suite opens it again to test restarts and two connections at once.
 */
export type OpenLimitLedger = () => Promise<OpenedLimitLedger>;

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

/** The message of the `COFRE_LIMIT_INVALID` that `run` throws or rejects with. */
async function invalidMessage(run: () => unknown): Promise<string | undefined> {
  try {
    await run();
  } catch (err) {
    return isCofreError(err, 'COFRE_LIMIT_INVALID') ? err.message : `other error: ${String(err)}`;
  }
  return undefined;
}

/**
 * The executable specification of {@link LimitLedger} (limit-ledger.ts): registers vitest `describe` blocks that
 * every ledger must pass — SQLite and PostgreSQL — with the same answers for every input: reserving all checks or
 * none, exactness at the cap and rounding, rolling windows on an injected clock, settlement (commit with actuals,
 * release, twice), open orders and their sync, restart, two connections on one storage, sums past 64 bits, and a
 * property test against an independent model (limit-ledger-property.ts; `propertyRuns` of it, default 200). Every
 * call is awaited, so a ledger may answer with values (SQLite) or promises (PostgreSQL).
 */
export function exerciseLimitLedger(
  name: string,
  openLedger: OpenLimitLedger,
  options: { readonly propertyRuns?: number } = {},
): void {
  describe(`LimitLedger conformance: ${name}`, () => {
    const opened: OpenedLimitLedger[] = [];
    let ledger: LimitLedger;

    /** Opens one more connection to this test's storage; closed after the test. */
    async function connect(): Promise<LimitLedger> {
      const o = await openLedger();
      opened.push(o);
      return o.ledger;
    }

    beforeEach(async () => {
      ledger = await connect();
    });

    afterEach(async () => {
      for (const o of opened.splice(0)) await o.close();
    });

    async function usageOf(
      key: string,
      at: Date,
      windowMs = MINUTE,
      l = ledger,
    ): Promise<string | undefined> {
      return (await l.usage([{ key, windowMs }], at)).get(key);
    }

    /** Usage of an `openOrders` key (no window). */
    async function openUsage(key: string, at: Date): Promise<string | undefined> {
      return (await ledger.usage([{ key, windowMs: undefined }], at)).get(key);
    }

    describe('reserve', () => {
      it('always grants an empty list of checks', async () => {
        expect(await ledger.reserve('r0', [], t(0))).toEqual({ ok: true });
        expect(await ledger.reservedRequests()).toEqual([]);
      });

      it('is exact at the cap: 250 + 250 fit under 500, then 0.00000001 more is refused', async () => {
        expect(await ledger.reserve('r1', [check('k', '500', '250')], t(0))).toEqual({ ok: true });
        expect(await ledger.reserve('r2', [check('k', '500', '250')], t(1))).toEqual({ ok: true });
        expect(await ledger.reserve('r3', [check('k', '500', '0.00000001')], t(2))).toEqual({
          ok: false,
          limit: 'limit-k',
          key: 'k',
          cap: '500',
          used: '500',
          requested: '0.00000001',
        });
        // A request for nothing still fits at exactly the cap.
        expect(await ledger.reserve('r4', [check('k', '500', '0')], t(3))).toEqual({ ok: true });
      });

      it('reserves every check or none, and names the first check that does not fit', async () => {
        await ledger.reserve('r1', [check('b', '10', '8')], t(0));
        const refused = await ledger.reserve(
          'r2',
          [check('a', '100', '5'), check('b', '10', '5'), check('c', '1', '5')],
          t(1),
        );
        expect(refused).toMatchObject({ ok: false, key: 'b', used: '8', requested: '5', cap: '10' });
        expect(await usageOf('a', t(1))).toBe('0');
        expect(await ledger.reservedRequests()).toEqual(['r1']);
        expect(await ledger.reserve('r3', [check('a', '100', '100')], t(2))).toEqual({ ok: true });
      });

      it('rounds an amount up and a cap down to 0.00000001, so rounding never lets a cap pass', async () => {
        // The cap 0.000000019 counts as 0.00000001; the amount 0.000000001 as 0.00000001.
        expect(await ledger.reserve('r1', [check('k', '0.000000019', '0.000000001')], t(0))).toEqual({
          ok: true,
        });
        expect(await usageOf('k', t(0))).toBe('0.00000001');
        expect(await ledger.reserve('r2', [check('k', '0.000000019', '0.000000001')], t(0))).toMatchObject({
          ok: false,
          cap: '0.00000001',
          used: '0.00000001',
          requested: '0.00000001',
        });
        // Digits past the eighth that are all zero are not rounded.
        expect(await ledger.reserve('r3', [check('j', '1', '0.999999990000')], t(0))).toEqual({ ok: true });
        expect(await usageOf('j', t(0))).toBe('0.99999999');
      });

      it('rejects caps, amounts and windows it cannot count, naming the limit, and reserves nothing', async () => {
        expect(await ledger.reserve('ok', [check('k', '10000000000', '10000000000')], t(0))).toEqual({
          ok: true,
        });
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
          const message = await invalidMessage(() =>
            ledger.reserve('r', [check('other', '5', '1'), c], t(0)),
          );
          expect(message, JSON.stringify(c)).toMatch(/^limit limit-k \(k\): /);
        }
        expect(await ledger.reservedRequests()).toEqual(['ok']);
        expect(await usageOf('other', t(0))).toBe('0');
      });

      it('counts two checks on one key (two limits sharing a counter) once, against each cap', async () => {
        const daily = check('k', '100', '30');
        const strict = { ...check('k', '50', '30'), limit: 'strict' };
        expect(await ledger.reserve('r1', [daily, strict], t(0))).toEqual({ ok: true });
        expect(await usageOf('k', t(0))).toBe('30');
        expect(await ledger.reserve('r2', [daily, strict], t(0))).toMatchObject({
          ok: false,
          limit: 'strict',
        });
      });

      it('refuses a second reservation for a request that still holds one', async () => {
        await ledger.reserve('r1', [check('k', '10', '1')], t(0));
        await expect(async () => ledger.reserve('r1', [check('k', '10', '1')], t(0))).rejects.toThrow(
          /already holds/,
        );
        expect(await usageOf('k', t(0))).toBe('1');
      });

      it('lists the requests holding a reservation, oldest first', async () => {
        await ledger.reserve('b', [check('k', '10', '1'), check('j', '10', '1')], t(5));
        await ledger.reserve('a', [check('k', '10', '1')], t(7));
        await ledger.reserve('c', [check('k', '10', '1')], t(1));
        expect(await ledger.reservedRequests()).toEqual(['c', 'b', 'a']);
        await ledger.settleReservation('b', { kind: 'release' });
        await ledger.settleReservation('c', { kind: 'commit', at: t(8) });
        expect(await ledger.reservedRequests()).toEqual(['a']);
      });

      it('orders requests reserved at one time by their id, byte-wise (as every store compares)', async () => {
        for (const id of ['b', 'B', 'a-2', 'a_1', 'é', 'A'])
          await ledger.reserve(id, [check('k', '10', '1')], t(0));
        expect(await ledger.reservedRequests()).toEqual(['A', 'B', 'a-2', 'a_1', 'b', 'é']);
      });
    });

    describe('windows and settlement', () => {
      it('counts a commit for its window after the commit time, on the injected clock', async () => {
        await ledger.reserve('r1', [check('k', '100', '60')], t(0));
        await ledger.settleReservation('r1', { kind: 'commit', at: t(10_000) });
        expect(await usageOf('k', t(10_000 + MINUTE - 1))).toBe('60');
        expect(await ledger.reserve('r2', [check('k', '100', '41')], t(10_000 + MINUTE - 1))).toMatchObject({
          ok: false,
        });
        expect(await usageOf('k', t(10_000 + MINUTE))).toBe('0');
        expect(await ledger.reserve('r3', [check('k', '100', '100')], t(10_000 + MINUTE))).toEqual({
          ok: true,
        });
      });

      it('rolls: each commit leaves the window on its own', async () => {
        for (let i = 0; i < 4; i++) {
          await ledger.reserve(`r${i}`, [check('k', '100', '10')], t(i * 20_000));
          await ledger.settleReservation(`r${i}`, { kind: 'commit', at: t(i * 20_000) });
        }
        // Commits at 0, 20 s, 40 s, 60 s; a 60 s window at 60 s holds the last three.
        expect(await usageOf('k', t(60_000))).toBe('30');
        expect(await usageOf('k', t(79_999))).toBe('30');
        expect(await usageOf('k', t(80_000))).toBe('20');
        expect(await usageOf('k', t(120_000))).toBe('0');
        // The same key read with a longer window sees more of the same rows.
        expect(await usageOf('k', t(60_000), 3 * MINUTE)).toBe('40');
      });

      it('keeps counting a reservation whose outcome is unknown, for as long as it is not settled', async () => {
        await ledger.reserve('lost', [check('k', '100', '70')], t(0));
        expect(await usageOf('k', t(1000 * MINUTE))).toBe('70');
        expect(await ledger.reserve('r2', [check('k', '100', '31')], t(1000 * MINUTE))).toMatchObject({
          ok: false,
        });
        expect(await ledger.reservedRequests()).toEqual(['lost']);
      });

      it('release gives the whole reservation back', async () => {
        await ledger.reserve('r1', [check('k', '100', '70'), open('o', '1')], t(0));
        await ledger.settleReservation('r1', { kind: 'release' });
        expect(await usageOf('k', t(0))).toBe('0');
        expect(await openUsage('o', t(0))).toBe('0');
        expect(await ledger.reserve('r2', [check('k', '100', '100'), open('o', '1')], t(0))).toEqual({
          ok: true,
        });
      });

      it('commits the actual amounts where given (0 included) and the reserved ones elsewhere', async () => {
        await ledger.reserve(
          'r1',
          [check('a', '100', '50'), check('b', '100', '50'), check('c', '100', '50')],
          t(0),
        );
        await ledger.settleReservation('r1', {
          kind: 'commit',
          at: t(0),
          actual: new Map([
            ['a', '12.5'],
            ['b', '0'],
          ]),
        });
        expect(
          await ledger.usage(
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
        expect(await ledger.reservedRequests()).toEqual([]);
      });

      it('does nothing on a second settlement, whichever kind', async () => {
        await ledger.reserve('r1', [check('k', '100', '40')], t(0));
        await ledger.settleReservation('r1', { kind: 'commit', at: t(0) });
        await ledger.settleReservation('r1', { kind: 'commit', at: t(1) });
        await ledger.settleReservation('r1', { kind: 'release' });
        expect(await usageOf('k', t(2))).toBe('40');
        await ledger.reserve('r2', [check('k', '100', '40')], t(2));
        await ledger.settleReservation('r2', { kind: 'release' });
        await ledger.settleReservation('r2', { kind: 'commit', at: t(3) });
        expect(await usageOf('k', t(3))).toBe('40');
        // Settling a request that never reserved is harmless too.
        await ledger.settleReservation('never', { kind: 'commit', at: t(3) });
      });

      it('counts a commit stamped before the key’s last commit from that last commit (clocks of two processes)', async () => {
        await ledger.reserve('r1', [check('k', '100', '10')], t(0));
        await ledger.reserve('r2', [check('k', '100', '10')], t(0));
        await ledger.settleReservation('r1', { kind: 'commit', at: t(5_000) });
        await ledger.settleReservation('r2', { kind: 'commit', at: t(1_000) }); // a clock running 4 s behind
        expect(await usageOf('k', t(1_000 + MINUTE))).toBe('20');
        expect(await usageOf('k', t(5_000 + MINUTE))).toBe('0');
        // A commit stamped after the time asked about still counts.
        expect(await usageOf('k', t(0))).toBe('20');
      });

      it('refuses an actual that is not a decimal before changing anything; records one past the range at its top', async () => {
        await ledger.reserve('r1', [check('k', '100', '10')], t(0));
        expect(
          await invalidMessage(() =>
            ledger.settleReservation('r1', { kind: 'commit', at: t(0), actual: new Map([['k', 'ten']]) }),
          ),
        ).toMatch(/not a decimal/);
        expect(await ledger.reservedRequests()).toEqual(['r1']);
        await ledger.settleReservation('r1', {
          kind: 'commit',
          at: t(0),
          actual: new Map([['k', '99999999999']]),
        });
        expect(await usageOf('k', t(0))).toBe('10000000000');
      });
    });

    describe('open orders', () => {
      it('counts an order committed open until it is closed', async () => {
        await ledger.reserve('r1', [open('o', '2')], t(0));
        await ledger.settleReservation('r1', {
          kind: 'commit',
          at: t(0),
          openOrder: { account: 'acc', orderId: 'x1' },
        });
        await ledger.reserve('r2', [open('o', '2')], t(1));
        expect(await openUsage('o', t(1))).toBe('2');
        expect(await ledger.reserve('r3', [open('o', '2')], t(1000 * MINUTE))).toMatchObject({
          ok: false,
          used: '2',
        });
        await ledger.settleReservation('r2', {
          kind: 'commit',
          at: t(2),
          openOrder: { account: 'acc', orderId: 'x2' },
        });
        await ledger.closeOpenOrder('acc', 'x1');
        expect(await openUsage('o', t(3))).toBe('1');
        expect(await ledger.reserve('r4', [open('o', '2')], t(3))).toEqual({ ok: true });
      });

      it('does not count an order committed without being open (filled at once), nor one committed with actual 0', async () => {
        await ledger.reserve('r1', [open('o', '1')], t(0));
        await ledger.settleReservation('r1', { kind: 'commit', at: t(0) });
        await ledger.reserve('r2', [open('o', '1')], t(0));
        await ledger.settleReservation('r2', {
          kind: 'commit',
          at: t(0),
          actual: new Map([['o', '0']]),
          openOrder: { account: 'acc', orderId: 'x2' },
        });
        expect(await openUsage('o', t(0))).toBe('0');
      });

      it('syncs to the orders the venue lists, keeping ones committed after the venue was asked', async () => {
        for (const [i, at] of [0, 10, 20].entries()) {
          await ledger.reserve(`r${i}`, [open('o', '5'), check('n', '100', '1')], t(at));
          await ledger.settleReservation(`r${i}`, {
            kind: 'commit',
            at: t(at),
            openOrder: { account: 'acc', orderId: `x${i}` },
          });
        }
        await ledger.reserve('other', [open('p', '5')], t(0));
        await ledger.settleReservation('other', {
          kind: 'commit',
          at: t(0),
          openOrder: { account: 'acc2', orderId: 'y' },
        });
        await ledger.syncOpenOrders('acc', ['x1'], t(15));
        expect(await openUsage('o', t(30))).toBe('2'); // x1 listed, x2 committed after the venue answered
        await ledger.syncOpenOrders('acc', []);
        expect(await openUsage('o', t(30))).toBe('0');
        expect(await openUsage('p', t(30))).toBe('1'); // another account is untouched
        expect(await usageOf('n', t(30))).toBe('3'); // windowed usage is not open orders
      });

      it('counts one order once even if committed twice under one key', async () => {
        for (const id of ['r1', 'r2']) {
          await ledger.reserve(id, [open('o', '5')], t(0));
          await ledger.settleReservation(id, {
            kind: 'commit',
            at: t(0),
            openOrder: { account: 'acc', orderId: 'same' },
          });
        }
        expect(await openUsage('o', t(0))).toBe('1');
      });
    });

    describe('durability and sharing', () => {
      it('keeps reservations, usage and open orders across a restart', async () => {
        await ledger.reserve('held', [check('k', '100', '30')], t(0));
        await ledger.reserve('done', [check('k', '100', '20'), open('o', '3')], t(0));
        await ledger.settleReservation('done', {
          kind: 'commit',
          at: t(0),
          openOrder: { account: 'acc', orderId: 'x' },
        });
        for (const o of opened.splice(0)) await o.close();
        ledger = await connect();
        expect(await ledger.reservedRequests()).toEqual(['held']);
        expect(await usageOf('k', t(1))).toBe('50');
        expect(await openUsage('o', t(1))).toBe('1');
        await ledger.settleReservation('held', { kind: 'release' });
        expect(await usageOf('k', t(1))).toBe('20');
      });

      it('shares one budget between two connections to the same storage (two processes)', async () => {
        const other = await connect();
        const ledgers = [ledger, other];
        let granted = 0;
        for (let i = 0; i < 20; i++) {
          const l = ledgers[i % 2] ?? ledger;
          if ((await l.reserve(`r${i}`, [check('k', '100', '15')], t(i))).ok) granted++;
        }
        expect(granted).toBe(6);
        expect(await usageOf('k', t(20), MINUTE, other)).toBe('90');
        await other.settleReservation('r0', { kind: 'commit', at: t(21), actual: new Map([['k', '5']]) });
        expect(await ledger.reserve('late', [check('k', '100', '15')], t(22))).toEqual({ ok: true });
        expect(await usageOf('k', t(22), MINUTE, other)).toBe('95');
        expect(await other.reservedRequests()).toHaveLength(6);
      });

      it('sums committed usage past 64 bits exactly, and counts an overflowing open-order sum as over every cap', async () => {
        // Ten reservations that fit, each committed at far more than it reserved (the range's top).
        for (let i = 0; i < 10; i++) {
          const verdict = await ledger.reserve(
            `r${i}`,
            [check('k', '10000000000', '1'), open('o', '10000000000')],
            t(0),
          );
          expect(verdict.ok).toBe(true);
        }
        for (let i = 0; i < 10; i++) {
          await ledger.settleReservation(`r${i}`, {
            kind: 'commit',
            at: t(0),
            actual: new Map([
              ['k', '10000000000'],
              ['o', '10000000000'],
            ]),
            openOrder: { account: 'acc', orderId: `x${i}` },
          });
        }
        expect(await usageOf('k', t(1))).toBe('100000000000');
        expect(await ledger.reserve('next', [check('k', '10000000000', '0')], t(1))).toMatchObject({
          ok: false,
        });
        expect(await ledger.reserve('next', [open('o', '10000000000')], t(1))).toMatchObject({ ok: false });
      });
    });

    describe('under random interleavings', () => {
      limitLedgerProperty(openLedger, options.propertyRuns ?? 200);
    });
  });
}
