// Issue 16: what state on PostgreSQL costs, and what replicas buy back. Side by side in one run, on one machine,
// against one paper exchange in a process of its own:
//   a. 1 `cofre serve` on SQLite (the default, one host);
//   b. 1 `cofre serve` on PostgreSQL (embedded, on loopback: the network hop a real deployment has, minus the wire);
//   c. 3 `cofre serve` on that PostgreSQL, the orders spread round-robin over them, as a load balancer would.
// Each replica is `node --import bench/bypass-ccxt-limiter.mjs bin/cofre.js serve` (dist/, so `npm run build`), over
// `writeDemoSetup`'s paper setup with the daily cap and quotas raised (bench/cofre-process.ts, benchConfig), so what
// is measured is the path: policy, the limit ledger, the request claim, the audit intent and outcome, the venue.
// Each operation is a market buy that must fill; any other answer aborts the run. Read the ratios, not the numbers.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import pg from 'pg';

import { writeDemoSetup } from '../src/surfaces/cli/paper-provisioning.js';
import { startPostgres } from '../test/peers/peers.js';
import { startExchangeProcess } from './broker-latency.js';
import { hasExited, spawnTracked, stopChild } from './child-process.js';
import { benchConfig } from './cofre-process.js';
import { keepAliveAgent, post } from './http-post.js';
import { compareLoad, type LoadCase, type LoadResult } from './measure.js';
import { freeLoopbackPort, waitForPort } from './nginx-proxy.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';

const CLI = fileURLToPath(new URL('../bin/cofre.js', import.meta.url));
const PRELOAD = fileURLToPath(new URL('./bypass-ccxt-limiter.mjs', import.meta.url));
const CONCURRENCY = [1, 16] as const;
const SHAPE = { count: 600, warmup: 40, rounds: 3, roundWarmup: 10, maxSeconds: 15 } as const;
const ORDER = {
  account: 'paper',
  symbol: 'BTC/USDT',
  side: 'buy',
  type: 'market',
  amount: '0.0001',
} as const;

/** A set of `cofre serve` processes on one config, and its agent's token. */
interface Deployment {
  readonly label: string;
  readonly urls: readonly string[];
  readonly token: string;
  stop(): Promise<void>;
}

