// Audit log benchmarks (issue 10): durable records per second at 1 and 64 concurrent appenders, the plain JSON-lines
// log (one write + fdatasync per record) against the hash-chained log (group commit: one write + fdatasync per
// batch, a lock file per batch), on the same file system in the same run. Every record is durable when its append
// resolves; checkpoints are signed (Ed25519) every 1000 records as configured by default.
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';

import { type AuditEvent, type AuditSink, JsonlAuditLog } from '../src/audit/audit-log.js';
import { ChainedAuditLog } from '../src/audit/chained-audit-log.js';
import { compareLoad, type LoadCase } from './measure.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';

/** An intent about the size the broker writes for an order. */
function intent(i: number): AuditEvent {
  return {
    kind: 'intent',
    requestId: `req_${i.toString(36).padStart(12, '0')}`,
    agent: 'bench-agent',
    action: 'place_order',
    account: 'paper',
    decision: 'allow',
    rule: 'policies[0].rules[3]',
    policyHash: 'a'.repeat(64),
    detail: {
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'limit',
      amount: '0.001',
      price: '65000',
      clientOrderId: `c${i}`,
    },
  };
}

export async function auditLogBench(): Promise<void> {
  const dir = await makeTempDir('cofre-bench-audit-');
  const { privateKey } = generateKeyPairSync('ed25519');
  const sinks: AuditSink[] = [];
  try {
    const jsonl = new JsonlAuditLog(join(dir, 'plain.jsonl'));
    const chained = new ChainedAuditLog(
      {
        path: join(dir, 'chained.jsonl'),
        checkpoint: { every: 1000, interval: 60_000 },
        rotate: { maxSize: 64 * 1024 ** 2, keep: 100 },
      },
      { signingKey: privateKey },
    );
    sinks.push(jsonl, chained);
    const cases = (count1: number): LoadCase[] => [
      { label: 'JsonlAuditLog (fdatasync per record)', count: count1, op: (i) => jsonl.append(intent(i)) },
      { label: 'ChainedAuditLog (group commit)', count: count1, op: (i) => chained.append(intent(i)) },
    ];
    console.log('\n## Audit log: durable records/s\n');
    console.log('| sink | appenders | records | records/s | p50 ms | p99 ms |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const [concurrency, count] of [
      [1, 1_500],
      [64, 60_000],
    ] as const) {
      const results = await compareLoad(cases(count), {
        count,
        concurrency,
        warmup: Math.min(500, count / 10),
        rounds: 3,
        roundWarmup: 0,
        maxSeconds: 30,
      });
      for (const r of results) {
        console.log(
          `| ${r.label} | ${concurrency} | ${r.done}${r.capped ? ' (capped)' : ''} | ${r.perSecond.toFixed(0)} | ${r.p50ms.toFixed(2)} | ${r.p99ms.toFixed(2)} |`,
        );
      }
    }
  } finally {
    for (const sink of sinks) await sink.close();
    await removeTempDir(dir);
  }
}
