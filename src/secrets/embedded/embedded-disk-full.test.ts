import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { REPO_ROOT, testdataScript, waitForExit } from './testdata/spawn-tsx.js';
import { makeTempDir, removeTempDirs } from './testdata/temp-dirs.js';

afterAll(removeTempDirs);

/*
 * Why a real filesystem and not an injected fs seam: ENOSPC from a real kernel arrives wherever the kernel decides
 * (mid-write, after a short write, on fsync), and the claim under test is that the *real* code path — temp file,
 * write, fsync, cleanup — leaves the old store intact. A fake would only test the fake.
 *
 * How: a child process runs in a private mount namespace (`unshare --mount`, plus `--user --map-root-user` when not
 * root) with a 256 KiB tmpfs mounted over an empty temp dir. The mount exists only inside that namespace and
 * disappears with the child, so a crashed test leaves no mount behind and /tmp is never assumed to be anything.
 * Needs util-linux `unshare` and either root with CAP_SYS_ADMIN (our CI) or unprivileged user namespaces. Where
 * neither is available the test fails with the reason; it does not skip, because then it would silently never run.
 */

interface ScenarioResult {
  readonly fillError: string;
  readonly failure?: { code?: string; errno?: string; message?: string };
  readonly namesAfterFailure: string[];
  readonly unchanged: boolean;
  readonly valuesIntact: boolean;
  readonly recovered: boolean;
}

async function runInSmallFilesystem(mountPoint: string, keyFile: string): Promise<ScenarioResult> {
  const asRoot = process.getuid?.() === 0;
  const namespace = asRoot
    ? ['--mount', '--propagation', 'private']
    : ['--user', '--map-root-user', '--mount', '--propagation', 'private'];
  const shell =
    'mount -t tmpfs -o size=256k,mode=0700 cofre-disk-full "$1" && exec "$2" --import tsx "$3" "$1" "$4"';
  const child = spawn(
    'unshare',
    [
      ...namespace,
      'sh',
      '-c',
      shell,
      'sh',
      mountPoint,
      process.execPath,
      testdataScript('disk-full-scenario.ts'),
      keyFile,
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const outcome = await Promise.race([waitForExit(child), spawnError]);
  const line = stdout.split('\n').find((l) => l.startsWith('result '));
  if (outcome instanceof Error || outcome.code !== 0 || line === undefined) {
    throw new Error(
      'could not run the disk-full scenario on a small tmpfs. It needs `unshare` and root (CAP_SYS_ADMIN) or ' +
        `unprivileged user namespaces.\n${outcome instanceof Error ? outcome.message : `exit ${String(outcome.code)}`}\n${stderr}`,
    );
  }
  return JSON.parse(line.slice('result '.length)) as ScenarioResult;
}

describe('embedded store on a full disk', () => {
  it('fails with COFRE_STORE_WRITE_FAILED, keeps the old store, and leaves no temp or lock file', async () => {
    const mountPoint = await makeTempDir();
    const keyFile = join(await makeTempDir(), 'store.key');
    const result = await runInSmallFilesystem(mountPoint, keyFile);

    expect(result.fillError).toBe('ENOSPC'); // the filesystem really was small and full
    expect(result.failure?.code).toBe('COFRE_STORE_WRITE_FAILED');
    expect(['ENOSPC', 'EDQUOT', 'EFBIG']).toContain(result.failure?.errno);
    expect(result.failure?.message).toContain('disk full');
    expect(result.namesAfterFailure).toEqual(['filler', 'store.cofre']);
    expect(result.unchanged).toBe(true);
    expect(result.valuesIntact).toBe(true);
    expect(result.recovered).toBe(true);
  });
});
