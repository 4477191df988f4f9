import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';

import { STARTER_CONSOLE_PORT } from '../../src/config/starter-config.js';
import type { CliIo } from '../../src/surfaces/cli/cli-io.js';
import { demo, type DemoHandle } from '../../src/surfaces/cli/demo.js';
import { runCli } from '../../src/surfaces/cli/main.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

/** Runs the CLI in-process with `input` on a non-terminal stdin. */
export async function cli(cwd: string, args: readonly string[], input = ''): Promise<CliResult> {
  const stdin = new PassThrough();
  stdin.end(input);
  const stdout = new Collect();
  const stderr = new Collect();
  const io: CliIo = { stdin, stdout, stderr, cwd };
  const code = await runCli(args, io);
  if (args[0] === 'init' && code === 0 && !args.includes('--help')) {
    const dir = args.includes('--dir') ? (args[args.indexOf('--dir') + 1] ?? '.') : '.';
    freeConsolePort(resolve(cwd, dir));
  }
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/**
 * The starter config serves the console on a fixed port (8789); test files run in parallel and would fight over it,
 * so a config `cofre init` wrote here gets a free one (port 0) instead. Nothing else of it changes.
 */
function freeConsolePort(dir: string): void {
  const path = join(dir, 'cofre.yaml');
  const text = readFileSync(path, 'utf8');
  const fixed = `    port: ${STARTER_CONSOLE_PORT}\n`;
  if (!text.includes(fixed)) throw new Error(`no console port ${STARTER_CONSOLE_PORT} in ${path}`);
  writeFileSync(path, text.replace(fixed, '    port: 0\n'));
}

const entry = resolve(import.meta.dirname, '../../src/surfaces/cli/entry.ts');
// Absolute, so the child resolves tsx from this repo whatever its working directory.
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** The argv of the real `cofre` process (through tsx), for tests that drive its pipes themselves. */
export function cofreArgv(args: readonly string[]): string[] {
  return ['--import', tsx, entry, ...args];
}

/** Runs the real `cofre` process (through tsx), as a user would; `env` adds environment variables. */
export function cliProcess(
  cwd: string,
  args: readonly string[],
  input = '',
  env: Readonly<Record<string, string>> = {},
): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', tsx, entry, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: cwd, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    child.on('error', fail);
    child.on('close', (code) => {
      done({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** A temporary directory removed by the returned function. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'cofre-cli-'));
  return {
    dir,
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A `cofre` process left running (serve, paper), as a user starts one in another terminal. */
export interface RunningCli {
  /** Resolves with everything printed so far once the output matches; rejects if the process exits first. */
  waitFor(pattern: RegExp): Promise<string>;
  /** Sends SIGTERM and resolves when the process has exited. */
  stop(): Promise<void>;
}

/** Starts the real `cofre` process (through tsx) and leaves it running; `env` adds environment variables. */
export function startCliProcess(
  cwd: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): RunningCli {
  const child = spawn(process.execPath, ['--import', tsx, entry, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: cwd, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let exited: number | null | undefined;
  const waiters = new Set<() => void>();
  const poke = (): void => {
    for (const w of waiters) w();
  };
  child.stdout.on('data', (c: Buffer) => {
    output += c.toString('utf8');
    poke();
  });
  child.stderr.on('data', (c: Buffer) => {
    output += c.toString('utf8');
    poke();
  });
  const closed = new Promise<void>((done) => {
    child.on('close', (code) => {
      exited = code;
      poke();
      done();
    });
  });
  return {
    waitFor(pattern) {
      return new Promise((done, fail) => {
        const check = (): void => {
          if (pattern.test(output)) {
            waiters.delete(check);
            done(output);
          } else if (exited !== undefined) {
            waiters.delete(check);
            fail(new Error(`cofre ${args.join(' ')} exited with ${exited}:\n${output}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (exited === undefined) child.kill('SIGTERM');
      await closed;
    },
  };
}

/** `cofre demo` run in-process in a folder of its own, its instructions discarded. */
export interface QuietDemo extends DemoHandle {
  /** Stops the demo and removes its folder. */
  close(): Promise<void>;
}

/** Starts `cofre demo` on a free port in a temporary folder, as the MCP and client tests use it. */
export async function startQuietDemo(): Promise<QuietDemo> {
  const { dir, remove } = tempDir();
  const quiet = { stdin: process.stdin, stdout: new PassThrough(), stderr: new PassThrough(), cwd: dir };
  const handle = await demo(quiet, { port: '0', wait: false });
  return {
    ...handle,
    close: async () => {
      await handle.stop();
      remove();
    },
  };
}
