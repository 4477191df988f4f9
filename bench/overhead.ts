// cofre's overhead against nginx and ccxt, the measurement issue 11's goals are judged by (bench/README.md, "Overhead
// against nginx and ccxt"). Side by side in one run, every peer in a process of its own except the load generator
// and ccxt called directly:
//   d. a client-signed request straight to the paper exchange (the floor);
//   c. the same request through nginx adding X-MBX-APIKEY (the least a proxy in front of an exchange costs);
//   a. ccxt directly: cofre's own venue account with in-memory credentials, in this process;
//   b. cofre: `node bin/cofre.js serve` in a child process, as an operator runs it;
//   e. the same with `--workers N`, when this build's `serve` has the option.
// ccxt's rate limiter is out of the picture for a, b and e (bypassCcxtLimiter here, the preload in cofre's process).
// Operations: a resting LIMIT buy placed then cancelled (two requests, both counted), and a balance read; at 1, 16
// and 64 in flight. Also CPU per request (from /proc, cofre's process tree and the exchange's), cofre's RSS, and one
// fdatasync of this disk measured alone for the latency bound. Prints; asserts nothing.
import { randomBytes } from 'node:crypto';
import { closeSync, fdatasyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import type { Agent } from 'node:http';
import { join } from 'node:path';

import { loadConfig } from '../src/config/load-config.js';
import { SecretValue } from '../src/secrets/secret-value.js';
import { openVenueAccount } from '../src/venues/ccxt-venue-account.js';
import type { VenueAccount } from '../src/venues/venue-account.js';
import { bypassCcxtLimiter, type ExchangeProcess, startExchangeProcess } from './broker-latency.js';
import { type CofreProcess, serveHasWorkers, startCofreProcess } from './cofre-process.js';
import { printSelfTimes, summarizeCpuProfiles } from './cpu-profile-summary.js';
import { keepAliveAgent, post } from './http-post.js';
import { compareLoad, quantile } from './measure.js';
import { findNginx, type NginxProxy, startNginx } from './nginx-proxy.js';
import { type OverheadRow, reportGoals } from './overhead-goals.js';
import { CpuMeter, treeRssMiB } from './process-usage.js';
import {
  cancelSignedOrder,
  getSignedAccount,
  placeSignedLimitOrder,
  type SignedOrderTarget,
} from './signed-order-client.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';

const CONCURRENCY = [1, 16, 64] as const;
/** Operations per case (each round's share), cut short by `maxSeconds` per case and round. */
// BENCH_OVERHEAD_SECONDS changes the cap (a quick look: 0.3). The section takes at most about cases × rounds × cap:
// 24 cases (30 with a worker row) × 3 × 2 s, less where a case reaches its count first.
const SHAPE = {
  count: 1500,
  warmup: 40,
  rounds: 3,
  roundWarmup: 10,
  maxSeconds: Number(process.env['BENCH_OVERHEAD_SECONDS'] ?? '2'),
} as const;
// nginx's added latency is a fraction of a millisecond: the signed rows may take more samples in the same time.
const SIGNED_COUNT = SHAPE.count * 4;
/** 1.7% under the paper exchange's 60000: the buy rests, and stays inside the demo policy's 5% price band. */
const LIMIT_PRICE = '59000';
const AMOUNT = '0.001';
/** Worker counts of the extra cofre rows when `serve --workers` exists; BENCH_COFRE_WORKERS=2,4 overrides. */
const WORKER_COUNTS = (process.env['BENCH_COFRE_WORKERS'] ?? '2')
  .split(',')
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0);

type Operation = 'orders' | 'reads';
const OPERATIONS: Readonly<Record<Operation, string>> = {
  orders: 'LIMIT buy placed, then cancelled (each a request)',
  reads: 'balance read',
};

/** One path to the exchange: how it does each operation, and whose CPU it spends. */
interface Path {
  readonly label: string;
  readonly count: number;
  /** The process tree of the path itself (cofre, nginx), if it has one apart from the benchmark. */
  readonly pid?: () => number;
  /** Called with a fresh HTTP agent of `sockets` connections; returns the two operations. */
  readonly bind: (agent: Agent) => Readonly<Record<Operation, (id: string) => Promise<readonly number[]>>>;
}

type Row = OverheadRow;

