import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root: `node --import tsx` resolves tsx from the working directory. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** Path of a script in this folder. */
export function testdataScript(name: string): string {
  return fileURLToPath(new URL(name, import.meta.url));
}

/** Runs a TypeScript file in a fresh Node process (tsx is a devDependency), stdin/stdout piped, stderr inherited. */
export function spawnTsx(script: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
    ...options,
  });
}

/** Resolves with the first stdout line equal to `line`; rejects if the process exits first. */
export function waitForLine(child: ChildProcess, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      if (buffered.split('\n').includes(line)) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null, signal: string | null): void => {
      cleanup();
      reject(
        new Error(`child exited (code ${String(code)}, signal ${String(signal)}) before printing "${line}"`),
      );
    };
    const cleanup = (): void => {
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.on('exit', onExit);
  });
}

/** Resolves when the process has exited and been reaped, with its exit code and signal. */
export function waitForExit(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    });
  });
}
