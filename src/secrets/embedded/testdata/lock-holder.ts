/**
 * Child process that takes the writer lock of the store at argv[2], prints `locked`, and holds it until its stdin
 * closes: a live lock holder in another process.
 */
import { acquireStoreLock } from '../store-lock.js';

const storePath = process.argv[2] ?? '';
const lock = await acquireStoreLock(storePath, { timeoutMs: 10_000 });
process.stdout.write('locked\n');
process.stdin.resume();
await new Promise<void>((resolve) => {
  process.stdin.once('end', () => {
    resolve();
  });
});
await lock.release();
