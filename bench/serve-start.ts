// Memory and start-up of `cofre serve` (issue 11): `node bin/cofre.js serve` spawned on a fresh paper setup (the
// demo's config and store, `writeDemoSetup`) against a paper exchange in this process, timed from spawn to the
// first answered get_balance, with the child's RSS (VmRSS in /proc/<pid>/status) when it starts listening (idle,
// nothing served yet) and after the first get_balance (ccxt, the account and its markets loaded), and its peak
// (VmHWM). Side by side in the same run: the same server with all of ccxt imported before it starts
// (`node --import <ccxt>`), which is what loading ccxt through its package entry costs. With
// `COFRE_BENCH_BASELINE=<dir>`, a third row runs `<dir>/bin/cofre.js` (another build of cofre, e.g. the commit before
// a change, with its own dist/), for a before/after in one run. Needs dist/ and Linux /proc.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { issueAgentToken } from '../src/broker/agent-tokens.js';
import { loadConfig } from '../src/config/load-config.js';
import { openStateStore } from '../src/state/open-state-store.js';
import { randomPaperKeys, startPaperVenue, writeDemoSetup } from '../src/surfaces/cli/paper-provisioning.js';
import { spawnTracked, stopChild } from './child-process.js';
import { keepAliveAgent, post } from './http-post.js';
import { median } from './measure.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';

const RUNS = 5;
const COFRE_BIN = fileURLToPath(new URL('../bin/cofre.js', import.meta.url));
const ENTRY = fileURLToPath(new URL('../dist/surfaces/cli/entry.js', import.meta.url));
/** How long the server is left alone after the first answer before its RSS is read again. */
const SETTLE_MS = 500;

interface ServeSample {
  /** Spawn to "serving <url>" on stderr. */
  readonly listeningMs: number;
  /** Spawn to the first answered get_balance (sent as soon as the server listens). */
  readonly answerMs: number;
  /** CPU time (user + system) the server used up to that answer: less sensitive than wall time to a busy machine. */
  readonly answerCpuMs: number;
  /** VmRSS in MiB when the server starts listening. */
  readonly idleMiB: number;
  /** VmRSS in MiB {@link SETTLE_MS} after the first get_balance. */
  readonly afterCallMiB: number;
  /** VmHWM (peak RSS) in MiB at the end. */
  readonly peakMiB: number;
}

interface ServeCase {
  readonly label: string;
  readonly nodeArgs: readonly string[];
  /** The `bin/cofre.js` to run. */
  readonly bin: string;
}

/** Prints the serve start-up and memory table. */
export async function serveStartBench(): Promise<void> {
  await readFile(ENTRY).catch(() => {
    throw new Error(`${ENTRY} is missing: run \`npm run build\` first (\`npm run bench\` does)`);
  });
  const keys = randomPaperKeys();
  const exchange = await startPaperVenue([keys]);
  const cases: ServeCase[] = [
    { label: '`cofre serve`', nodeArgs: [], bin: COFRE_BIN },
    {
      label: '`cofre serve`, all of ccxt imported first (`node --import ccxt`)',
      nodeArgs: ['--import', import.meta.resolve('ccxt')],
      bin: COFRE_BIN,
    },
  ];
  // A deployment option, not a default (a smaller young generation means more scavenges under load): V8 grows the
  // young generation to its 16 MiB semi-space maximum while cofre loads its modules and never gives it back (32 MiB
  // of RSS, ~6 MiB of it in use when idle).
  cases.push({
    label: '`cofre serve` with `--max-semi-space-size=4` (e.g. in NODE_OPTIONS)',
    nodeArgs: ['--max-semi-space-size=4'],
    bin: COFRE_BIN,
  });
  const baseline = process.env['COFRE_BENCH_BASELINE'];
  if (baseline !== undefined && baseline !== '') {
    cases.push({
      label: `baseline: \`${baseline}/bin/cofre.js serve\``,
      nodeArgs: [],
      bin: join(baseline, 'bin', 'cofre.js'),
    });
  }
  const samples = new Map<string, ServeSample[]>(cases.map((c) => [c.label, []]));
  try {
    for (let i = 0; i < RUNS; i++) {
      for (const c of cases) {
        samples.get(c.label)?.push(await timeServe(c, exchange.url, keys));
      }
    }
  } finally {
    await exchange.stop();
  }
  const med = (values: readonly number[], digits = 0): string => median(values).toFixed(digits);
  console.log(`\n## Memory and start-up of \`cofre serve\` (${RUNS} runs each, interleaved; medians)\n`);
  console.log(
    '| case | spawn to listening ms | spawn to first get_balance ms | CPU ms to it | RSS idle MiB | RSS after first get_balance MiB | peak RSS MiB |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const c of cases) {
    const s = samples.get(c.label) ?? [];
    console.log(
      `| ${c.label} | ${med(s.map((x) => x.listeningMs))} | ${med(s.map((x) => x.answerMs))} | ${med(s.map((x) => x.answerCpuMs))} | ` +
        `${med(
          s.map((x) => x.idleMiB),
          1,
        )} | ${med(
          s.map((x) => x.afterCallMiB),
          1,
        )} | ${med(
          s.map((x) => x.peakMiB),
          1,
        )} |`,
    );
  }
}

