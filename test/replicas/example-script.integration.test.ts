// examples/replicas/run.sh as a user runs it from a clone (after `npm ci && npm run build`): an embedded PostgreSQL,
// two `cofre serve` replicas, an order through each, a halt that stops both, the one audit chain verified; then
// everything stopped and the temporary directory removed, after the walkthrough (`--no-wait`) or on Ctrl-C.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../examples/replicas/run.sh', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
}

/** Runs the script; `interruptWhen` sends SIGINT (as Ctrl-C) once the output matches it. */
function runScript(args: readonly string[], interruptWhen?: RegExp): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn('bash', [SCRIPT, ...args], {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let interrupted = false;
    const seen = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (interruptWhen !== undefined && !interrupted && interruptWhen.test(output)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      done({ code, signal, output });
    });
  });
}

/** The temporary directory the script printed (its config's). */
function workDirOf(output: string): string {
  const dir = /(\S*\/cofre-replicas-[A-Za-z0-9]+)\/cofre\.yaml/.exec(output)?.[1];
  if (dir === undefined) throw new Error(`no work directory in:\n${output}`);
  return dir;
}

describe('examples/replicas/run.sh', () => {
  it(
    'walks through two replicas on one PostgreSQL and cleans up after itself',
    { timeout: 180_000 },
    async () => {
      const run = await runScript(['--no-wait']);
      expect(run.code, run.output).toBe(0);
      const { output } = run;
      expect(output).toContain('schema version');
      // One order through each replica, the same clientOrderId through the other replica answered, not resent.
      expect(output).toMatch(/replica 1: \{"requestId":"req_[^"]+","status":"executed"/);
      expect(output).toMatch(/replica 2: \{"requestId":"req_[^"]+","status":"executed"/);
      expect(output).toMatch(/"clientOrderId":"example-1".*"replayed":true/);
      // The halt stops both replicas; the chain of both verifies.
      expect(output.match(/replica \d: \{"error":\{"code":"COFRE_HALTED"/g)).toHaveLength(2);
      expect(output).toContain('VERIFIED');
      // SECURITY: the connection string (with the password) is printed nowhere.
      expect(output).not.toMatch(/postgres(ql)?:\/\//);
      expect(existsSync(workDirOf(output))).toBe(false);
    },
  );

  it('stops everything on Ctrl-C', { timeout: 180_000 }, async () => {
    const run = await runScript([], /Ctrl-C stops everything/);
    expect(run.output).toContain('stopping the replicas');
    expect(run.code, run.output).toBe(130);
    expect(existsSync(workDirOf(run.output))).toBe(false);
  });

  it('refuses an unknown option', async () => {
    const run = await runScript(['--bogus']);
    expect(run.code).toBe(2);
    expect(run.output).toContain('unknown option: --bogus');
  });
});
