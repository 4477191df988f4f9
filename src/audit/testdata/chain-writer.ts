// A process appending to a chained audit log, for the two-process test: waits for "go" on stdin, appends `count`
// records `concurrency` at a time, closes (unless `skipClose`), prints "done" and exits.
/* eslint-disable no-console -- a child process of a test, talking to it on stdout */
import { createInterface } from 'node:readline';

import { ChainedAuditLog } from '../chained-audit-log.js';

const { path, prefix, count, concurrency, skipClose } = JSON.parse(process.argv[2] ?? '{}') as {
  path: string;
  prefix: string;
  count: number;
  concurrency: number;
  skipClose?: boolean;
};
const log = new ChainedAuditLog(
  { path, checkpoint: { every: 50, interval: 60_000 }, rotate: { maxSize: 1024 ** 3, keep: 10 } },
  { lockTimeoutMs: 30_000 },
);
const lines = createInterface({ input: process.stdin });
console.log('ready');
for await (const line of lines) if (line === 'go') break;
for (let i = 0; i < count; i += concurrency) {
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count - i) }, (_, j) =>
      log.append({ kind: 'intent', requestId: `${prefix}-${i + j}`, agent: prefix, action: 'get_balance' }),
    ),
  );
}
if (skipClose !== true) await log.close();
console.log('done');
process.exit(0);
