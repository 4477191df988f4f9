/**
 * Issue 14's promise to a newcomer: from the README to a Python agent calling get_balance on the demo in three
 * commands (`cofre demo`, `pip install ./clients/python`, then the Python line the demo prints). This runs the demo
 * as a user does, takes the line it printed, and runs it as printed in a shell whose `python` has cofre-client (the
 * venv `npm test` makes installs clients/python as the second command would).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type RunningCli, startCliProcess, tempDir } from '../cli/cli-harness.js';
import { inCi } from '../peers/ci-env.js';
import { REPO_ROOT } from '../peers/peers.js';

const VENV_BIN = join(REPO_ROOT, '.tools', 'venv-client', 'bin');
const missing = existsSync(join(VENV_BIN, 'python')) ? undefined : `${VENV_BIN}/python does not exist`;

let work: { dir: string; remove: () => void };
let demo: RunningCli | undefined;

function bash(
  command: string,
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn('bash', ['-c', command], {
      cwd,
      env: { PATH: `${VENV_BIN}:${process.env.PATH ?? ''}`, HOME: cwd },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', fail);
    child.on('close', (code) => {
      done({ code, stdout, stderr });
    });
  });
}

describe.skipIf(missing !== undefined && !inCi())(
  'the demo prints a Python line that works as printed',
  () => {
    beforeAll(() => {
      work = tempDir();
    });
    afterAll(async () => {
      await demo?.stop();
      work.remove();
    });

    it('gets the paper balance through cofre-client', async () => {
      if (missing !== undefined) throw new Error(`${missing}; run: scripts/peers/install.sh pyclient`);
      demo = startCliProcess(work.dir, ['demo', '--port', '0']);
      const printed = await demo.waitFor(/A Python agent[^\n]*\n {2}(COFRE_URL=[^\n]+)\n/);
      const line = /A Python agent[^\n]*\n {2}(COFRE_URL=[^\n]+)\n/.exec(printed)?.[1] ?? '';
      expect(line).toMatch(
        /^COFRE_URL=http:\/\/127\.0\.0\.1:\d+ COFRE_TOKEN_FILE=\S+agent\.token python \S+/,
      );
      const token = /Bearer ([A-Za-z0-9_-]{20,})/.exec(printed)?.[1];
      const ran = await bash(line, work.dir);
      expect(ran.stderr).toBe('');
      expect(ran.code).toBe(0);
      const answer = JSON.parse(ran.stdout) as { balance: { assets: Record<string, { free: string }> } };
      expect(answer.balance.assets['USDT']?.free).toBe('10000');
      // The token stayed in its file: not on the line, not in what the agent printed.
      expect(token).toBeDefined();
      expect(line).not.toContain(token);
      expect(ran.stdout).not.toContain(token);
    });
  },
);
