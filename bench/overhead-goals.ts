// Issue 11's goals, checked against the rows of the overhead section (overhead.ts) of the same run. Prints a table
// of goal, target, measured and whether it is met; asserts nothing (the machines are shared and noisy: read the run).
import type { LoadResult } from './measure.js';

/** One case of the overhead section: a load result with CPU per request of the path's process and the exchange. */
export interface OverheadRow extends LoadResult {
  readonly cpuMsPerRequest: number | undefined;
  readonly exchangeCpuMsPerRequest: number | undefined;
}

/** What the goals need from each cofre under test besides its rows. */
export interface CofreFacts {
  readonly label: string;
  readonly workers: number | undefined;
  readonly rssMiB: number | undefined;
  readonly firstAnswerMs: number | undefined;
}

/** Rows by `<operation>@<concurrency>`, e.g. `orders@16`. */
export type OverheadRows = ReadonlyMap<string, readonly OverheadRow[]>;

const fmt = (value: number | undefined, digits = 2): string =>
  value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits);

const met = (ok: boolean | undefined): string => (ok === undefined ? 'n/a' : ok ? 'yes' : '**no**');

/** Prints the goals table for the first cofre row (`b.`) and the worker comparison. */
export function reportGoals(
  rows: OverheadRows,
  fsync: { p50ms: number },
  cofres: readonly CofreFacts[],
): void {
  const row = (key: string, prefix: string): OverheadRow | undefined =>
    rows.get(key)?.find((r) => r.label.startsWith(prefix));
  const lines: string[][] = [];
  const add = (goal: string, target: string, measured: string, ok: boolean | undefined): void => {
    lines.push([goal, target, measured, met(ok)]);
  };

  for (const [operation, extra, name] of [
    ['orders', fsync.p50ms, 'signed order (place, cancel)'],
    ['reads', 0, 'balance read'],
  ] as const) {
    const [a, b, c, d] = ['a.', 'b.', 'c.', 'd.'].map((p) => row(`${operation}@1`, p));
    if (a === undefined || b === undefined) continue;
    const added = b.p50ms - a.p50ms;
    const nginx = c === undefined || d === undefined ? undefined : c.p50ms - d.p50ms;
    const bound = nginx === undefined ? undefined : nginx + extra + 0.2;
    const parts =
      operation === 'orders'
        ? `nginx ${fmt(nginx)} + fdatasync ${fmt(extra, 3)} + 0.2`
        : `nginx ${fmt(nginx)} + 0.2`;
    add(
      `added p50, ${name}, 1 in flight (b − a)`,
      `≤ ${fmt(bound)} ms (${parts})`,
      `${fmt(added)} ms`,
      bound === undefined ? undefined : added <= bound,
    );
  }
  for (const operation of ['orders', 'reads'] as const) {
    const cpu = [1, 16, 64].map((c) => row(`${operation}@${c}`, 'b.')?.cpuMsPerRequest);
    const known = cpu.filter((v): v is number => v !== undefined);
    add(
      `CPU per request in cofre's process, ${operation} (c = 1 / 16 / 64)`,
      '≤ 0.5 ms',
      `${cpu.map((v) => fmt(v, 3)).join(' / ')} ms`,
      known.length === 0 ? undefined : Math.max(...known) <= 0.5,
    );
  }
  for (const operation of ['orders', 'reads'] as const) {
    const [one, many] = [row(`${operation}@1`, 'b.'), row(`${operation}@64`, 'b.')];
    const ratio = one === undefined || many === undefined ? undefined : many.perSecond / one.perSecond;
    add(
      `throughput c = 64 / c = 1, ${operation}`,
      '≥ 3×',
      `${fmt(ratio)}× (${fmt(many?.perSecond, 0)} / ${fmt(one?.perSecond, 0)} requests/s)`,
      ratio === undefined ? undefined : ratio >= 3,
    );
  }
  for (const operation of ['orders', 'reads'] as const) {
    const [a, b] = [row(`${operation}@16`, 'a.'), row(`${operation}@16`, 'b.')];
    const ratio = a === undefined || b === undefined ? undefined : b.perSecond / a.perSecond;
    add(
      `throughput cofre / ccxt directly at c = 16, ${operation}`,
      '≥ 0.5',
      `${fmt(ratio)} (${fmt(b?.perSecond, 0)} / ${fmt(a?.perSecond, 0)} requests/s)`,
      ratio === undefined ? undefined : ratio >= 0.5,
    );
  }
  for (const operation of ['orders', 'reads'] as const) {
    const [a, b] = [row(`${operation}@16`, 'a.'), row(`${operation}@16`, 'b.')];
    if (a === undefined || b === undefined) continue;
    const [addedP50, addedP99] = [b.p50ms - a.p50ms, b.p99ms - a.p99ms];
    const ratio = addedP50 > 0 ? addedP99 / addedP50 : undefined;
    add(
      `added p99 / added p50 at c = 16, ${operation}`,
      '≤ 5',
      `${fmt(ratio)} (${fmt(addedP99)} / ${fmt(addedP50)} ms; cofre's own p99/p50 ${fmt(b.p99ms / b.p50ms)})`,
      ratio === undefined ? undefined : ratio <= 5,
    );
  }
  for (const c of cofres) {
    add(
      `RSS after the run, ${c.label}`,
      '≤ 130 MiB',
      `${fmt(c.rssMiB, 0)} MiB`,
      c.rssMiB === undefined ? undefined : c.rssMiB <= 130,
    );
    add(
      `serve spawned to first get_balance answered, ${c.label} (one sample)`,
      '≤ 600 ms',
      `${fmt(c.firstAnswerMs, 0)} ms`,
      c.firstAnswerMs === undefined ? undefined : c.firstAnswerMs <= 600,
    );
  }
  reportWorkers(rows, cofres, add);

  console.log('\n### Issue 11 goals, this run\n');
  console.log('| goal | target | measured | met |');
  console.log('| --- | --- | --- | --- |');
  for (const line of lines) console.log(`| ${line.join(' | ')} |`);
}

function reportWorkers(
  rows: OverheadRows,
  cofres: readonly CofreFacts[],
  add: (goal: string, target: string, measured: string, ok: boolean | undefined) => void,
): void {
  const withWorkers = cofres.filter((c) => c.workers !== undefined);
  if (withWorkers.length === 0) {
    add('throughput at 1 and 2 workers', 'grows', '`cofre serve --workers` not available', undefined);
    return;
  }
  for (const operation of ['orders', 'reads'] as const) {
    const one = rows.get(`${operation}@64`)?.find((r) => r.label.startsWith('b.'));
    for (const c of withWorkers) {
      const many = rows.get(`${operation}@64`)?.find((r) => r.label === c.label);
      const ratio = one === undefined || many === undefined ? undefined : many.perSecond / one.perSecond;
      add(
        `throughput at c = 64, ${operation}: 1 process against ${c.workers ?? '?'} workers`,
        'grows with workers',
        `${fmt(one?.perSecond, 0)} → ${fmt(many?.perSecond, 0)} requests/s (${fmt(ratio)}×)`,
        ratio === undefined ? undefined : ratio > 1,
      );
    }
  }
}
