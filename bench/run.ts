// cofre benchmarks (`npm run bench`, or `npm run bench -- <section>…` for some of: secrets, scrub, orders,
// resolved-order, cold-start, serve-start, limits, policy, log-redaction, audit-verify, audit, overhead, ccxt-alone,
// replicas, authentication).
// Not a test: nothing here asserts a timing. Each section measures alternatives side by side in one run and reports
// ratios, because the machines are shared and noisy. Results and how to read them: bench/README.md.
import { cpus, freemem, loadavg, totalmem } from 'node:os';

import { auditLogBench } from './audit-log.js';
import { auditVerifyBench } from './audit-verify.js';
import { authenticationBench } from './authentication.js';
import { brokerLatencyBench } from './broker-latency.js';
import { ccxtAloneBench } from './ccxt-alone.js';
import { coldStartBench } from './cold-start.js';
import { limitLedgerBench } from './limit-ledger.js';
import { logRedactionBench } from './log-redaction.js';
import { overheadBench } from './overhead.js';
import { policyDecisionBench } from './policy-decision.js';
import { replicasBench } from './replicas.js';
import { resolvedOrderBench } from './resolved-order.js';
import { scrubBench } from './scrub.js';
import { secretStoreBench } from './secret-store.js';
import { serveStartBench } from './serve-start.js';

const SECTIONS: Readonly<Record<string, () => Promise<void>>> = {
  secrets: secretStoreBench,
  scrub: scrubBench,
  orders: brokerLatencyBench,
  'resolved-order': resolvedOrderBench,
  'cold-start': coldStartBench,
  'serve-start': serveStartBench,
  limits: limitLedgerBench,
  policy: policyDecisionBench,
  'log-redaction': logRedactionBench,
  'audit-verify': auditVerifyBench,
  audit: auditLogBench,
  overhead: overheadBench,
  'ccxt-alone': ccxtAloneBench,
  replicas: replicasBench,
  authentication: authenticationBench,
};

const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !Object.hasOwn(SECTIONS, name));
if (unknown.length > 0) {
  console.error(`unknown section(s) ${unknown.join(', ')}; choose from ${Object.keys(SECTIONS).join(', ')}`);
  process.exit(2);
}
// Ctrl-C: exit, which kills every child the benchmark started (see child-process.ts).
process.once('SIGINT', () => process.exit(130));

const gib = (bytes: number): string => (bytes / 2 ** 30).toFixed(1);
const cpu = cpus();
console.log(
  `# cofre benchmarks, ${new Date().toISOString()}\n\n` +
    `${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${gib(totalmem())} GiB (${gib(freemem())} free), ` +
    `Node.js ${process.version}, ${process.platform} ${process.arch}, ` +
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at start`,
);

for (const [name, run] of Object.entries(SECTIONS)) {
  if (asked.length === 0 || asked.includes(name)) await run();
}
console.log(
  `\nload average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} at the end`,
);
