// Property: over random interleavings of reservations, commits (actual ≤ reserved, some keys left out, open or
// filled orders), releases, lost answers (left reserved until a restart's reconciliation), closed orders, clock
// steps and restarts, through two connections to one storage, with random caps and windows: after every step, for
// every key, committed-in-window + reserved never exceeds its cap; every usage and every verdict equals an
// independent model's (exact, in billionths, rounded the ledger's way); and reservedRequests equals the model's.
import fc from 'fast-check';
import { expect, it } from 'vitest';

import type { LimitCheck } from '../../policy/policy-types.js';
import type { LimitLedger } from '../limit-ledger.js';
import type { OpenedLimitLedger, OpenLimitLedger } from './limit-ledger-conformance.js';

/** Amounts in the model are integers of 10^-9: one digit finer than the ledger, so rounding is exercised. */
const NANO = 10n ** 9n;

interface KeySpec {
  readonly key: string;
  readonly capNano: bigint;
  /** Absent: an `openOrders` key. */
  readonly windowMs: number | undefined;
}

type Command =
  | { kind: 'reserve'; keys: number[]; amounts: bigint[]; via: number }
  | { kind: 'commit'; pick: number; percents: number[]; omit: boolean[]; open: boolean; via: number }
  | { kind: 'release'; pick: number; via: number }
  | { kind: 'lose'; pick: number }
  | { kind: 'close'; pick: number; via: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'restart' };

/** The model: exact amounts in ledger steps (10^-8), computed without the ledger's code. */
interface Model {
  now: number;
  next: number;
  /** Settle-able now: live requests; lost ones join them at the next restart (reconciliation). */
  live: string[];
  lost: string[];
  held: Map<string, { key: string; steps: bigint; level: boolean }[]>;
  committed: { key: string; at: number; steps: bigint }[];
  open: { orderId: string; key: string; steps: bigint }[];
}

const capSteps = (nano: bigint): bigint => nano / 10n; // caps round down
const amountSteps = (nano: bigint): bigint => (nano + 9n) / 10n; // amounts round up

function decimalOfNano(nano: bigint): string {
  const fraction = (nano % NANO).toString().padStart(9, '0');
  return `${(nano / NANO).toString()}.${fraction}`;
}

function stepsOfDecimal(text: string): bigint {
  const [whole = '0', fraction = ''] = text.split('.');
  return BigInt(whole) * 10n ** 8n + BigInt(fraction.padEnd(8, '0'));
}

function modelUsed(m: Model, spec: KeySpec): bigint {
  let used = 0n;
  for (const rows of m.held.values()) for (const r of rows) if (r.key === spec.key) used += r.steps;
  if (spec.windowMs === undefined) {
    for (const o of m.open) if (o.key === spec.key) used += o.steps;
  } else {
    const from = m.now - spec.windowMs;
    for (const c of m.committed) if (c.key === spec.key && c.at > from) used += c.steps;
  }
  return used;
}

const keySpecs = fc
  .array(
    fc.oneof(
      fc.record({
        capNano: fc.bigInt({ min: 0n, max: 1000n * NANO }),
        windowMs: fc.constantFrom(1_000, 5_000, 30_000),
      }),
      fc.record({
        capNano: fc.bigInt({ min: 0n, max: 4n }).map((n) => n * NANO),
        windowMs: fc.constant(undefined),
      }),
    ),
    { minLength: 1, maxLength: 4 },
  )
  .map((specs) => specs.map((s, i): KeySpec => ({ key: `key-${i}`, ...s })));

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('reserve' as const),
      keys: fc.uniqueArray(fc.nat(3), { minLength: 1, maxLength: 3 }),
      // -1: exactly what is left under the cap; -2: a billionth more (one step more, rounded up).
      amounts: fc.array(fc.oneof(fc.bigInt({ min: 0n, max: 400n * NANO }), fc.constantFrom(-1n, -2n)), {
        minLength: 3,
        maxLength: 3,
      }),
      via: fc.nat(1),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('commit' as const),
      pick: fc.nat(),
      percents: fc.array(fc.nat(100), { minLength: 3, maxLength: 3 }),
      omit: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
      open: fc.boolean(),
      via: fc.nat(1),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat(), via: fc.nat(1) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('lose' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('close' as const), pick: fc.nat(), via: fc.nat(1) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      // Window lengths and their neighbours, so commits leave windows exactly at their edge.
      ms: fc.oneof(
        fc.nat(20_000),
        fc.constantFrom(0, 1, 999, 1_000, 4_999, 5_000, 30_000),
        fc.constant(1_000),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const) }) },
);

/**
 * Two connections to one storage, as two processes would hold. Every run of the property shares the test's storage,
 * so its keys, requests and account carry the run's `prefix`.
 */
