import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { recordHash, recordLine, rotatedPath } from './audit-format.js';
import { type CheckpointKey, checkpointKeyFromPem } from './checkpoint-key.js';
import { lineHash } from './parse-audit-record.js';
import { AuditChainBuilder, testSigningKey } from './testdata/audit-chain-builder.js';
import { verifyAuditLog, type VerifyOptions, type VerifyReport } from './verify-chain.js';

const key = testSigningKey();
let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cofre-verify-'));
  path = join(dir, 'audit.jsonl');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A log of 3 files: genesis, events, checkpoints every 4 records, two rotations, a final checkpoint. */
function sampleLog(options: { keyInGenesis?: boolean } = {}): AuditChainBuilder {
  const log = new AuditChainBuilder({ key, ...options });
  for (let i = 0; i < 3; i++) {
    log.event('intent');
    log.event('outcome');
    log.event('intent');
    log.checkpoint();
    if (i < 2) log.rotate();
  }
  return log;
}

function pinned(): CheckpointKey {
  return checkpointKeyFromPem(key.publicKeyPem, 'pinned', 'test key');
}

async function verify(options: Partial<VerifyOptions> = {}): Promise<VerifyReport> {
  return verifyAuditLog({ path, pinnedKey: pinned(), ...options });
}

function codes(report: VerifyReport, severity: 'error' | 'warning' = 'error'): string[] {
  return report.findings.filter((f) => f.severity === severity).map((f) => f.code);
}

/** Writes `log` after replacing the lines of file `file` with `edit(lines)`. */
function writeEdited(log: AuditChainBuilder, file: number, edit: (lines: string[]) => string[]): void {
  const files = log.files.map((lines, i) => (i === file ? edit([...lines]) : lines));
  for (const [name, content] of log.contents(path, files)) writeFileSync(name, content);
}

describe('verifyAuditLog on an intact log', () => {
  it('verifies it and summarises it', async () => {
    const log = sampleLog();
    log.write(path);
    const report = await verify();
    expect(report.findings).toEqual([]);
    expect(report).toMatchObject({
      verdict: 'verified',
      records: 15,
      files: 3,
      firstSeq: 0,
      lastSeq: 14,
      firstTime: '2026-01-01T00:00:00.000Z',
      lastTime: '2026-01-01T00:00:14.000Z',
      logId: log.logId,
      key: { source: 'pinned', keyId: key.keyId },
      checkpoints: { verified: 3, unsigned: 0 },
      lastVerifiedCheckpoint: { seq: 14, file: 'audit.jsonl', line: 5 },
      uncoveredRecords: 0,
    });
  });

  it('uses the genesis key when none is pinned, and warns that it is not pinned', async () => {
    sampleLog().write(path);
    const report = await verifyAuditLog({ path });
    expect(report.verdict).toBe('verified');
    expect(report.key).toEqual({ source: 'genesis', keyId: key.keyId });
    expect(codes(report, 'warning')).toEqual(['key-not-pinned']);
  });

  it('counts the records after the last checkpoint as uncovered', async () => {
    const log = sampleLog();
    log.event();
    log.event();
    log.write(path);
    expect((await verify()).uncoveredRecords).toBe(2);
  });

  it('reports progress per chunk', async () => {
    sampleLog().write(path);
    const seen: string[] = [];
    await verify({ onProgress: (p) => seen.push(`${p.file}:${p.fileBytes === p.fileSize}`) });
    expect(seen).toEqual(['audit.jsonl.000001:true', 'audit.jsonl.000002:true', 'audit.jsonl:true']);
  });
});

