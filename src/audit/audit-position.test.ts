// Issue 11: reading the audit log from a position (the state's horizon) on, across rotation, with the whole log read
// instead whenever that position no longer names the same record (a log cut back and written on, a moved file).
import { appendFile, mkdtemp, readFile, rm, truncate, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { AuditEvent } from './audit-log.js';
import { auditEnd, type AuditPosition, readAuditAfter } from './audit-position.js';
import { listRotated } from './audit-rotation.js';
import { ChainedAuditLog } from './chained-audit-log.js';

let dir: string;
let path: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cofre-audit-position-'));
  path = join(dir, 'audit.jsonl');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const event = (requestId: string): AuditEvent => ({
  kind: 'intent',
  requestId,
  agent: 'a',
  action: 'place_order',
});

/** Writes `ids` as intents through the real writer (rotating every `maxSize` bytes) and closes it. */
async function write(ids: readonly string[], maxSize = 1024 ** 3): Promise<void> {
  const log = new ChainedAuditLog({
    path,
    checkpoint: { every: 1_000_000, interval: 3_600_000 },
    rotate: { maxSize, keep: 100 },
  });
  for (const id of ids) await log.append(event(id));
  await log.close();
}

async function intentsAfter(position: AuditPosition | undefined) {
  const seen: string[] = [];
  const report = await readAuditAfter(path, position, (record) => {
    if (record['kind'] === 'intent') seen.push(String(record['requestId']));
  });
  return { ...report, seen };
}

describe('auditEnd and readAuditAfter', () => {
  it('reads only what follows the position, and nothing when it is the end', async () => {
    await write(['r1', 'r2']);
    const end = await auditEnd(path);
    expect(end).toMatchObject({ seq: expect.any(Number), offset: (await readFile(path)).length });
    await write(['r3', 'r4']);
    const after = await intentsAfter(end);
    expect(after.from).toBe('position');
    expect(after.seen).toEqual(['r3', 'r4']);
    // Every record after the position, and none before it (a genesis, two intents, a closing checkpoint).
    expect(after.read).toBe(3);
    expect(await intentsAfter(await auditEnd(path))).toEqual({ from: 'position', read: 0, seen: [] });
  });

  it('follows the position into a rotated file and on through the newer ones', async () => {
    await write(['r1', 'r2']);
    const end = await auditEnd(path);
    await write(['r3', 'r4', 'r5', 'r6'], 600);
    // The file the position names was renamed to a rotated one (same inode), and others followed it.
    expect((await listRotated(path)).length).toBeGreaterThan(1);
    const after = await intentsAfter(end);
    expect(after.from).toBe('position');
    expect(after.seen).toEqual(['r3', 'r4', 'r5', 'r6']);
  });

  it('reads the whole log when the record at the position is not the one it named', async () => {
    await write(['r1', 'r2']);
    const end = await auditEnd(path);
    if (end === undefined) throw new Error('no end');
    // Lost on power failure (the closing checkpoint the position named) and written on: the place holds another record.
    await truncate(path, end.offset - 10);
    const cut = await readFile(path, 'utf8');
    await truncate(path, cut.lastIndexOf('\n') + 1);
    await write(['r3', 'r4']);
    const after = await intentsAfter(end);
    expect(after.from).toBe('start');
    expect(after.seen).toEqual(['r1', 'r2', 'r3', 'r4']);
    // No position at all: the whole log too.
    expect((await intentsAfter(undefined)).seen).toEqual(['r1', 'r2', 'r3', 'r4']);
  });

  it('leaves a torn last line out of the end, and out of what is read', async () => {
    await write(['r1']);
    const end = await auditEnd(path);
    await appendFile(path, '{"v":1,"seq":99,"kind":"intent","requestId":"torn"');
    expect(await auditEnd(path)).toEqual(end);
    expect((await intentsAfter(undefined)).seen).toEqual(['r1']);
    expect(await auditEnd(join(dir, 'missing.jsonl'))).toBeUndefined();
  });

  it('skips rotated files written before notBefore, and records of other kinds unparsed', async () => {
    await write(['r1', 'r2', 'r3', 'r4'], 600);
    const rotated = await listRotated(path);
    expect(rotated.length).toBeGreaterThan(1);
    const old = new Date(Date.now() - 86_400_000);
    for (const file of rotated.slice(0, -1)) await utimes(file.path, old, old);
    const all = await intentsAfter(undefined);
    const kept: string[] = [];
    const report = await readAuditAfter(
      path,
      undefined,
      (record) => kept.push(`${String(record['kind'])}:${String(record['requestId'])}`),
      { kinds: ['intent'], notBefore: new Date(Date.now() - 3_600_000) },
    );
    // The newest rotated file and the current one are read; of them, only intents are handed over.
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.every((k) => k.startsWith('intent:'))).toBe(true);
    expect(kept.length).toBeLessThan(all.seen.length);
    expect(report.read).toBe(kept.length);
    expect(all.seen.slice(-kept.length)).toEqual(kept.map((k) => k.slice('intent:'.length)));
  });
});
