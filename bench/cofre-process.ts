// cofre as an operator runs it, in a process of its own: `cofre agent add --token-file`, then `node bin/cofre.js
// serve -c <config>` (dist/, so `npm run build` first), over a paper setup written by `writeDemoSetup` — the same
// provisioning `cofre demo` uses — with the daily cap and the agent quotas raised so that thousands of bench
// requests measure the path instead of the limits. Options: ccxt's rate limiter bypassed by a preload
// (bypass-ccxt-limiter.mjs), `--workers N`, and `--cpu-prof` into a directory.
import { once } from 'node:events';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { writeDemoSetup } from '../src/surfaces/cli/paper-provisioning.js';
import { hasExited, spawnTracked, stopChild } from './child-process.js';
import { freeLoopbackPort, waitForPort } from './nginx-proxy.js';

const CLI = fileURLToPath(new URL('../bin/cofre.js', import.meta.url));
const PRELOAD = fileURLToPath(new URL('./bypass-ccxt-limiter.mjs', import.meta.url));

/** How to start cofre. */
export interface CofreProcessOptions {
  /** A fresh directory for cofre's config, store, state, audit log and request log. */
  readonly dir: string;
  readonly exchangeUrl: string;
  readonly apiKey: string;
  readonly secret: string;
  /** `--workers <N>` when set (only if `cofre serve` has the option, see {@link serveHasWorkers}). */
  readonly workers?: number | undefined;
  /** Preload bypass-ccxt-limiter.mjs (`node --import`): true for every overhead measurement. */
  readonly bypassLimiter: boolean;
  /** `--cpu-prof --cpu-prof-dir=<dir>`: each process (workers too) writes a .cpuprofile there when it exits. */
  readonly cpuProfDir?: string | undefined;
  /** Another build's `bin/cofre.js` (a baseline to compare against); default this tree's. */
  readonly cli?: string | undefined;
}

/** A running `cofre serve`. */
export interface CofreProcess {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The bench agent's bearer token. */
  readonly token: string;
  /** The process `node bin/cofre.js serve` runs in (with workers: their primary). */
  readonly pid: number;
  /** Milliseconds from spawning `serve` until it first accepted a TCP connection. */
  readonly listeningAfterMs: number;
  /** Everything it wrote to stderr so far (the start-up summary, the preload's confirmation). */
  stderr(): string;
  /** SIGINT (as Ctrl-C), then SIGKILL to the group after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

/** True when this build's `cofre serve` takes `--workers` (from its `--help`). */
export async function serveHasWorkers(): Promise<boolean> {
  const child = spawnTracked(process.execPath, [CLI, 'serve', '--help']);
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  child.stderr?.resume();
  await once(child, 'exit');
  return text.includes('--workers');
}

/**
 * Provisions `options.dir`, adds the agent `bench-agent` (policy `demo`) with `cofre agent add --token-file`, and
 * starts `cofre serve` on a free loopback port. Its request log (pino, stdout) goes to `cofre.log` in the directory.
 */
export async function startCofreProcess(options: CofreProcessOptions): Promise<CofreProcess> {
  const { dir } = options;
  const port = await freeLoopbackPort();
  const config = await writeDemoSetup(dir, {
    exchangeUrl: options.exchangeUrl,
    apiKey: options.apiKey,
    apiSecret: options.secret,
    port,
  });
  await writeFile(config, benchConfig(await readFile(config, 'utf8')));
  const tokenFile = join(dir, 'bench-agent.token');
  const cli = options.cli ?? CLI;
  await runCli(
    ['-c', config, 'agent', 'add', 'bench-agent', '--policy', 'demo', '--token-file', tokenFile],
    cli,
  );
  const token = (await readFile(tokenFile, 'utf8')).trim();

  const nodeArgs = [
    ...(options.bypassLimiter ? ['--import', PRELOAD] : []),
    ...(options.cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`]),
  ];
  const serveArgs = [
    '-c',
    config,
    'serve',
    ...(options.workers === undefined ? [] : ['--workers', String(options.workers)]),
  ];
  const log = await open(join(dir, 'cofre.log'), 'a');
  const started = performance.now();
  const child = spawnTracked(process.execPath, [...nodeArgs, cli, ...serveArgs], {
    stdio: ['ignore', log.fd, 'pipe'],
  });
  await log.close(); // the child holds its own descriptor
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const stop = (timeoutMs = 5000): Promise<void> => stopChild(child, { timeoutMs });
  try {
    await waitForPort(port, () => hasExited(child), { what: 'cofre serve', timeoutMs: 30_000 });
  } catch (err) {
    await stop();
    throw new Error(`cofre serve did not start: ${stderr.trim()}`, { cause: err });
  }
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    pid: child.pid ?? 0,
    listeningAfterMs: performance.now() - started,
    stderr: () => stderr,
    stop,
  };
}

/**
 * The demo's config as written, with two changes for load:
 * - the daily notional cap raised, so thousands of bench orders measure the path instead of running into the cap
 *   (the policy's rules, price band and limit bookkeeping stay as they are);
 * - the agent's quotas raised: one bench agent stands for many agents at load, and its per-agent defaults (10
 *   requests/s, 8 in flight) would refuse most of it. The account queue keeps its defaults: it is part of what is
 *   measured.
 */
export function benchConfig(demo: string): string {
  const raised = demo
    .replace('notional: 20000, quote: USDT', 'notional: 1000000000, quote: USDT')
    .replace(
      'agents:\n  tokenTtl: 1d\n',
      'agents:\n  tokenTtl: 1d\n  quotas: { requestsPerSecond: 10000, burst: 100000, concurrency: 1000 }\n',
    );
  if (!raised.includes('notional: 1000000000') || !raised.includes('requestsPerSecond: 10000')) {
    throw new Error('the demo config changed shape: update benchConfig in bench/cofre-process.ts');
  }
  return raised;
}

/** Runs `cofre <args>` to completion; rejects with its stderr when it fails. */
async function runCli(args: readonly string[], cli = CLI): Promise<void> {
  const child = spawnTracked(process.execPath, [cli, ...args]);
  let stderr = '';
  child.stdout?.resume();
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`cofre ${args.join(' ')} failed (exit ${code}): ${stderr.trim()}`);
}