/** Prints the replicas table: throughput and latency of a, b and c, and each against a. */
export async function replicasBench(): Promise<void> {
  const dir = await makeTempDir('cofre-bench-replicas-');
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const apiKey = randomBytes(32).toString('hex');
    const secret = randomBytes(32).toString('hex');
    const exchange = await startExchangeProcess(apiKey, secret);
    stops.push(() => exchange.stop());
    const postgres = await startPostgres();
    stops.push(() => postgres.stop());
    const databaseUrl = async (name: string): Promise<string> => {
      const admin = new pg.Client({ connectionString: postgres.connectionString });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return postgres.connectionString.replace(/\/[^/?]+(\?|$)/, `/${name}$1`);
    };
    const keys = { exchangeUrl: exchange.url, apiKey, apiSecret: secret };
    const deployments: Deployment[] = [];
    const deploy = async (label: string, replicas: number, stateUrl?: string): Promise<void> => {
      const d = await startDeployment(
        join(dir, `d${String(deployments.length)}`),
        label,
        keys,
        replicas,
        stateUrl,
      );
      stops.push(() => d.stop());
      deployments.push(d);
    };
    await deploy('a. 1 replica, SQLite', 1);
    await deploy('b. 1 replica, PostgreSQL', 1, await databaseUrl('bench_one'));
    await deploy('c. 3 replicas, PostgreSQL', 3, await databaseUrl('bench_three'));

    console.log(
      `\n## Replicas on PostgreSQL against one cofre on SQLite (issue 16)\n\n` +
        `Market buys through POST /v1/actions/place_order; c spreads them round-robin over its replicas. ` +
        `${String(cpus().length)} CPU cores shared by every process (exchange, PostgreSQL, replicas, this client).`,
    );
    for (const concurrency of CONCURRENCY) {
      const agent = keepAliveAgent(concurrency);
      let sequence = 0;
      const cases: LoadCase[] = deployments.map((d, k) => ({
        label: d.label,
        op: async (i: number) => {
          const url = d.urls[i % d.urls.length] ?? '';
          const clientOrderId = `r${String(k)}-${(sequence++).toString(36)}`;
          const answer = await post(
            agent,
            new URL('/v1/actions/place_order', url),
            { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' },
            JSON.stringify({ ...ORDER, clientOrderId }),
          );
          const body = JSON.parse(answer.body) as {
            status?: string;
            result?: { order?: { status?: string } };
          };
          if (
            answer.status !== 200 ||
            body.status !== 'executed' ||
            body.result?.order?.status !== 'closed'
          ) {
            throw new Error(
              `order ${clientOrderId} via ${d.label}: HTTP ${String(answer.status)} ${answer.body.slice(0, 300)}`,
            );
          }
        },
      }));
      // The paper exchange's cost per order grows with the orders it holds: a fresh one each round.
      const results = await compareLoad(cases, { ...SHAPE, concurrency }, () => exchange.restart());
      agent.destroy();
      reportReplicas(concurrency, results);
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await removeTempDir(dir);
  }
}

function reportReplicas(concurrency: number, results: readonly LoadResult[]): void {
  const base = results[0];
  console.log(`\n### ${String(concurrency)} in flight\n`);
  console.log('| deployment | orders | orders/s | p50 ms | p99 ms | orders/s vs a | p50 vs a | p99 vs a |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    const vs = (x: number, y: number | undefined): string =>
      y === undefined ? '' : `${(x / y).toFixed(2)}x`;
    console.log(
      `| ${r.label}${r.capped ? ' (capped)' : ''} | ${String(r.done)} | ${r.perSecond.toFixed(0)} | ${r.p50ms.toFixed(2)} | ` +
        `${r.p99ms.toFixed(2)} | ${vs(r.perSecond, base?.perSecond)} | ${vs(r.p50ms, base?.p50ms)} | ${vs(r.p99ms, base?.p99ms)} |`,
    );
  }
}

/**
 * Writes the demo's paper setup in `dir` (state on `stateUrl`'s database when given: its URL kept in the embedded
 * store, the schema migrated), adds the agent, and starts `replicas` `cofre serve` processes on free ports.
 */
async function startDeployment(
  dir: string,
  label: string,
  keys: { exchangeUrl: string; apiKey: string; apiSecret: string },
  replicas: number,
  stateUrl: string | undefined,
): Promise<Deployment> {
  await mkdir(dir, { recursive: true });
  const config = await writeDemoSetup(dir, { ...keys, port: 0 });
  let text = benchConfig(await readFile(config, 'utf8'));
  if (stateUrl !== undefined) {
    await cofre(['-c', config, 'secret', 'put', 'state/url'], `${stateUrl}\n`);
    const sqlite = 'state:\n  path: state.db\n';
    if (!text.includes(sqlite)) throw new Error('the demo config changed shape: update bench/replicas.ts');
    text = text.replace(sqlite, 'state:\n  type: postgres\n  url: local:state/url\n  ssl: disable\n');
  }
  await writeFile(config, text);
  if (stateUrl !== undefined) await cofre(['-c', config, 'state', 'migrate']);
  const tokenFile = join(dir, 'bench-agent.token');
  await cofre(['-c', config, 'agent', 'add', 'bench-agent', '--policy', 'demo', '--token-file', tokenFile]);
  const token = (await readFile(tokenFile, 'utf8')).trim();
  const children: ChildProcess[] = [];
  const urls: string[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((c) => stopChild(c, { timeoutMs: 5000 })));
  };
  try {
    for (let i = 0; i < replicas; i++) {
      const port = await freeLoopbackPort();
      const child = spawnTracked(
        process.execPath,
        ['--import', PRELOAD, CLI, '-c', config, 'serve', '--port', String(port)],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      children.push(child);
      await waitForPort(port, () => hasExited(child), { what: 'cofre serve', timeoutMs: 30_000 }).catch(
        (err: unknown) => {
          throw new Error(`cofre serve (${label}) did not start: ${stderr.trim()}`, { cause: err });
        },
      );
      urls.push(`http://127.0.0.1:${String(port)}`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { label, urls, token, stop };
}

/** Runs `cofre <args>` to completion with `input` on stdin; rejects with its stderr when it fails. */
async function cofre(args: readonly string[], input = ''): Promise<void> {
  const child = spawnTracked(process.execPath, [CLI, ...args]);
  let stderr = '';
  child.stdout?.resume();
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdin?.end(input);
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`cofre ${args.join(' ')} failed (exit ${String(code)}): ${stderr.trim()}`);
}