/**
 * One run in a fresh temp dir: the demo setup pointing at `exchangeUrl`, one agent, then `cofre serve --port 0`
 * spawned, asked get_balance as soon as it listens, and stopped (SIGINT, SIGKILL after 5 s).
 */
async function timeServe(
  c: ServeCase,
  exchangeUrl: string,
  keys: { apiKey: string; secret: string },
): Promise<ServeSample> {
  const dir = await makeTempDir('cofre-bench-serve-');
  const agent = keepAliveAgent(1);
  try {
    const configFile = await writeDemoSetup(dir, {
      exchangeUrl,
      apiKey: keys.apiKey,
      apiSecret: keys.secret,
      port: 0,
    });
    const token = await addAgent(configFile);
    const start = performance.now();
    const child = spawnTracked(
      process.execPath,
      [...c.nodeArgs, c.bin, 'serve', '--config', configFile, '--port', '0'],
      { cwd: dir },
    );
    try {
      child.stdout?.resume();
      const url = await servingUrl(child);
      const listeningMs = performance.now() - start;
      const pid = child.pid ?? 0;
      const idleMiB = await statusMiB(pid, 'VmRSS');
      const answer = await post(
        agent,
        new URL('/v1/actions/get_balance', url),
        { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        JSON.stringify({ account: 'paper' }),
      );
      const answerMs = performance.now() - start;
      const answerCpuMs = await cpuMs(pid);
      const parsed = JSON.parse(answer.body) as { status?: string };
      if (answer.status !== 200 || parsed.status !== 'executed') {
        throw new Error(`get_balance failed: HTTP ${answer.status} ${answer.body.slice(0, 300)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const afterCallMiB = await statusMiB(pid, 'VmRSS');
      const peakMiB = await statusMiB(pid, 'VmHWM');
      return { listeningMs, answerMs, answerCpuMs, idleMiB, afterCallMiB, peakMiB };
    } finally {
      await stopChild(child, { signal: 'SIGINT', timeoutMs: 5000 });
    }
  } finally {
    agent.destroy();
    await removeTempDir(dir);
  }
}

/** Registers the bench agent in the setup's state store (what `cofre agent add` does, minus its audit line). */
async function addAgent(configFile: string): Promise<string> {
  const config = await loadConfig(configFile);
  const state = await openStateStore(config);
  try {
    return (
      await issueAgentToken(state, {
        id: 'bench-agent',
        policy: 'demo',
        ttlMs: config.agents.tokenTtl,
        now: new Date(),
      })
    ).token;
  } finally {
    await state.close();
  }
}

/** The URL from `cofre serve`'s "cofre <version> serving <url>" line on stderr. */
function servingUrl(child: ReturnType<typeof spawnTracked>, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      finish(new Error(`cofre serve did not start within ${timeoutMs} ms: ${text.trim()}`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8');
      const url = / serving (http:\/\/\S+)/.exec(text)?.[1];
      if (url !== undefined) finish(undefined, url);
    };
    const onExit = (code: number | null): void => {
      finish(new Error(`cofre serve exited (code ${code}) before serving: ${text.trim()}`));
    };
    const finish = (error: Error | undefined, url?: string): void => {
      clearTimeout(timer);
      child.off('exit', onExit);
      // Keep draining stderr so the child never blocks on a full pipe.
      child.stderr?.off('data', onData);
      child.stderr?.resume();
      if (error === undefined) resolve(url ?? '');
      else reject(error);
    };
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** A `kB` field of /proc/<pid>/status, in MiB. */
async function statusMiB(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
  if (kb === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kb) / 1024;
}

/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`: 100 on Linux x86-64 and arm64). */
const CLOCK_TICKS = 100;

/** User + system CPU time of a process so far, in ms (10 ms resolution), from /proc/<pid>/stat. */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces, in parentheses): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}
