// Regression: a second `cofre demo` in the same folder deleted the first one's live folder (store, state, audit log)
// from under it, and a stopped demo's audit log was deleted without a word.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { ActionResponse } from '../../src/broker/broker.js';
import { demo, type DemoHandle } from '../../src/surfaces/cli/demo.js';
import { consoleRequest, login } from '../console/console-client.js';
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

describe('cofre demo prints what it does (issue 9)', () => {
  // The printed lines, run as printed: an order under the cap executes, one over every cap is denied, one in the
  // approval band waits, and the printed operator command lets exactly that one through.
  it('shows a cap, an approval and the command that approves it', async () => {
    const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), cwd: dir };
    const printed: Buffer[] = [];
    io.stdout.on('data', (chunk: Buffer) => printed.push(chunk));
    const handle = await demo(io, { port: '0', wait: false });
    running.push(handle);
    const lines = Buffer.concat(printed)
      .toString('utf8')
      .split('\n')
      .map((l) => l.trim());
    const curls = lines.filter((l) => l.startsWith('curl ') && l.includes('place_order'));
    expect(curls).toHaveLength(3);
    // Asynchronously: the demo's server runs in this process and must answer while the shell waits.
    const run = (command: string): Promise<string> =>
      new Promise((resolve, reject) => {
        execFile('sh', ['-c', command], { cwd: dir, encoding: 'utf8' }, (err, stdout) => {
          if (err) reject(new Error(`${command} failed`, { cause: err }));
          else resolve(stdout);
        });
      });
    const [small, tooLarge, large] = await Promise.all(
      curls.map(async (c) => JSON.parse(await run(c)) as ActionResponse),
    );
    expect(small).toMatchObject({ status: 'executed', rule: expect.stringContaining('small-orders') });
    expect(tooLarge).toMatchObject({ status: 'denied', reason: expect.stringContaining('maxNotional') });
    expect(large).toMatchObject({
      status: 'pending_approval',
      rule: expect.stringContaining('large-orders'),
    });

    const approve = lines.find((l) => l.includes('approval approve REQUEST_ID'));
    expect(approve).toBeDefined();
    await run(String(approve).replace('REQUEST_ID', large?.requestId ?? ''));
    const poll = lines.find((l) => l.startsWith('curl ') && l.includes('/v1/requests/REQUEST_ID'));
    const answer = JSON.parse(
      await run(String(poll).replace('REQUEST_ID', large?.requestId ?? '')),
    ) as ActionResponse;
    expect(answer).toMatchObject({ status: 'executed', result: { order: { clientOrderId: 'demo-3' } } });
  });
});

describe('cofre demo serves the operator console (issue 18)', () => {
  it("prints the console's URL and a demo operator token that logs in there, and an agent's does not", async () => {
    const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), cwd: dir };
    const printed: Buffer[] = [];
    io.stdout.on('data', (chunk: Buffer) => printed.push(chunk));
    const handle = await demo(io, { port: '0', wait: false });
    running.push(handle);
    const text = Buffer.concat(printed).toString('utf8');
    const consoleUrl = handle.consoleUrl ?? '';
    expect(text).toContain(`operator console, ${consoleUrl}, logged in`);
    const token = /^\s+(cofre_op_\S+)$/m.exec(text)?.[1] ?? '';
    const session = await login(consoleUrl, token);
    expect(session.answer.json?.['operator']).toBe('demo-operator');
    const agent = await consoleRequest(consoleUrl, 'POST', '/console/login', {
      headers: { origin: consoleUrl },
      body: { token: readFileSync(handle.tokenFile, 'utf8').trim() },
    });
    expect(agent.status).toBe(403);
  });
});
