// Cold start to first answer: `node bin/cofre.js demo --port 0` spawned in a fresh temp dir, timed from spawn to the
// first successful get_balance over HTTP (which loads ccxt, the markets and the balance), against `cofre --help`
// and a bare `node -e ''`. Needs dist/ (`npm run bench` builds it first).
import { access, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { firstLine, spawnTracked, stopChild } from './child-process.js';
import { keepAliveAgent, post } from './http-post.js';
import { median } from './measure.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';

const RUNS = 5;
const COFRE_BIN = fileURLToPath(new URL('../bin/cofre.js', import.meta.url));
const ENTRY = fileURLToPath(new URL('../dist/surfaces/cli/entry.js', import.meta.url));

interface DemoTiming {
  /** Spawn to the demo printing its URL (listening). */
  readonly listeningMs: number;
  /** Spawn to the first get_balance answer. */
  readonly answerMs: number;
  /** The second get_balance alone, for comparison (ccxt and the markets are loaded by then). */
  readonly secondMs: number;
}

/** Prints the cold-start table. */
export async function coldStartBench(): Promise<void> {
  const built = await access(ENTRY).then(
    () => true,
    () => false,
  );
  if (!built) {
    throw new Error(`${ENTRY} is missing: run \`npm run build\` first (\`npm run bench\` does)`);
  }
  const node: number[] = [];
  const help: number[] = [];
  const demo: DemoTiming[] = [];
  for (let i = 0; i < RUNS; i++) {
    node.push(await timeExit(process.execPath, ['-e', '']));
    help.push(await timeExit(process.execPath, [COFRE_BIN, '--help']));
    demo.push(await timeDemo());
  }
  const fmt = (values: readonly number[]): string =>
    `${median(values).toFixed(0)} | ${Math.min(...values).toFixed(0)} | ${Math.max(...values).toFixed(0)}`;
  console.log(`\n## Cold start (${RUNS} runs each, interleaved)\n`);
  console.log('| case | median ms | min ms | max ms |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(`| \`node -e ''\` (Node itself) | ${fmt(node)} |`);
  console.log(`| \`cofre --help\` | ${fmt(help)} |`);
  console.log(`| \`cofre demo --port 0\`: spawn to listening | ${fmt(demo.map((d) => d.listeningMs))} |`);
  console.log(
    `| \`cofre demo --port 0\`: spawn to first get_balance answer | ${fmt(demo.map((d) => d.answerMs))} |`,
  );
  console.log(`| the second get_balance, alone (warm) | ${fmt(demo.map((d) => d.secondMs))} |`);
}

/** Milliseconds from spawn to exit of a command that must exit 0. */
async function timeExit(command: string, args: readonly string[]): Promise<number> {
  const start = performance.now();
  const child = spawnTracked(command, args, { stdio: 'ignore' });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}`);
  return performance.now() - start;
}

/**
 * One demo run in a fresh temp dir (demo writes `.cofre-demo` in its working directory): spawn, read the URL from its
 * first line, ask get_balance twice with the demo agent's token, then stop it (SIGINT, SIGKILL after 5 s) and remove
 * the directory.
 */
async function timeDemo(): Promise<DemoTiming> {
  const cwd = await makeTempDir('cofre-bench-demo-');
  const agent = keepAliveAgent(1);
  const start = performance.now();
  const child = spawnTracked(process.execPath, [COFRE_BIN, 'demo', '--port', '0'], { cwd });
  try {
    const line = await firstLine(child, 'cofre demo');
    const listeningMs = performance.now() - start;
    const url = /broker (http:\/\/[^\s,]+)/.exec(line)?.[1];
    if (url === undefined) throw new Error(`cannot find the broker URL in cofre demo's output: ${line}`);
    child.stdout?.resume();
    const token = (await readFile(await demoTokenFile(cwd), 'utf8')).trim();
    const getBalance = async (): Promise<void> => {
      const answer = await post(
        agent,
        new URL('/v1/actions/get_balance', url),
        { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        JSON.stringify({ account: 'paper' }),
      );
      const parsed = JSON.parse(answer.body) as { status?: string };
      if (answer.status !== 200 || parsed.status !== 'executed') {
        throw new Error(
          `cofre demo's get_balance failed: HTTP ${answer.status} ${answer.body.slice(0, 300)}`,
        );
      }
    };
    await getBalance();
    const answerMs = performance.now() - start;
    const second = performance.now();
    await getBalance();
    return { listeningMs, answerMs, secondMs: performance.now() - second };
  } finally {
    agent.destroy();
    await stopChild(child, { signal: 'SIGINT', timeoutMs: 5000 });
    await removeTempDir(cwd);
  }
}

/** The demo agent's token file: `cofre demo` makes one folder per run under `.cofre-demo/`, the only one here. */
async function demoTokenFile(cwd: string): Promise<string> {
  const root = join(cwd, '.cofre-demo');
  const runs = (await readdir(root, { withFileTypes: true })).filter((entry) => entry.isDirectory());
  if (runs.length !== 1) throw new Error(`expected one demo run folder in ${root}, found ${runs.length}`);
  return join(root, runs[0]!.name, 'agent.token');
}
