/**
 * Runs the Python client's pytest suite (clients/python/tests: the client and its framework adapters against a real
 * cofre that the suite starts from bin/cofre.js) in .tools/venv-client, and reports each pytest case as a test of
 * its own, named by its pytest node id, so `npm test` counts and names them and a failure shows pytest's own text.
 *
 * The venv is made by `scripts/peers/install.sh pyclient` (npm test's pretest). Without it the suite fails in CI and
 * is skipped elsewhere with a loud message, as for the other peers. The suite runs the built CLI: dist/ must exist
 * (`npm ci` builds it; so does `npm run build`).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, it } from 'vitest';

import { inCi } from '../peers/ci-env.js';
import { REPO_ROOT } from '../peers/peers.js';
import { type PytestCase, readJunitXml } from './junit-xml.js';

const PYTHON = join(REPO_ROOT, '.tools', 'venv-client', 'bin', 'python');
const SUITE = 'clients/python/tests';
// The whole suite, servers included, takes well under a minute here; this only bounds a hung run.
const RUN_TIMEOUT_MS = 15 * 60_000;

interface PytestRun {
  readonly exitCode: number | null;
  readonly output: string;
  readonly cases: readonly PytestCase[];
}

function runPytest(): Promise<PytestRun> {
  const dir = mkdtempSync(join(tmpdir(), 'cofre-pytest-'));
  const report = join(dir, 'junit.xml');
  // Cofre's coordinates never come from the caller's environment (the suite starts its own cofre).
  const env = { ...process.env };
  delete env['COFRE_TOKEN_FILE'];
  delete env['COFRE_URL'];
  // This checkout's client, first: the venv's editable install may point at another checkout (a git worktree shares
  // .tools/ with the main one).
  env['PYTHONPATH'] = [join(REPO_ROOT, 'clients', 'python', 'src'), env['PYTHONPATH']]
    .filter(Boolean)
    .join(':');
  const args = ['-m', 'pytest', SUITE, '-q', '-p', 'no:cacheprovider', '-o', 'junit_family=xunit1'];
  return new Promise((done, fail) => {
    const child = spawn(PYTHON, [...args, `--junitxml=${report}`], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGTERM'), RUN_TIMEOUT_MS);
    child.on('error', fail);
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      try {
        const cases = existsSync(report) ? readJunitXml(readFileSync(report, 'utf8')) : [];
        done({ exitCode, output, cases });
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

function missingSetup(): string | undefined {
  if (!existsSync(PYTHON)) {
    return `${PYTHON} does not exist; run: scripts/peers/install.sh pyclient`;
  }
  if (!existsSync(join(REPO_ROOT, 'dist', 'index.js'))) {
    return `${REPO_ROOT}dist/ is missing; run: npm run build`;
  }
  return undefined;
}

const missing = missingSetup();
if (missing !== undefined && !inCi()) {
  process.stderr.write(
    `\n!!! The Python client's pytest suite is SKIPPED: ${missing}\n!!! In CI this fails the run.\n\n`,
  );
}
const run = missing === undefined ? await runPytest() : undefined;

describe.skipIf(missing !== undefined && !inCi())('Python client (pytest, clients/python/tests)', () => {
  if (missing !== undefined) {
    it('has its venv and the built CLI', () => {
      throw new Error(missing);
    });
    return;
  }
  if (run === undefined) return;
  // Exit codes 0 (all passed) and 1 (some failed) come with a report of every case; anything else (2 interrupted,
  // 3 internal error, 4 usage, 5 no tests collected) is a failure of the run itself.
  if ((run.exitCode !== 0 && run.exitCode !== 1) || run.cases.length === 0) {
    it('pytest ran and reported its cases', () => {
      throw new Error(
        `pytest exited with ${String(run.exitCode)} and reported ${run.cases.length} cases:\n${run.output}`,
      );
    });
  }
  for (const c of run.cases) {
    if (c.outcome === 'skipped') {
      it.skip(`${c.nodeId} (skipped by pytest: ${c.text})`, () => undefined);
      continue;
    }
    it(c.nodeId, () => {
      if (c.outcome !== 'passed') throw new Error(`pytest: ${c.outcome}\n${c.text}`);
    });
  }
});
