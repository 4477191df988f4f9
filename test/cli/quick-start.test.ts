// Regression: the README's Quick start dead-ended (`npx cofre init` in an empty folder asked the public registry for
// a package named cofre, and the paper account had no paper exchange, so the first request failed with
// COFRE_VENUE_HOST_REFUSED). This runs the Quick start block of README.md as written, line by line, in an empty
// folder with `cofre` on the PATH as `npm link` puts it there (a link to the clone's bin/cofre.js, running the built
// dist/), and expects the last line to get a balance through `cofre serve`.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { tempDir } from './cli-harness.js';

const repo = resolve(import.meta.dirname, '../..');
const MARKER = 'The test test/cli/quick-start.test.ts runs this block';

/** The commands of the Quick start block, one per logical line (continuations joined). */
function quickStartCommands(readme: string): string[] {
  const at = readme.indexOf(MARKER);
  if (at === -1) throw new Error(`README.md has no line "${MARKER}"`);
  const open = readme.indexOf('```sh\n', at);
  const close = readme.indexOf('\n```', open + 6);
  const lines = readme.slice(open + 6, close).split('\n');
  const commands: string[] = [];
  let pending = '';
  for (const line of lines) {
    if (line.trim() === '') continue;
    if (line.endsWith('\\')) pending += `${line.slice(0, -1)} `;
    else {
      commands.push(pending + line);
      pending = '';
    }
  }
  return commands;
}

interface Ran {
  readonly code: number | null;
  readonly output: string;
}

const BACKGROUND = /\s&\s*(#.*)?$/;

let work: { dir: string; remove: () => void };
let bin: { dir: string; remove: () => void };
let env: NodeJS.ProcessEnv;
const background: ChildProcess[] = [];

function run(command: string): Promise<Ran> {
  return new Promise((done, fail) => {
    const child = spawn('bash', ['-c', command], { cwd: work.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.on('error', fail);
    child.on('close', (code) => {
      done({ code, output });
    });
  });
}

/** Starts a `… &` line and resolves once it prints the URL it serves (what a user waits to see), or fails if it exits. */
function runInBackground(command: string): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn('bash', ['-c', `exec ${command.replace(BACKGROUND, '')}`], {
      cwd: work.dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    background.push(child);
    let output = '';
    const onData = (c: Buffer): void => {
      output += c.toString('utf8');
      if (/(listening on|serving) http:\/\/127\.0\.0\.1:\d+/.test(output)) done(output);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', fail);
    child.on('exit', (code) => {
      fail(new Error(`"${command}" exited with ${code}:\n${output}`));
    });
  });
}

beforeAll(() => {
  // The user runs the built CLI (`npm ci` builds dist/ through `prepare`); build it from these sources.
  execFileSync('npm', ['run', 'build'], { cwd: repo, stdio: 'ignore' });
  work = tempDir();
  // Exactly what `npm link` makes: a `cofre` on the PATH that links to the clone's bin/cofre.js.
  bin = tempDir();
  symlinkSync(join(repo, 'bin/cofre.js'), join(bin.dir, 'cofre'));
  env = { PATH: `${bin.dir}:${process.env.PATH ?? ''}`, HOME: work.dir };
}, 120_000);

afterAll(async () => {
  for (const child of background) {
    if (child.exitCode === null) {
      const exited = new Promise((done) => child.once('close', done));
      child.kill('SIGTERM');
      await exited;
    }
  }
  work.remove();
  bin.remove();
});

describe('the Quick start in README.md', () => {
  it('ends with a balance read through cofre serve, run as written in an empty folder', async () => {
    const commands = quickStartCommands(readFileSync(join(repo, 'README.md'), 'utf8'));
    // Each line runs in a shell of its own, as typed one after another: no line may rely on `cd` or variables.
    expect(commands.filter((c) => /^(cd|export|[A-Z_]+=)/.test(c))).toEqual([]);
    expect(commands.some((c) => c.includes('npx'))).toBe(false);
    const last = commands.at(-1) ?? '';
    let answer = '';
    for (const command of commands) {
      if (BACKGROUND.test(command)) {
        await runInBackground(command);
        continue;
      }
      const ran = await run(command);
      expect({ command, ...ran }).toMatchObject({ command, code: 0 });
      if (command === last) answer = ran.output;
    }
    expect(last).toMatch(/^curl .*\/v1\/actions\/get_balance$/);
    const body = JSON.parse(answer) as {
      status: string;
      result: { balance: { assets: Record<string, unknown> } };
    };
    expect(body.status).toBe('executed');
    expect(body.result.balance.assets).toHaveProperty('USDT');
  }, 120_000);
});
