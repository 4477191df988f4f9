// Audit verification speed (issue 10, goal ≥ 200,000 records/s): `verifyAuditLog` over a generated 500,000-record
// log in format v1, with a signed checkpoint every 1000 records and rotation every 32 MiB, as the writer would leave
// it. Records look like the broker's intents and outcomes (about 300 bytes each).
import { generateKeyPairSync, sign } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';

import {
  type AuditRecordKind,
  checkpointMessage,
  GENESIS_PREV,
  keyIdOf,
  recordHash,
  recordLine,
  rotatedPath,
} from '../src/audit/audit-format.js';
import { checkpointKeyFromPem } from '../src/audit/checkpoint-key.js';
import { verifyAuditLog } from '../src/audit/verify-chain.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';

const RECORDS = 500_000;
const EVERY = 1000;
const ROTATE_BYTES = 32 * 1024 * 1024;

async function writeAll(out: WriteStream, text: string): Promise<void> {
  if (!out.write(text))
    await new Promise<void>((done) =>
      out.once('drain', () => {
        done();
      }),
    );
}

async function closeStream(out: WriteStream): Promise<void> {
  await new Promise<void>((done, fail) => {
    out.end((err?: Error | null) => {
      if (err) fail(err);
      else done();
    });
  });
}

/** Writes the log; returns the public key PEM and the number of files. */
async function generate(path: string): Promise<{ publicKeyPem: string; files: number }> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const keyId = keyIdOf(publicKey.export({ type: 'spki', format: 'der' }));
  const logId = 'c0'.repeat(16);
  let out = createWriteStream(path);
  let files = 1;
  let size = 0;
  let prev = GENESIS_PREV;
  let pending = '';
  const t0 = Date.parse('2026-11-30T00:00:00Z');
  const append = async (
    seq: number,
    kind: AuditRecordKind,
    fields: Record<string, unknown>,
  ): Promise<void> => {
    const ts = new Date(t0 + seq).toISOString();
    const extra =
      kind === 'checkpoint'
        ? {
            head: prev,
            count: seq,
            keyId,
            signature: sign(null, checkpointMessage({ logId, seq, head: prev, ts }), privateKey).toString(
              'base64',
            ),
          }
        : fields;
    const line = recordLine({ v: 1, seq, ts, prev, kind }, extra);
    prev = recordHash(line);
    pending += `${line}\n`;
    size += Buffer.byteLength(line) + 1;
    if (pending.length > 1 << 20) {
      await writeAll(out, pending);
      pending = '';
    }
  };
  await append(0, 'genesis', { logId, publicKey: publicKeyPem });
  for (let seq = 1; seq < RECORDS; seq++) {
    if (size > ROTATE_BYTES) {
      await writeAll(out, pending);
      pending = '';
      await closeStream(out);
      await rename(path, rotatedPath(path, files));
      out = createWriteStream(path);
      await append(seq, 'continue', { file: files, prevFileSize: size, logId });
      size = pending.length;
      files += 1;
    } else if (seq % EVERY === 0) {
      await append(seq, 'checkpoint', {});
    } else {
      await append(seq, seq % 2 === 0 ? 'outcome' : 'intent', {
        requestId: `req_${seq.toString(36).padStart(16, '0')}`,
        agent: 'momentum-bot',
        action: 'place_order',
        account: 'binance-main',
        decision: 'allow',
        rule: 'small-orders',
        policyHash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        detail: { symbol: 'BTC/USDT', side: 'buy', type: 'limit', amount: '0.001', price: '60000.5' },
      });
    }
  }
  await writeAll(out, pending);
  await closeStream(out);
  return { publicKeyPem, files };
}

/** Runs the section: generate once, verify three times, report the median. */
export async function auditVerifyBench(): Promise<void> {
  const dir = await makeTempDir('cofre-bench-audit-');
  try {
    const path = join(dir, 'audit.jsonl');
    const { publicKeyPem, files } = await generate(path);
    const pinnedKey = checkpointKeyFromPem(publicKeyPem, 'pinned', 'bench key');
    const runs: {
      seconds: number;
      cpu: number;
      bytes: number;
      records: number;
      verdict: string;
      rssMiB: number;
    }[] = [];
    for (let i = 0; i < 3; i++) {
      const rss0 = process.memoryUsage().rss;
      let peak = rss0;
      const start = process.hrtime.bigint();
      const cpu0 = process.cpuUsage();
      const report = await verifyAuditLog({
        path,
        pinnedKey,
        onProgress: () => {
          peak = Math.max(peak, process.memoryUsage().rss);
        },
      });
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const used = process.cpuUsage(cpu0);
      const cpu = (used.user + used.system) / 1e6;
      runs.push({
        seconds,
        cpu,
        bytes: report.bytes,
        records: report.records,
        verdict: report.verdict,
        rssMiB: (peak - rss0) / 2 ** 20,
      });
    }
    runs.sort((a, b) => a.seconds - b.seconds);
    const median = runs[1] ?? runs[0];
    if (median === undefined) return;
    console.log(
      `\n## Audit verification (${RECORDS} records, ${files} files, ${(median.bytes / 2 ** 20).toFixed(0)} MiB)\n`,
    );
    console.log(
      '| run | seconds | records/s | MiB/s | records per CPU-second | verdict | RSS growth (MiB) |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: | --- | ---: |');
    for (const [i, r] of runs.entries()) {
      console.log(
        `| ${i === 1 ? 'median' : i === 0 ? 'fastest' : 'slowest'} | ${r.seconds.toFixed(2)} | ${Math.round(r.records / r.seconds).toLocaleString('en')} | ${(r.bytes / 2 ** 20 / r.seconds).toFixed(0)} | ${Math.round(r.records / r.cpu).toLocaleString('en')} | ${r.verdict} | ${r.rssMiB.toFixed(0)} |`,
      );
    }
  } finally {
    await removeTempDir(dir);
  }
}
