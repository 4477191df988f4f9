// The writer (chained-audit-log.ts) and the verifier (verify-chain.ts) were written in parallel from one contract
// (audit-format.ts); this holds them to each other on real files: what one writes, with a signing key, rotations and
// a file witness, the other verifies, signatures included — and an edit or a cut after the last checkpoint is found.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ChainedAuditLog } from './chained-audit-log.js';
import { checkpointKeyFromPem } from './checkpoint-key.js';
import { verifyAuditLog } from './verify-chain.js';
import { FileWitness } from './witness-file.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cofre-audit-pair-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const publicPem = publicKey.export({ type: 'spki', format: 'pem' });

async function writeLog(records: number): Promise<{ path: string; witness: string }> {
  const path = join(dir, 'audit.jsonl');
  const witness = join(dir, 'witness.jsonl');
  const log = new ChainedAuditLog(
    { path, checkpoint: { every: 7, interval: 60_000 }, rotate: { maxSize: 4096, keep: 100 } },
    { signingKey: privateKey, witnesses: [new FileWitness(witness)] },
  );
  // In bursts, so that group commit batches several records together.
  for (let i = 0; i < records; i += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, records - i) }, (_, j) =>
        log.append({
          kind: 'intent',
          requestId: `req_${i + j}`,
          agent: 'bot-1',
          action: 'place_order',
          detail: { n: i + j },
        }),
      ),
    );
  }
  await log.close();
  return { path, witness };
}

describe('the writer and the verifier agree', () => {
  it('verifies what the writer wrote: chain, rotations, signed checkpoints, witness', async () => {
    const { path, witness } = await writeLog(120);
    const report = await verifyAuditLog({
      path,
      witnesses: [witness],
      pinnedKey: checkpointKeyFromPem(publicPem, 'pinned', 'test key'),
    });
    expect(report.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(report.verdict).toBe('verified');
    expect(report.files).toBeGreaterThan(1); // rotated at 4 KiB
    expect(report.checkpoints.verified).toBeGreaterThan(10);
    expect(report.checkpoints.unsigned).toBe(0);
    expect(report.key.source).toBe('pinned');
    expect(report.uncoveredRecords).toBe(0); // close wrote a final checkpoint
  });

  it('finds an edited record in what the writer wrote', async () => {
    const { path } = await writeLog(30);
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.replace('"n":25', '"n":26'));
    const report = await verifyAuditLog({ path });
    expect(report.verdict).toBe('broken');
  });

  it('finds a cut after the last checkpoint through the witness', async () => {
    const { path, witness } = await writeLog(30);
    const text = await readFile(path, 'utf8');
    const lines = text.split('\n');
    // Keep everything but the last three records (the final checkpoint among them).
    await truncate(path, Buffer.byteLength(`${lines.slice(0, -4).join('\n')}\n`));
    const report = await verifyAuditLog({ path, witnesses: [witness] });
    expect(report.verdict).toBe('broken');
    expect(report.findings.map((f) => f.code)).toContain('truncated');
  });
});
