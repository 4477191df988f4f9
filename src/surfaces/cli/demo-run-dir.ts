import { randomBytes } from 'node:crypto';
import { access, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { CofreError } from '../../errors.js';

// Written into the demo root so `cofre demo` only ever deletes inside a folder it made itself.
const MARKER = 'COFRE-DEMO';
const OWNER = 'owner.pid';
const RUN = /^run-[0-9TZ-]+-[0-9a-f]{8}$/;

/** A demo run's own folder, and how many finished runs were cleared to make room. */
export interface DemoRun {
  readonly dir: string;
  readonly removed: number;
  /** Marks the run finished (its folder stays, for its audit log, until the next run clears it). */
  finish(): Promise<void>;
}

/**
 * Makes a fresh folder for one demo run under `root` (`.cofre-demo/`), created with mode 700 and holding the
 * owner's pid. Runs that finished, or whose owner is no longer alive (killed), are removed first; a running demo's folder is never touched,
 * so two demos in one folder run side by side. A `root` that `cofre demo` did not make is refused.
 */
export async function claimDemoRun(root: string, pid = process.pid): Promise<DemoRun> {
  if (await exists(root)) {
    if (!(await exists(join(root, MARKER)))) {
      throw new CofreError(
        'COFRE_STORE_EXISTS',
        `${root} exists and was not made by cofre demo; move it away first`,
      );
    }
  } else {
    await mkdir(root, { mode: 0o700 });
    await writeFile(
      join(root, MARKER),
      'Made by `cofre demo`: one folder per run; finished runs are removed.\n',
    );
  }
  let removed = 0;
  for (const entry of await readdir(root)) {
    if (entry === MARKER) continue;
    // Anything else (a finished run, or files of the earlier one-folder layout) goes, unless a live demo owns it.
    if (RUN.test(entry) && isAlive(await ownerOf(join(root, entry)))) continue;
    await rm(join(root, entry), { recursive: true, force: true });
    if (RUN.test(entry)) removed += 1;
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = join(root, `run-${stamp}-${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { mode: 0o700 });
  await writeFile(join(dir, OWNER), `${pid}\n`);
  return { dir, removed, finish: () => rm(join(dir, OWNER), { force: true }) };
}

async function ownerOf(dir: string): Promise<number | undefined> {
  const text = await readFile(join(dir, OWNER), 'utf8').catch(() => undefined);
  const pid = text === undefined ? Number.NaN : Number.parseInt(text, 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, but another user's process.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