/** A cofre under test and how it was started. */
interface CofreUnderTest {
  readonly label: string;
  readonly workers: number | undefined;
  readonly process: CofreProcess;
  readonly profileDir: string | undefined;
  firstAnswerMs?: number;
}

/** Prints the overhead tables and the goals of issue 11 against them. */
export async function overheadBench(): Promise<void> {
  const dir = await makeTempDir('cofre-bench-overhead-');
  const stops: (() => Promise<unknown>)[] = [];
  const restoreLimiter = await bypassCcxtLimiter();
  try {
    const apiKey = randomBytes(32).toString('hex');
    const secret = randomBytes(32).toString('hex');
    const fsync = fdatasyncAlone(dir);
    const exchange = await startExchangeProcess(apiKey, secret);
    stops.push(() => exchange.stop());
    const nginxBinary = await findNginx();
    const nginx =
      nginxBinary === undefined
        ? undefined
        : await startNginx(nginxBinary, { dir, upstream: exchange.url, apiKey });
    if (nginx !== undefined) stops.push(() => nginx.stop());

    const workers = await serveHasWorkers();
    const cofres = await startCofres(dir, exchange.url, apiKey, secret, workers, stops);
    const account = (await loadConfig(join(dir, 'cofre-b', 'cofre.yaml'))).accounts['paper'];
    if (account === undefined) throw new Error('bench config has no paper account');
    const direct = await openVenueAccount('direct', account, () =>
      Promise.resolve({ apiKey: SecretValue.fromText(apiKey), secret: SecretValue.fromText(secret) }),
    );
    stops.push(() => direct.close());

    printSetup(nginx, workers, cofres, fsync);
    const paths = [
      ...signedPaths(exchange.url, apiKey, secret, nginx),
      ccxtPath(direct),
      ...cofres.map(cofrePath),
    ];
    const rows = new Map<string, Row[]>();
    let sequence = 0;
    for (const operation of ['orders', 'reads'] as const) {
      for (const concurrency of CONCURRENCY) {
        const measured = await runCases(paths, operation, concurrency, exchange, () => `ovh-${sequence++}`);
        rows.set(`${operation}@${concurrency}`, measured);
        reportRows(`${OPERATIONS[operation]}, ${concurrency} in flight`, operation, measured);
      }
    }
    const rss = reportCofreProcesses(cofres);
    // The disk is shared with whatever else runs: sync again at the end, and judge by the mean of the two medians.
    const fsyncEnd = fdatasyncAlone(dir);
    console.log(
      `\nOne fdatasync alone, again at the end: p50 ${fsyncEnd.p50ms.toFixed(3)} ms, p99 ${fsyncEnd.p99ms.toFixed(3)} ms ` +
        `(at the start: p50 ${fsync.p50ms.toFixed(3)} ms); the latency bound below uses the mean of the two p50s.`,
    );
    reportGoals(
      rows,
      { p50ms: (fsync.p50ms + fsyncEnd.p50ms) / 2 },
      cofres.map((c, k) => ({ ...c, rssMiB: rss[k], firstAnswerMs: c.firstAnswerMs })),
    );
    await profileSummaries(cofres);
  } finally {
    restoreLimiter();
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await removeTempDir(dir);
  }
}

