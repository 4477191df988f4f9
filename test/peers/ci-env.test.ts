// Regression: only `CI=true` counted as CI, so `CI=1` let a missing peer pass as a skip; and the peer test was
// excluded from `npm test`.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { describe, expect, it, vi } from 'vitest';

import { inCi } from './ci-env.js';
import { peerOrSkip } from './peer-or-skip.js';
import { PeerUnavailableError, REPO_ROOT } from './peers.js';

const missing = (): Promise<never> => Promise.reject(new PeerUnavailableError('not installed (test)'));

/** The environment of this process without CI, plus `extra`. */
function envWith(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  if (!('CI' in extra)) delete env['CI'];
  return env;
}

describe('what counts as CI', () => {
  it('any non-empty CI is CI; unset or empty is not', () => {
    for (const value of ['true', '1', 'yes', 'false']) expect(inCi({ CI: value })).toBe(true);
    expect(inCi({})).toBe(false);
    expect(inCi({ CI: '' })).toBe(false);
  });

  it('peerOrSkip fails, not skips, a missing peer under CI=1; elsewhere it skips loudly', async () => {
    await expect(peerOrSkip('Nothing', missing, { CI: '1' })).rejects.toBeInstanceOf(PeerUnavailableError);
    // Captured rather than printed: a real peer's skip notice must stay the only one in a run's output.
    const written: string[] = [];
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      await expect(peerOrSkip('Nothing', missing, {})).resolves.toBeUndefined();
    } finally {
      write.mockRestore();
    }
    expect(written.join('')).toContain('Nothing is not installed, so its integration tests are SKIPPED');
  });

  it('prepare.sh fails a failed install under CI=1 and only reports it outside CI', () => {
    const prepare = (env: NodeJS.ProcessEnv): number | null =>
      spawnSync('bash', [join(REPO_ROOT, 'scripts/peers/prepare.sh'), 'no-such-peer'], {
        env,
        encoding: 'utf8',
      }).status;
    expect(prepare(envWith({ CI: '1' }))).toBe(1);
    expect(prepare(envWith({}))).toBe(0);
  });
});

describe('the peer test is part of the run', () => {
  it('vitest selects test/peers/peers.integration.test.ts', () => {
    const listed = spawnSync(
      process.execPath,
      [
        join(REPO_ROOT, 'node_modules/vitest/vitest.mjs'),
        'list',
        '--filesOnly',
        'test/peers/peers.integration',
      ],
      { cwd: REPO_ROOT, encoding: 'utf8', env: envWith({}) },
    );
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain('test/peers/peers.integration.test.ts');
  });
});
