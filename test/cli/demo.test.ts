// Regression: a second `cofre demo` in the same folder deleted the first one's live folder (store, state, audit log)
// from under it, and a stopped demo's audit log was deleted without a word.
import { existsSync, readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { demo, type DemoHandle } from '../../src/surfaces/cli/demo.js';
import { tempDir } from './cli-harness.js';

let dir: string;
let remove: () => void;
const running: DemoHandle[] = [];

beforeEach(() => {
  ({ dir, remove } = tempDir());
});
afterEach(async () => {
  for (const handle of running.splice(0)) await handle.stop();
  remove();
});

async function start(): Promise<DemoHandle> {
  const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), cwd: dir };
  const handle = await demo(io, { port: '0', wait: false });
  running.push(handle);
  return handle;
}

async function balance(handle: DemoHandle): Promise<string> {
  const res = await fetch(`${handle.url}/v1/actions/get_balance`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${readFileSync(handle.tokenFile, 'utf8').trim()}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ account: 'paper' }),
  });
  return ((await res.json()) as { status: string }).status;
}

describe('cofre demo', () => {
  it('runs two demos in one folder side by side, keeps a stopped run and its audit log until the next run', async () => {
    const first = await start();
    const second = await start();
    expect(second.dir).not.toBe(first.dir);
    expect(existsSync(first.configFile)).toBe(true);
    expect(await balance(first)).toBe('executed');
    expect(await balance(second)).toBe('executed');

    await first.stop();
    expect(readFileSync(first.auditFile, 'utf8')).toMatch(/get_balance/);

    // A third run clears the finished first run, never the second, which is still running.
    await start();
    expect(existsSync(first.dir)).toBe(false);
    expect(existsSync(second.dir)).toBe(true);
    expect(await balance(second)).toBe('executed');
  });
});
