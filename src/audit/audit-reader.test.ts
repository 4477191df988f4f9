import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { fileAuditReader } from './audit-reader.js';
import { AuditChainBuilder } from './testdata/audit-chain-builder.js';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cofre-reader-'));
  path = join(dir, 'audit.jsonl');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const START = Date.parse('2026-01-01T00:00:00Z');

/**
 * A log of two files, one record a second: the first holds an old record naming `r-x` (at 1 s), the second starts at
 * 5 s and holds 100 other records, then r-x's intent and outcome (at 105 s and 106 s) and a checkpoint.
 */
function twoFiles(): AuditChainBuilder {
  const log = new AuditChainBuilder();
  log.event('intent', { requestId: 'r-x' });
  for (let i = 0; i < 2; i++) log.event();
  log.rotate();
  for (let i = 0; i < 100; i++) log.event();
  log.event('intent', { requestId: 'r-x' });
  log.event('outcome', { requestId: 'r-x' });
  log.checkpoint();
  log.event();
  log.write(path);
  return log;
}

describe('fileAuditReader', () => {
  it("finds a request's records from its window on, skipping the files that end before it", async () => {
    twoFiles();
    const reader = fileAuditReader(path, {});
    const found = await reader.recordsOf('r-x', new Date(START + 105_000));
    expect(found.map((r) => [r.record['kind'], r.file])).toEqual([
      ['intent', 'audit.jsonl'],
      ['outcome', 'audit.jsonl'],
    ]);
    // From before the first file ended, the old record is found too.
    const all = await reader.recordsOf('r-x', new Date(START));
    expect(all.map((r) => r.record['seq'])).toEqual([1, 105, 106]);
    // A request id that only appears inside another field is not a match.
    expect(await reader.recordsOf('bot', new Date(START))).toEqual([]);
  });

  it('tells the head, the last checkpoint and the length of the chain, and verifies it with progress', async () => {
    twoFiles();
    const reader = fileAuditReader(path, {});
    const ends = await reader.ends();
    expect(ends.head?.seq).toBe(108);
    expect(ends.lastCheckpoint?.seq).toBe(107);
    expect(await reader.count()).toBe(109);
    const progress: number[] = [];
    const report = await reader.verify((records) => progress.push(records));
    expect(report.verdict).toBe('verified');
    expect(progress.at(-1)).toBe(109);
  });

  it('reads an absent log as empty', async () => {
    const reader = fileAuditReader(path, {});
    expect(await reader.ends()).toEqual({ head: null, lastCheckpoint: null });
    expect(await reader.recordsOf('r-x', new Date(START))).toEqual([]);
  });
});