/** cofre without `--workers` (b), and with each of {@link WORKER_COUNTS} when `serve` has the option (e). */
async function startCofres(
  dir: string,
  exchangeUrl: string,
  apiKey: string,
  secret: string,
  workersAvailable: boolean,
  stops: (() => Promise<unknown>)[],
): Promise<CofreUnderTest[]> {
  const profileRoot = process.env['BENCH_CPU_PROF'];
  // BENCH_COFRE_BASELINE=<a built checkout of another commit>: the same cofre row for that build, side by side.
  const baseline = process.env['BENCH_COFRE_BASELINE'];
  const wanted: { label: string; key: string; workers: number | undefined; cli?: string }[] = [
    ...(baseline === undefined
      ? []
      : [
          {
            label: 'b0. cofre serve, baseline build',
            key: 'b0',
            workers: undefined,
            cli: join(baseline, 'bin', 'cofre.js'),
          },
        ]),
    { label: 'b. cofre serve', key: 'b', workers: undefined },
    ...(workersAvailable
      ? WORKER_COUNTS.map((n) => ({ label: `e. cofre serve --workers ${n}`, key: `e${n}`, workers: n }))
      : []),
  ];
  const started: CofreUnderTest[] = [];
  for (const w of wanted) {
    const home = join(dir, `cofre-${w.key}`);
    mkdirSync(home);
    const profileDir = profileRoot === undefined ? undefined : join(profileRoot, `cofre-${w.key}`);
    if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
    const process = await startCofreProcess({
      dir: home,
      exchangeUrl,
      apiKey,
      secret,
      workers: w.workers,
      bypassLimiter: true,
      cpuProfDir: profileDir,
      cli: w.cli,
    });
    // A profile is written when the process exits: give it time to write before the SIGKILL.
    stops.push(() => process.stop(profileDir === undefined ? 5000 : 30_000));
    const cofre: CofreUnderTest = { label: w.label, workers: w.workers, process, profileDir };
    // The first answered balance read: start-up to first venue call (ccxt loaded, markets fetched).
    const agent = keepAliveAgent(1);
    const spawned = performance.now() - process.listeningAfterMs;
    await cofreAction(agent, process, 'get_balance', { account: 'paper' });
    cofre.firstAnswerMs = performance.now() - spawned;
    agent.destroy();
    started.push(cofre);
  }
  return started;
}

function signedPaths(
  exchangeUrl: string,
  apiKey: string,
  secret: string,
  nginx: NginxProxy | undefined,
): Path[] {
  const signed = (label: string, target: SignedOrderTarget, pid?: () => number): Path => ({
    label,
    count: SIGNED_COUNT,
    ...(pid === undefined ? {} : { pid }),
    bind: (agent) => ({
      orders: async (id) => [
        await timed(() => placeSignedLimitOrder(agent, target, id, LIMIT_PRICE)),
        await timed(() => cancelSignedOrder(agent, target, id)),
      ],
      reads: async () => [await timed(() => getSignedAccount(agent, target))],
    }),
  });
  return [
    signed('d. signed request, direct', { baseUrl: exchangeUrl, apiKey, secret }),
    ...(nginx === undefined
      ? []
      : [signed('c. signed request, via nginx', { baseUrl: nginx.url, secret }, () => nginx.pid)]),
  ];
}

function ccxtPath(direct: VenueAccount): Path {
  return {
    label: 'a. ccxt directly (in the bench process)',
    count: SHAPE.count,
    bind: () => ({
      orders: async (id) => [
        await timed(async () => {
          const order = await direct.placeOrder({
            symbol: 'BTC/USDT',
            side: 'buy',
            type: 'limit',
            amount: AMOUNT,
            price: LIMIT_PRICE,
            clientOrderId: id,
          });
          if (order.status !== 'open')
            throw new Error(`ccxt order ${id} is not open: ${JSON.stringify(order)}`);
        }),
        await timed(async () => {
          const order = await direct.cancelOrder('BTC/USDT', { clientOrderId: id });
          if (order.status !== 'canceled') throw new Error(`ccxt cancel ${id}: ${JSON.stringify(order)}`);
        }),
      ],
      reads: async () => [
        await timed(async () => {
          const balance = await direct.fetchBalance();
          if (balance.assets['USDT'] === undefined) throw new Error('ccxt balance has no USDT');
        }),
      ],
    }),
  };
}

function cofrePath(cofre: CofreUnderTest): Path {
  const p = cofre.process;
  return {
    label: cofre.label,
    count: SHAPE.count,
    pid: () => p.pid,
    bind: (agent) => ({
      orders: async (id) => [
        await timed(async () => {
          const order = { account: 'paper', symbol: 'BTC/USDT', side: 'buy', type: 'limit' } as const;
          const result = await cofreAction(agent, p, 'place_order', {
            ...order,
            amount: AMOUNT,
            price: LIMIT_PRICE,
            clientOrderId: id,
          });
          expectOrderStatus(result, 'open', `cofre order ${id}`);
        }),
        await timed(async () => {
          const result = await cofreAction(agent, p, 'cancel_order', {
            account: 'paper',
            symbol: 'BTC/USDT',
            clientOrderId: id,
          });
          expectOrderStatus(result, 'canceled', `cofre cancel ${id}`);
        }),
      ],
      reads: async () => [await timed(() => cofreAction(agent, p, 'get_balance', { account: 'paper' }))],
    }),
  };
}

