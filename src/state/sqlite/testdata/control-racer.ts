// A second process on the same state file, for the race tests of sqlite-control-store.test.ts: opens the store,
// prints "ready", waits for "go" on stdin, then approves (as its operator) and claims every listed approval, and
// prints one JSON line of what it got.
import { createInterface } from 'node:readline';

import { SqliteStateStore } from '../sqlite-state-store.js';

const { path, operator, requestIds, payloadHash } = JSON.parse(process.argv[2] ?? '{}') as {
  path: string;
  operator: string;
  requestIds: string[];
  payloadHash: string;
};

const store = new SqliteStateStore(path);
const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
for await (const line of lines) {
  if (line !== 'go') continue;
  const now = new Date(1_000);
  const approved: string[] = [];
  for (const id of requestIds) {
    if (store.approve(id, operator, payloadHash, undefined, now).outcome === 'approved') approved.push(id);
  }
  const claimed: string[] = [];
  for (const id of requestIds) if (store.claimApprovedForExecution(id, now)) claimed.push(id);
  process.stdout.write(`${JSON.stringify({ approved, claimed })}\n`);
  break;
}
store.close();
lines.close();