describe('verifyAuditLog names each kind of damage', () => {
  it('no log at all', async () => {
    expect(codes(await verify())).toEqual(['no-log']);
  });

  it('an edited record: the next record’s prev does not match', async () => {
    const log = sampleLog();
    writeEdited(log, 0, (lines) => {
      lines[1] = lines[1]?.replace('"agent":"bot"', '"agent":"bad"') ?? '';
      return lines;
    });
    const report = await verify();
    expect(report.verdict).toBe('broken');
    expect(report.findings[0]).toMatchObject({
      code: 'prev-mismatch',
      file: 'audit.jsonl.000001',
      line: 3,
      seq: 2,
    });
    expect(report.findings[0]?.message).toContain('seq 1 (audit.jsonl.000001 line 2)');
  });

  it('a deleted record: a seq gap', async () => {
    const log = sampleLog();
    writeEdited(log, 0, (lines) => lines.filter((_, i) => i !== 2));
    const [first] = (await verify()).findings;
    expect(first).toMatchObject({ code: 'seq-gap', line: 3, seq: 3 });
    expect(first?.message).toContain('1 record(s) (seq 2) missing');
  });

  it('an inserted record with the right seq but a foreign chain: prev mismatch', async () => {
    const log = sampleLog();
    const other = new AuditChainBuilder({ key, logId: 'b2'.repeat(16) });
    other.event();
    other.event();
    writeEdited(log, 0, (lines) => [...lines.slice(0, 2), other.files[0]?.[2] ?? '', ...lines.slice(3)]);
    expect(codes(await verify())).toContain('prev-mismatch');
  });

  it('reordered records', async () => {
    const log = sampleLog();
    writeEdited(log, 0, (lines) => [lines[0] ?? '', lines[2] ?? '', lines[1] ?? '', ...lines.slice(3)]);
    expect(codes(await verify())).toEqual(['seq-gap', 'seq-out-of-order', 'seq-gap']);
  });

  it('a duplicated record', async () => {
    const log = sampleLog();
    writeEdited(log, 2, (lines) => [...lines.slice(0, 2), lines[1] ?? '', ...lines.slice(2)]);
    const report = await verify();
    expect(codes(report)).toEqual(['duplicate-record']);
    expect(report.findings[0]).toMatchObject({ file: 'audit.jsonl', line: 3, seq: 11 });
  });

  it('a non-JSON line, and a line without the head', async () => {
    const log = sampleLog();
    writeEdited(log, 2, (lines) => {
      lines[1] = 'garbage';
      lines[3] = '{"seq":13,"v":1}';
      return lines;
    });
    expect(codes(await verify())).toEqual(['malformed-line', 'head-fields']);
  });

  it('a torn last line: an error in a rotated file, a warning in the current one', async () => {
    const log = sampleLog();
    log.write(path);
    writeFileSync(path, `${log.files[2]?.join('\n')}\n{"v":1,"seq":15,`);
    const report = await verify();
    expect(report.verdict).toBe('verified');
    expect(report.findings).toMatchObject([{ severity: 'warning', code: 'torn-line', line: 6 }]);
    writeFileSync(rotatedPath(path, 1), `${log.files[0]?.join('\n')}`);
    expect(codes(await verify())).toContain('torn-line');
  });

  it('a wrong schema version', async () => {
    const log = sampleLog();
    writeEdited(log, 0, (lines) => {
      lines[1] = lines[1]?.replace('{"v":1,', '{"v":2,') ?? '';
      return lines;
    });
    expect((await verify()).findings[0]).toMatchObject({ code: 'schema-version', seq: 1 });
  });

  it('a missing rotated file, and a missing current file', async () => {
    const log = sampleLog();
    log.write(path);
    unlinkSync(rotatedPath(path, 2));
    writeFileSync(rotatedPath(path, 3), ''); // so .000002 sits between two others
    let report = await verify();
    expect(report.findings[0]).toMatchObject({ code: 'missing-file', file: 'audit.jsonl.000002' });
    rmSync(rotatedPath(path, 3));
    log.write(path);
    unlinkSync(path);
    report = await verify();
    expect(report.findings[0]?.code).toBe('missing-file');
    expect(report.findings[0]?.message).toContain('current file audit.jsonl is missing');
  });

  it('an extra file: the continue record names another file', async () => {
    const log = sampleLog();
    log.write(path);
    writeFileSync(rotatedPath(path, 3), log.files[1]?.map((l) => `${l}\n`).join('') ?? '');
    const report = await verify();
    expect(codes(report)).toContain('continue-mismatch');
    // .000003 (a copy of .000002) starts with continue { file: 1 } but follows .000002
    expect(report.findings.find((f) => f.code === 'continue-mismatch')?.file).toBe('audit.jsonl.000003');
  });

  it('a rotated file cut or extended: prevFileSize does not match', async () => {
    const log = sampleLog();
    log.write(path);
    writeFileSync(rotatedPath(path, 2), `${log.files[1]?.slice(0, 3).join('\n')}\n`);
    const report = await verify();
    expect(report.findings.find((f) => f.code === 'continue-mismatch')?.message).toContain(
      'was cut, extended',
    );
  });

  it('a file that does not start with continue, and a continue in the middle', async () => {
    const log = sampleLog();
    writeEdited(log, 1, (lines) => lines.slice(1));
    expect(codes(await verify())).toContain('continue-missing');
    const other = sampleLog();
    writeEdited(other, 0, (lines) => [
      ...lines.slice(0, 2),
      ...(other.files[1]?.slice(0, 1) ?? []),
      ...lines.slice(2),
    ]);
    expect(codes(await verify())).toContain('continue-missing');
  });

  it('a log that does not start at genesis, unless older files were removed by retention', async () => {
    const log = sampleLog();
    writeEdited(log, 0, (lines) => lines.slice(1));
    expect(codes(await verify())).toContain('genesis');
    log.write(path);
    unlinkSync(rotatedPath(path, 1));
    const report = await verify();
    expect(report.verdict).toBe('verified');
    expect(codes(report, 'warning')).toEqual(['older-files-removed']);
    expect(report.checkpoints.verified).toBe(2); // the logId comes from the continue record
  });

  it('a checkpoint with a bad signature, a wrong head, a wrong count', async () => {
    const log = sampleLog();
    writeEdited(log, 0, (lines) => {
      const cp = JSON.parse(lines[4] ?? '') as Record<string, unknown>;
      const sig = Buffer.from(cp['signature'] as string, 'base64');
      sig[0] = (sig[0] ?? 0) ^ 1;
      lines[4] = JSON.stringify({ ...cp, signature: sig.toString('base64') });
      return lines;
    });
    const report = await verify();
    expect(report.findings[0]).toMatchObject({ code: 'checkpoint-signature', seq: 4 });
    const next = sampleLog();
    writeEdited(next, 0, (lines) => {
      lines[4] = lines[4]?.replace('"count":4', '"count":3') ?? '';
      return lines;
    });
    expect(codes(await verify())[0]).toBe('checkpoint-fields');
  });

  it('a signature edited in bits base64 ignores is still caught', async () => {
    const log = sampleLog();
    writeEdited(log, 0, (lines) => {
      const cp = JSON.parse(lines[4] ?? '') as Record<string, unknown>;
      const sig = cp['signature'] as string; // 88 chars ending "==": the last data char has 4 unused bits
      const last = sig.at(-3) ?? 'A';
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
      const twin = alphabet[alphabet.indexOf(last) ^ 1] ?? 'A';
      lines[4] = JSON.stringify({ ...cp, signature: `${sig.slice(0, -3)}${twin}==` });
      return lines;
    });
    expect(codes(await verify())).toContain('checkpoint-signature');
  });

  it('a checkpoint signed by another key, and a genesis key that is not the pinned one', async () => {
    const other = testSigningKey();
    new AuditChainBuilder({ key: other }).checkpoint();
    const log = new AuditChainBuilder({ key: other });
    log.event();
    log.checkpoint();
    log.write(path);
    expect(codes(await verify())).toEqual(['genesis-key-mismatch', 'checkpoint-key']);
  });

  it('signed checkpoints with no key to check them', async () => {
    sampleLog({ keyInGenesis: false }).write(path);
    const report = await verifyAuditLog({ path });
    expect(codes(report)).toEqual(['checkpoint-unverifiable']);
    expect(report.key.source).toBe('none');
  });

  it('unsigned checkpoints and too long a run without one are warnings', async () => {
    const log = new AuditChainBuilder();
    for (let i = 0; i < 5; i++) log.event();
    log.checkpoint();
    log.event();
    log.write(path);
    const report = await verify({ maxRecordsBetweenCheckpoints: 3 });
    expect(report.verdict).toBe('verified');
    expect(codes(report, 'warning')).toEqual(['checkpoint-missing', 'checkpoint-unsigned']);
    expect(report.checkpoints.unsigned).toBe(1);
  });
});