/** POSTs one action to cofre; returns its `result`, throws unless it was executed. */
async function cofreAction(
  agent: Agent,
  cofre: CofreProcess,
  action: string,
  input: Readonly<Record<string, string>>,
): Promise<unknown> {
  const answer = await post(
    agent,
    new URL(`/v1/actions/${action}`, cofre.url),
    { authorization: `Bearer ${cofre.token}`, 'content-type': 'application/json' },
    JSON.stringify(input),
  );
  const parsed = JSON.parse(answer.body) as { status?: string; result?: unknown };
  if (answer.status !== 200 || parsed.status !== 'executed') {
    throw new Error(`cofre ${action} failed: HTTP ${answer.status} ${answer.body.slice(0, 400)}`);
  }
  return parsed.result;
}

function expectOrderStatus(result: unknown, status: string, what: string): void {
  const order = (result as { order?: { status?: string } } | undefined)?.order;
  if (order?.status !== status) throw new Error(`${what}: expected ${status}, got ${JSON.stringify(result)}`);
}

async function timed(op: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await op();
  return performance.now() - t0;
}

/** Runs every path at `concurrency` for `operation`, interleaved in rounds, with CPU read around each span. */
async function runCases(
  paths: readonly Path[],
  operation: Operation,
  concurrency: number,
  exchange: ExchangeProcess,
  nextId: () => string,
): Promise<Row[]> {
  const agents: Agent[] = [];
  const meters = paths.map((path) => ({
    own: path.pid === undefined ? undefined : new CpuMeter(path.pid),
    exchange: new CpuMeter(() => exchange.pid),
  }));
  try {
    const cases = paths.map((path, k) => {
      const agent = keepAliveAgent(concurrency);
      agents.push(agent);
      const op = path.bind(agent)[operation];
      const meter = meters[k]!;
      return {
        label: path.label,
        // Reads are one request per operation, orders two: the same number of requests either way.
        count: operation === 'orders' ? path.count / 2 : path.count,
        op: () => op(nextId()),
        timesRequests: true,
        onMeasure: (phase: 'start' | 'end') => {
          meter.own?.onMeasure(phase);
          meter.exchange.onMeasure(phase);
        },
      };
    });
    const results = await compareLoad(cases, { ...SHAPE, concurrency });
    return results.map((r, k) => {
      const perRequest = (ms: number | undefined): number | undefined =>
        ms === undefined || r.done === 0 ? undefined : ms / r.done;
      return {
        ...r,
        cpuMsPerRequest: perRequest(meters[k]!.own?.ms),
        exchangeCpuMsPerRequest: perRequest(meters[k]!.exchange.ms),
      };
    });
  } finally {
    for (const agent of agents) agent.destroy();
  }
}

/** One fdatasync of this disk, alone: a 330-byte append (an audit record's size), then the sync, timed. */
function fdatasyncAlone(dir: string): { p50ms: number; p99ms: number } {
  const fd = openSync(join(dir, 'fdatasync-probe'), 'a');
  const line = Buffer.from(`${'x'.repeat(329)}\n`);
  const times: number[] = [];
  try {
    for (let i = 0; i < 320; i++) {
      writeSync(fd, line);
      const t0 = performance.now();
      fdatasyncSync(fd);
      if (i >= 20) times.push(performance.now() - t0); // the first syncs allocate the file's first blocks
    }
  } finally {
    closeSync(fd);
  }
  times.sort((a, b) => a - b);
  return { p50ms: quantile(times, 0.5), p99ms: quantile(times, 0.99) };
}

