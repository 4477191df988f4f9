// `cofre … | head -1`: a reader that stops early must not make cofre die with a stack trace.
import { spawn } from 'node:child_process';

import { afterEach, beforeEach, expect, it } from 'vitest';

import { cofreArgv, tempDir } from './cli-harness.js';

let dir: string;
let remove: () => void;
beforeEach(() => {
  ({ dir, remove } = tempDir());
});
afterEach(() => {
  remove();
});

it('stops quietly with status 141 when its stdout reader goes away', async () => {
  // The reader goes away before cofre (a few hundred milliseconds from its first write) prints anything.
  const child = spawn(process.execPath, cofreArgv(['config', 'schema']), {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOME: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  child.stdout.destroy();
  const code = await new Promise<number | null>((done) => child.on('close', done));
  expect(stderr).toBe('');
  expect(code).toBe(141);
});
