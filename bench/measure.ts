// Measuring helpers shared by the benchmark sections. Nothing here asserts a timing: sections print tables of
// alternatives measured side by side in one run, and the ratios are what to read.

/** Latency distribution of one case, in microseconds. */
export interface Sample {
  readonly label: string;
  readonly ops: number;
  readonly p50us: number;
  readonly p99us: number;
  readonly meanUs: number;
}

/** The value at quantile `q` of ascending `sorted`; NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** Median of unsorted values. */
export function median(values: readonly number[]): number {
  return quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

/** Runs `op` sequentially `iterations` times after a warm-up of up to 50 calls. */
export async function measure(
  label: string,
  iterations: number,
  op: () => Promise<unknown>,
): Promise<Sample> {
  for (let i = 0; i < Math.min(50, iterations); i++) await op(); // warm-up
  const times: number[] = [];
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    await op();
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  const total = Number(process.hrtime.bigint() - start) / 1e9;
  times.sort((a, b) => a - b);
  return {
    label,
    ops: iterations / total,
    p50us: quantile(times, 0.5),
    p99us: quantile(times, 0.99),
    meanUs: (total * 1e6) / iterations,
  };
}

/** Prints samples as a markdown table with each case's mean relative to the first. */
export function report(title: string, samples: readonly Sample[]): void {
  const base = samples[0];
  console.log(`\n## ${title}\n`);
  console.log('| case | ops/s | p50 µs | p99 µs | mean vs first |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const s of samples) {
    const ratio = base === undefined ? 1 : s.meanUs / base.meanUs;
    console.log(
      `| ${s.label} | ${s.ops.toFixed(0)} | ${s.p50us.toFixed(1)} | ${s.p99us.toFixed(1)} | ${ratio.toFixed(2)}x |`,
    );
  }
}

/** Bounds of a load comparison; in each round, whichever of its share of `count` and `maxSeconds` comes first ends a case. */
export interface LoadShape {
  /** Operations measured per case, split evenly over the rounds (after the warm-up). */
  readonly count: number;
  /** Operations in flight at once. */
  readonly concurrency: number;
  /** Operations each case runs first, unmeasured (connections opened, markets loaded, code compiled). */
  readonly warmup: number;
  /** Rounds: every case runs once per round, in turn, so drift in the machine's load spreads over all cases. */
  readonly rounds: number;
  /** Operations each case runs unmeasured at the start of every round (reopens connections after a restart). */
  readonly roundWarmup: number;
  /** Wall-clock cap of one case in one round; a capped case reports what it did and says so. */
  readonly maxSeconds: number;
}

/** One case of a load comparison: `op(i)` performs operation `i` and throws if it did not succeed. */
export interface LoadCase {
  readonly label: string;
  /** Overrides {@link LoadShape.count} for this case (cheap cases can afford more samples). */
  readonly count?: number | undefined;
  readonly op: (i: number) => Promise<unknown>;
  /**
   * Set when `op` makes several requests (place, then cancel) and resolves with each one's latency in milliseconds:
   * those are recorded instead of the operation's own time, so the case reports requests, not operations.
   */
  readonly timesRequests?: boolean | undefined;
  /** Called just before and just after each measured burst (not the warm-ups): to read a process's CPU time. */
  readonly onMeasure?: ((phase: 'start' | 'end') => void) | undefined;
}

/** What one case measured; latencies in milliseconds. */
export interface LoadResult {
  readonly label: string;
  readonly concurrency: number;
  /** Latencies recorded: operations, or requests when the case {@link LoadCase.timesRequests}. */
  readonly done: number;
  /** True when `maxSeconds` cut a round short. */
  readonly capped: boolean;
  readonly perSecond: number;
  readonly p50ms: number;
  readonly p99ms: number;
  readonly meanMs: number;
}

/**
 * Runs every case with `shape.concurrency` operations in flight, round after round, and reports each case's
 * latencies and throughput over all its rounds. `beforeRound` runs before each round (to reset a peer whose cost
 * grows with use). The first failure stops the case's workers and is rethrown: a failed operation in a benchmark
 * is a bug.
 */
export async function compareLoad(
  cases: readonly LoadCase[],
  shape: LoadShape,
  beforeRound?: () => Promise<void>,
): Promise<LoadResult[]> {
  const perRound = (c: LoadCase): number => Math.ceil((c.count ?? shape.count) / shape.rounds);
  const state = cases.map(() => ({ times: [] as number[], seconds: 0, capped: false, next: 0 }));
  for (let round = 0; round < shape.rounds; round++) {
    await beforeRound?.();
    for (const [k, c] of cases.entries()) {
      const s = state[k]!;
      const warmup = round === 0 ? shape.warmup : shape.roundWarmup;
      await burst(c, shape.concurrency, warmup, Infinity, s, undefined);
      c.onMeasure?.('start');
      const start = performance.now();
      const wanted = perRound(c);
      const done = await burst(c, shape.concurrency, wanted, start + shape.maxSeconds * 1000, s, s.times);
      s.seconds += (performance.now() - start) / 1000;
      c.onMeasure?.('end');
      if (done < wanted) s.capped = true;
    }
  }
  return cases.map((c, k) => {
    const { times, seconds, capped } = state[k]!;
    times.sort((x, y) => x - y);
    return {
      label: c.label,
      concurrency: shape.concurrency,
      done: times.length,
      capped,
      perSecond: times.length / seconds,
      p50ms: quantile(times, 0.5),
      p99ms: quantile(times, 0.99),
      meanMs: times.reduce((sum, t) => sum + t, 0) / Math.max(1, times.length),
    };
  });
}

/** Runs up to `total` operations of `c` with `concurrency` in flight until `deadline`; returns how many completed. */
async function burst(
  c: LoadCase,
  concurrency: number,
  total: number,
  deadline: number,
  counter: { next: number },
  times: number[] | undefined,
): Promise<number> {
  let issued = 0;
  let completed = 0;
  let failure: { error: unknown; at: number } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && issued < total && performance.now() < deadline) {
      issued++;
      const i = counter.next++;
      const t0 = performance.now();
      let answer: unknown;
      try {
        answer = await c.op(i);
      } catch (error) {
        failure ??= { error, at: i };
        return;
      }
      if (c.timesRequests === true) times?.push(...(answer as readonly number[]));
      else times?.push(performance.now() - t0);
      completed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failure !== undefined) {
    throw new Error(`benchmark case "${c.label}" failed at operation ${failure.at}`, {
      cause: failure.error,
    });
  }
  return completed;
}
