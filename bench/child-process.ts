// Child processes the benchmark starts (paper exchange, nginx, `cofre demo`), with one way to stop them: a polite
// signal, then SIGKILL to the whole process group after a timeout. Every child is also killed if the benchmark
// itself exits early (an exception, Ctrl-C), so nothing it started outlives it.
import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';

const live = new Set<ChildProcess>();

// First among the exit handlers, whatever the import order: children stop writing before temp-dir.ts removes the
// directories they write in.
process.prependOnceListener('exit', () => {
  for (const child of live) killGroup(child, 'SIGKILL');
});

/**
 * Spawns `command` in a process group of its own (so a stop reaches its workers too) and tracks it until it exits.
 * stdio defaults to pipes.
 */
export function spawnTracked(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): ChildProcess {
  const child = spawn(command, args, { stdio: 'pipe', ...options, detached: true });
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.once('error', () => live.delete(child));
  return child;
}

/** True once the child has exited (or was never started). */
export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null || child.pid === undefined;
}

/** Sends `signal` (default SIGINT); if the child has not exited after `timeoutMs`, SIGKILLs its process group. */
export async function stopChild(
  child: ChildProcess,
  options: { signal?: NodeJS.Signals; timeoutMs?: number } = {},
): Promise<void> {
  if (hasExited(child)) return;
  const exited = once(child, 'exit');
  child.kill(options.signal ?? 'SIGINT');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      resolve('timeout');
    }, options.timeoutMs ?? 5000);
  });
  const outcome = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    killGroup(child, 'SIGKILL');
    await exited;
  }
  // Stragglers of the group (nginx workers after a killed master) go too.
  killGroup(child, 'SIGKILL');
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Resolves with the first line the child writes to stdout; rejects if it exits or `timeoutMs` passes first. */
export function firstLine(child: ChildProcess, what: string, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let stderr = '';
    const timer = setTimeout(() => {
      finish(new Error(`${what} printed nothing within ${timeoutMs} ms; stderr: ${stderr.trim()}`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const end = buffered.indexOf('\n');
      if (end !== -1) finish(undefined, buffered.slice(0, end));
    };
    const onErr = (chunk: Buffer): void => {
      stderr += chunk.toString('utf8');
    };
    const onExit = (code: number | null): void => {
      finish(new Error(`${what} exited (code ${code}) before answering; stderr: ${stderr.trim()}`));
    };
    const finish = (error: Error | undefined, line?: string): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onErr);
      child.off('exit', onExit);
      if (error === undefined) resolve(line ?? '');
      else reject(error);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onErr);
    child.once('exit', onExit);
  });
}