function printSetup(
  nginx: NginxProxy | undefined,
  workers: boolean,
  cofres: readonly CofreUnderTest[],
  fsync: { p50ms: number; p99ms: number },
): void {
  console.log(
    `\n## Overhead against nginx and ccxt (issue 11)\n\n` +
      `Per case up to ${SHAPE.count} requests (${SIGNED_COUNT} for the signed rows c and d), in ${SHAPE.rounds} ` +
      `interleaved rounds of at most ${SHAPE.maxSeconds} s per case, after ${SHAPE.warmup} unmeasured operations. ` +
      `ccxt's rate limiter bypassed for a, b and e; cofre's account queue at its defaults. CPU per request is ` +
      `user + system time of the path's own process tree (cofre with its workers, nginx with its worker) and of ` +
      `the paper exchange, from /proc, over the measured spans.`,
  );
  console.log(
    nginx === undefined
      ? '\nnginx is not installed, so row c and the nginx bound are missing: install the Debian package `nginx`.'
      : `\nnginx ${nginx.version}, one worker, upstream keep-alive.`,
  );
  console.log(
    workers
      ? `\n\`cofre serve --workers\` is available: rows e run it with ${WORKER_COUNTS.join(', ')} workers.`
      : '\n`cofre serve --workers` is not available in this build: no worker rows (e).',
  );
  for (const c of cofres) {
    const confirmed = c.process.stderr().includes('ccxt limiter bypassed');
    console.log(
      `${c.label}: listening ${c.process.listeningAfterMs.toFixed(0)} ms after spawn, first get_balance ` +
        `answered at ${c.firstAnswerMs?.toFixed(0) ?? '?'} ms; limiter bypass ${confirmed ? 'confirmed' : 'NOT confirmed (the preload did not reach cofre\u2019s ccxt)'}.`,
    );
  }
  console.log(
    `\nOne fdatasync of this disk, alone (330-byte appends), at the start: p50 ${fsync.p50ms.toFixed(3)} ms, p99 ${fsync.p99ms.toFixed(3)} ms.`,
  );
}

const ms = (value: number | undefined, digits = 2): string =>
  value === undefined || Number.isNaN(value) ? 'n/a' : value.toFixed(digits);

function reportRows(title: string, operation: Operation, rows: readonly Row[]): void {
  console.log(`\n### ${title}\n`);
  console.log(
    '| path | requests | requests/s | p50 ms | p99 ms | mean ms | CPU ms/request | exchange CPU ms/request |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const done = r.capped ? `${r.done} (time cap)` : String(r.done);
    console.log(
      `| ${r.label} | ${done} | ${r.perSecond.toFixed(0)} | ${ms(r.p50ms)} | ${ms(r.p99ms)} | ${ms(r.meanMs)} | ` +
        `${ms(r.cpuMsPerRequest, 3)} | ${ms(r.exchangeCpuMsPerRequest, 3)} |`,
    );
  }
  const find = (prefix: string): Row | undefined => rows.find((r) => r.label.startsWith(prefix));
  const [a, c, d] = [find('a.'), find('c.'), find('d.')];
  const nginx = c === undefined || d === undefined ? undefined : c.p50ms - d.p50ms;
  for (const cofre of rows.filter((r) => /^[be]\./.test(r.label))) {
    if (a === undefined) continue;
    console.log(
      `\n${cofre.label}: p50 adds ${ms(cofre.p50ms - a.p50ms)} ms over ccxt (${cofre.label[0]} − a), ` +
        `nginx adds ${ms(nginx)} ms (c − d); p99 adds ${ms(cofre.p99ms - a.p99ms)} ms (${operation}).`,
    );
  }
}

/** Prints each cofre's RSS after the run; returns the largest single process of each (a worker or the primary). */
function reportCofreProcesses(cofres: readonly CofreUnderTest[]): (number | undefined)[] {
  console.log(
    '\n| cofre process | RSS after the run, MiB (largest process) | RSS, MiB (all its processes) |',
  );
  console.log('| --- | ---: | ---: |');
  return cofres.map((c) => {
    const rss = treeRssMiB(c.process.pid);
    console.log(`| ${c.label} | ${ms(rss?.largest, 0)} | ${ms(rss?.total, 0)} |`);
    return rss?.largest;
  });
}

/** With BENCH_CPU_PROF set: stops each profiled cofre (SIGINT, so it writes its profile) and prints where its CPU went. */
async function profileSummaries(cofres: readonly CofreUnderTest[]): Promise<void> {
  for (const c of cofres) {
    if (c.profileDir === undefined) continue;
    await c.process.stop(30_000);
    const times = await summarizeCpuProfiles(c.profileDir);
    if (times.files === 0) {
      console.log(`\n${c.label}: no .cpuprofile in ${c.profileDir} (did it exit before writing it?)`);
      continue;
    }
    printSelfTimes(
      `CPU profile of ${c.label} (${times.files} process(es), whole run, ${c.profileDir})`,
      times,
    );
  }
}
