// A small chain checker for the writer's tests only (the real verifier is `verify-*.ts`): every line is a record
// whose seq follows the one before and whose prev is the SHA-256 of the line before; checkpoints vouch for the head
// before them and, when signed, their signature verifies with the genesis public key.
import { createPublicKey, verify } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { checkpointMessage, GENESIS_PREV, recordHash } from '../audit-format.js';

/** One parsed record with its line. */
export interface CheckedRecord {
  readonly line: string;
  readonly record: Record<string, unknown> & { seq: number; kind: string; prev: string; ts: string };
}

/** The records of `files` (oldest first) as one chain; throws naming the first line that breaks it. */
export async function checkChain(
  files: readonly string[],
  options: { publicKeyPem?: string; firstSeq?: number; firstPrev?: string } = {},
): Promise<CheckedRecord[]> {
  const out: CheckedRecord[] = [];
  let expectedSeq = options.firstSeq ?? 0;
  let expectedPrev = options.firstPrev ?? GENESIS_PREV;
  let logId: string | undefined;
  let publicKeyPem = options.publicKeyPem;
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    if (!text.endsWith('\n')) throw new Error(`${file} does not end in a whole line`);
    for (const line of text.slice(0, -1).split('\n')) {
      const record = JSON.parse(line) as CheckedRecord['record'];
      const where = `${file} seq ${record.seq}`;
      if (Object.keys(record).slice(0, 5).join() !== 'v,seq,ts,prev,kind')
        throw new Error(`${where}: head order`);
      if (record.seq !== expectedSeq) throw new Error(`${where}: expected seq ${expectedSeq}`);
      if (record.prev !== expectedPrev)
        throw new Error(`${where}: prev is not the hash of the record before`);
      if (record.kind === 'genesis') {
        logId = record['logId'] as string;
        publicKeyPem ??= record['publicKey'] as string | undefined;
      }
      if (record.kind === 'continue') logId ??= record['logId'] as string;
      if (record.kind === 'checkpoint') checkCheckpoint(record, where, logId, publicKeyPem);
      out.push({ line, record });
      expectedSeq += 1;
      expectedPrev = recordHash(line);
    }
  }
  return out;
}

function checkCheckpoint(
  record: CheckedRecord['record'],
  where: string,
  logId: string | undefined,
  publicKeyPem: string | undefined,
): void {
  if (record['head'] !== record.prev || record['count'] !== record.seq)
    throw new Error(`${where}: checkpoint head`);
  if (record['unsigned'] === true) return;
  if (publicKeyPem === undefined || logId === undefined)
    throw new Error(`${where}: signed, but no key or logId`);
  const message = checkpointMessage({ logId, seq: record.seq, head: record.prev, ts: record.ts });
  const ok = verify(
    null,
    message,
    createPublicKey(publicKeyPem),
    Buffer.from(record['signature'] as string, 'base64'),
  );
  if (!ok) throw new Error(`${where}: bad signature`);
}
