import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { rotatedPath } from './audit-format.js';
import { followAuditLog, lastAuditRecords, scanAuditRecords } from './scan-audit-records.js';
import { AuditChainBuilder } from './testdata/audit-chain-builder.js';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cofre-scan-'));
  path = join(dir, 'audit.jsonl');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('scanAuditRecords and lastAuditRecords', () => {
  it('read every file oldest first, report bad lines, skip a torn last line', async () => {
    const log = new AuditChainBuilder();
    log.event();
    log.rotate();
    log.event();
    log.write(path);
    appendFileSync(rotatedPath(path, 1), 'junk\n');
    appendFileSync(path, '{"v":1,"seq":4');
    const seqs: unknown[] = [];
    const bad: string[] = [];
    await scanAuditRecords(
      path,
      (r) => seqs.push(r.record['seq']),
      (file, line) => bad.push(`${file}:${line}`),
    );
    expect(seqs).toEqual([0, 1, 2, 3]);
    expect(bad).toEqual(['audit.jsonl.000001:3']);
    const last = await lastAuditRecords(path, 3);
    expect(last.records.map((r) => r.record['seq'])).toEqual([1, 2, 3]);
    expect(last.currentOffset).toBe(Buffer.byteLength(`${log.files[1]?.join('\n')}\n`));
  });
});

describe('followAuditLog', () => {
  it('follows a rotation: the rest of the old file, then the new one', async () => {
    const log = new AuditChainBuilder();
    log.write(path);
    const start = Buffer.byteLength(`${log.files[0]?.join('\n')}\n`);
    const seen: unknown[] = [];
    let wake = (): void => undefined;
    const abort = new AbortController();
    const following = followAuditLog(
      path,
      (r) => {
        seen.push(r.record['seq']);
        wake();
      },
      { from: start, signal: abort.signal, pollMs: 5 },
    );
    const until = (n: number): Promise<void> =>
      new Promise((done) => {
        wake = () => {
          if (seen.length >= n) done();
        };
        wake();
      });
    log.event();
    writeFileSync(path, `${log.files[0]?.join('\n')}\n`);
    await until(1);
    log.event(); // written to the old file just before it is rotated away
    writeFileSync(path, `${log.files[0]?.join('\n')}\n`);
    renameSync(path, rotatedPath(path, 1));
    log.rotate();
    log.event();
    writeFileSync(path, `${log.files[1]?.join('\n')}\n`);
    await until(4);
    abort.abort();
    await following;
    expect(seen).toEqual([1, 2, 3, 4]);
  });
});