class Connections {
  readonly #open: OpenLimitLedger;
  #opened: OpenedLimitLedger[] = [];
  private constructor(open: OpenLimitLedger) {
    this.#open = open;
  }
  static async open(open: OpenLimitLedger): Promise<Connections> {
    const c = new Connections(open);
    await c.restart();
    return c;
  }
  via(i: number): LimitLedger {
    const o = this.#opened[i % this.#opened.length];
    if (o === undefined) throw new Error('no connection');
    return o.ledger;
  }
  async restart(): Promise<void> {
    await this.close();
    this.#opened = [await this.#open(), await this.#open()];
  }
  async close(): Promise<void> {
    for (const o of this.#opened.splice(0)) await o.close();
  }
}

interface Run {
  readonly m: Model;
  readonly c: Connections;
  readonly specs: readonly KeySpec[];
  readonly prefix: string;
}

async function reserve({ m, c: connections, specs, prefix }: Run, c: Extract<Command, { kind: 'reserve' }>) {
  const id = `${prefix}req-${m.next++}`;
  const chosen = c.keys.flatMap((k) => (k < specs.length ? [specs[k] as KeySpec] : []));
  const nanos = chosen.map((spec, i) => {
    if (spec.windowMs === undefined) return NANO;
    const left = capSteps(spec.capNano) - modelUsed(m, spec);
    const asked = c.amounts[i] ?? 0n;
    if (asked >= 0n) return asked;
    return (left > 0n ? left * 10n : 0n) + (asked === -2n ? 1n : 0n);
  });
  const checks: LimitCheck[] = chosen.map((spec, i) => {
    const level = spec.windowMs === undefined;
    const nano = nanos[i] ?? 0n;
    return {
      limit: `limit-${spec.key}`,
      key: spec.key,
      measure: level ? 'openOrders' : 'notional',
      windowMs: spec.windowMs,
      cap: decimalOfNano(spec.capNano),
      amount: decimalOfNano(nano),
    };
  });
  const rows = chosen.map((spec, i) => ({
    key: spec.key,
    steps: amountSteps(nanos[i] ?? 0n),
    level: spec.windowMs === undefined,
  }));
  const fits = chosen.every(
    (spec, i) => modelUsed(m, spec) + (rows[i]?.steps ?? 0n) <= capSteps(spec.capNano),
  );
  const verdict = await connections.via(c.via).reserve(id, checks, new Date(m.now));
  expect(verdict.ok, `${id} ${JSON.stringify(checks)}`).toBe(fits);
  if (fits && rows.length > 0) {
    m.held.set(id, rows);
    m.live.push(id);
  }
}

async function commit(
  { m, c: connections, prefix }: Run,
  c: Extract<Command, { kind: 'commit' }>,
): Promise<void> {
  const id = m.live.splice(c.pick % m.live.length, 1)[0] ?? '';
  const rows = m.held.get(id) ?? [];
  m.held.delete(id);
  const actual = new Map<string, string>();
  rows.forEach((r, i) => {
    let steps = r.steps;
    if (c.omit[i] !== true) {
      steps = (r.steps * BigInt(c.percents[i] ?? 100)) / 100n; // actual ≤ reserved
      actual.set(r.key, decimalOfNano(steps * 10n));
    }
    if (steps === 0n) return;
    if (!r.level) m.committed.push({ key: r.key, at: m.now, steps });
    else if (c.open) m.open.push({ orderId: id, key: r.key, steps });
  });
  const openOrder = c.open ? { account: `${prefix}acc`, orderId: id } : undefined;
  await connections
    .via(c.via)
    .settleReservation(id, { kind: 'commit', at: new Date(m.now), actual, openOrder });
}

async function step(run: Run, c: Command): Promise<void> {
  const { m, c: connections, prefix } = run;
  if (c.kind === 'reserve') await reserve(run, c);
  else if (c.kind === 'commit' && m.live.length > 0) await commit(run, c);
  else if (c.kind === 'release' && m.live.length > 0) {
    const id = m.live.splice(c.pick % m.live.length, 1)[0] ?? '';
    m.held.delete(id);
    await connections.via(c.via).settleReservation(id, { kind: 'release' });
  } else if (c.kind === 'lose' && m.live.length > 0) {
    m.lost.push(...m.live.splice(c.pick % m.live.length, 1));
  } else if (c.kind === 'close' && m.open.length > 0) {
    const orderId = m.open[c.pick % m.open.length]?.orderId ?? '';
    m.open = m.open.filter((o) => o.orderId !== orderId);
    await connections.via(c.via).closeOpenOrder(`${prefix}acc`, orderId);
  } else if (c.kind === 'advance') m.now += c.ms;
  else if (c.kind === 'restart') {
    await connections.restart();
    // Reconciliation after a restart finds the lost requests through reservedRequests and may settle them.
    m.live.push(...m.lost.splice(0));
  }
}

async function checkInvariants({ m, c: connections, specs, prefix }: Run): Promise<void> {
  for (const via of [0, 1]) {
    const usage = await connections.via(via).usage(specs, new Date(m.now));
    for (const spec of specs) {
      const used = stepsOfDecimal(usage.get(spec.key) ?? 'missing');
      expect(used, spec.key).toBeLessThanOrEqual(capSteps(spec.capNano));
      expect(used, spec.key).toBe(modelUsed(m, spec));
    }
    const reserved = (await connections.via(via).reservedRequests()).filter((id) => id.startsWith(prefix));
    expect([...reserved].sort()).toEqual([...m.held.keys()].sort());
  }
}

/** Registers the property test of a ledger (part of the conformance suite); `open` as the suite's. */
export function limitLedgerProperty(open: OpenLimitLedger, numRuns: number): void {
  it('never lets committed-in-window + reserved exceed a cap, and agrees with the model at every step', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(keySpecs, fc.array(command, { maxLength: 60 }), async (specs, commands) => {
        const prefix = `run${String(runs++)}-`;
        const run: Run = {
          m: {
            now: 1_700_000_000_000,
            next: 0,
            live: [],
            lost: [],
            held: new Map(),
            committed: [],
            open: [],
          },
          c: await Connections.open(open),
          specs: specs.map((s) => ({ ...s, key: `${prefix}${s.key}` })),
          prefix,
        };
        try {
          for (const c of commands) {
            await step(run, c);
            await checkInvariants(run);
          }
        } finally {
          await run.c.close();
        }
      }),
      { numRuns },
    );
  });
}