describe('verifyAuditLog with witnesses', () => {
  it('accepts a witness that matches', async () => {
    const witness = join(dir, 'witness.jsonl');
    sampleLog().write(path, witness);
    expect((await verify({ witnesses: [witness] })).verdict).toBe('verified');
  });

  it('reports TRUNCATION when a witness holds a checkpoint beyond the end', async () => {
    const witness = join(dir, 'witness.jsonl');
    const log = sampleLog();
    log.write(path, witness);
    const current = log.files[2] ?? [];
    writeFileSync(path, `${current.slice(0, 2).join('\n')}\n`); // cut seq 12–14, including the last checkpoint
    expect((await verify()).verdict).toBe('verified'); // undetectable without the witness
    const report = await verify({ witnesses: [witness] });
    expect(report.findings).toMatchObject([{ code: 'truncated', seq: 14, file: witness }]);
    expect(report.findings[0]?.message).toContain('at least 3 record(s)');
  });

  it('reports a witness checkpoint that differs from the log, is missing from it, or is forged', async () => {
    const witness = join(dir, 'witness.jsonl');
    const log = sampleLog();
    log.write(path, witness);
    const other = sampleLog();
    other.checkpoints[0] =
      other.checkpoints[0]?.replace('"ts":"2026-01-01T00:00:04', '"ts":"2026-01-01T00:00:09') ?? '';
    writeFileSync(witness, `${other.checkpoints[0]}\n`);
    expect(codes(await verify({ witnesses: [witness] }))).toEqual(['witness-mismatch']);
    const forged = recordLine(
      { v: 1, seq: 40, ts: '2026-01-01T00:01:00.000Z', prev: recordHash('x'), kind: 'checkpoint' },
      { head: recordHash('x'), count: 40, keyId: key.keyId, signature: Buffer.alloc(64).toString('base64') },
    );
    writeFileSync(witness, `${forged}\nnot json\n`);
    expect(codes(await verify({ witnesses: [witness] }))).toEqual(['witness-malformed', 'witness-forged']);
    writeFileSync(witness, `${log.checkpoints[0]}\n`);
    writeEdited(log, 0, (lines) => lines.filter((_, i) => i !== 4)); // the checkpoint at seq 4 deleted
    expect(codes(await verify({ witnesses: [witness] }))).toContain('witness-missing');
  });
});

describe('lineHash', () => {
  it('is the contract’s recordHash', () => {
    for (const line of ['', 'x', '{"v":1,"seq":0}', 'é'.repeat(1000)]) {
      expect(lineHash(Buffer.from(line))).toBe(recordHash(line));
    }
  });
});
