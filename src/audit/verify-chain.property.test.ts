// Issue 10: an unmodified log always verifies; every mutation of it is detected. The one mutation a verifier cannot
// see from the log alone is cutting its end (the records after the last checkpoint still in it): a shorter log is a
// valid log. With a witness holding the later checkpoint, that cut is reported as TRUNCATION.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { recordLine } from './audit-format.js';
import { checkpointKeyFromPem } from './checkpoint-key.js';
import { AuditChainBuilder, testSigningKey } from './testdata/audit-chain-builder.js';
import { verifyAuditLog, type VerifyReport } from './verify-chain.js';

const key = testSigningKey();
const otherKey = testSigningKey();
const pinnedKey = checkpointKeyFromPem(key.publicKeyPem, 'pinned', 'test key');
let dir: string;
let run = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cofre-verify-prop-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** One step of a generated log: an event, then maybe a checkpoint, then maybe a rotation. */
const stepArb = fc.record({
  kind: fc.constantFrom('intent' as const, 'outcome' as const, 'secret-access' as const),
  checkpoint: fc.nat(3).map((n) => n === 0),
  rotate: fc.nat(7).map((n) => n === 0),
});
type Step = { kind: 'intent' | 'outcome' | 'secret-access'; checkpoint: boolean; rotate: boolean };

/** A valid log as a clean shutdown leaves it: the last record is a checkpoint. */
function build(steps: readonly Step[], logId?: string): AuditChainBuilder {
  const log = new AuditChainBuilder({ key, ...(logId === undefined ? {} : { logId }) });
  steps.forEach((step, i) => {
    if (step.kind === 'secret-access')
      log.append('secret-access', { requestId: `r${i}`, reference: 'hmac-sha256:00' });
    else log.event(step.kind, { n: i });
    if (step.checkpoint) log.checkpoint();
    if (step.rotate) log.rotate();
  });
  log.checkpoint();
  return log;
}

const MUTATIONS = [
  'flip-byte',
  'delete-line',
  'duplicate-line',
  'reorder-lines',
  'splice-line',
  'drop-checkpoint',
  'forge-checkpoint',
  'truncate',
] as const;
type Mutation = (typeof MUTATIONS)[number];
interface MutationSpec {
  readonly type: Mutation;
  readonly a: number;
  readonly b: number;
  readonly bit: number;
}
const mutationArb: fc.Arbitrary<MutationSpec> = fc.record({
  type: fc.constantFrom(...MUTATIONS),
  a: fc.nat(),
  b: fc.nat(),
  bit: fc.nat(7),
});

interface Mutated {
  /** Each file's bytes, oldest first; the last is the current file. */
  readonly files: Buffer[];
  /** The mutation only removed the log's end (or tore its last line): invisible without a witness. */
  readonly cutsTail: boolean;
}

type Lines = string[][];

function toFiles(lines: Lines): Buffer[] {
  return lines.map((file) => Buffer.from(file.map((l) => `${l}\n`).join('')));
}

/** Every (file, line) position of a log. */
function positions(lines: Lines): [number, number][] {
  return lines.flatMap((file, f) => file.map((_, l): [number, number] => [f, l]));
}

function isLast(lines: Lines, [f, l]: [number, number]): boolean {
  return f === lines.length - 1 && l === (lines[f]?.length ?? 0) - 1;
}

function mutate(log: AuditChainBuilder, other: AuditChainBuilder, m: MutationSpec): Mutated {
  const lines: Lines = log.files.map((file) => [...file]);
  const all = positions(lines);
  const pick = (n: number): [number, number] => all[n % all.length] ?? [0, 0];
  const at = (p: [number, number]): string => lines[p[0]]?.[p[1]] ?? '';
  const set = (p: [number, number], ...with_: string[]): void => {
    lines[p[0]]?.splice(p[1], 1, ...with_);
  };
  const checkpoints = all.filter((p) => at(p).includes('"kind":"checkpoint"'));
  switch (m.type) {
    case 'flip-byte': {
      const files = toFiles(lines);
      const f = m.a % files.length;
      const file = files[f] ?? Buffer.alloc(0);
      const i = m.b % file.length;
      file[i] = (file[i] ?? 0) ^ (1 << m.bit);
      return { files, cutsTail: f === files.length - 1 && i === file.length - 1 };
    }
    case 'delete-line':
    case 'drop-checkpoint': {
      const p = m.type === 'delete-line' ? pick(m.a) : (checkpoints[m.a % checkpoints.length] ?? [0, 0]);
      const cutsTail = isLast(lines, p);
      set(p);
      return { files: toFiles(lines), cutsTail };
    }
    case 'duplicate-line': {
      const p = pick(m.a);
      set(pick(m.b), at(pick(m.b)), at(p)); // the copy goes after any line, the original's own included
      return { files: toFiles(lines), cutsTail: false };
    }
    case 'reorder-lines': {
      const p = pick(m.a);
      let q = pick(m.b);
      if (p[0] === q[0] && p[1] === q[1]) q = pick(m.b + 1);
      if (p[0] === q[0] && p[1] === q[1]) return mutate(log, other, { ...m, type: 'flip-byte' }); // a 1-line log
      const [x, y] = [at(p), at(q)];
      set(p, y);
      set(q, x);
      return { files: toFiles(lines), cutsTail: false };
    }
    case 'splice-line': {
      const foreign = positions(other.files);
      const [f, l] = foreign[m.b % foreign.length] ?? [0, 0];
      const line = other.files[f]?.[l] ?? '';
      const p = pick(m.a);
      if (m.bit % 2 === 0) set(p, line);
      else set(p, at(p), line);
      return { files: toFiles(lines), cutsTail: false };
    }
    case 'forge-checkpoint': {
      const p = checkpoints[m.a % checkpoints.length] ?? [0, 0];
      set(p, forged(at(p), log.logId, m.b % 3));
      return { files: toFiles(lines), cutsTail: false };
    }
    case 'truncate': {
      const files = toFiles(lines);
      const total = files.reduce((sum, file) => sum + file.length, 0);
      let cut = m.a % total; // bytes kept: strictly fewer than all
      const kept: Buffer[] = [];
      for (const file of files) {
        if (cut <= 0 && kept.length > 0) break;
        kept.push(file.subarray(0, Math.min(cut, file.length)));
        cut -= file.length;
      }
      return { files: kept, cutsTail: true };
    }
  }
}

/** A checkpoint replaced by a forgery: signed by another key, or with the real keyId and another key's signature, or with its time edited. */
function forged(line: string, logId: string, how: number): string {
  const record = JSON.parse(line) as { v: 1; seq: number; ts: string; prev: string; kind: 'checkpoint' };
  const { v, seq, prev, kind } = record;
  const ts = how === 2 ? '2030-01-01T00:00:00.000Z' : record.ts;
  const forger = new AuditChainBuilder({ key: otherKey, logId });
  const signature = forger.signatureFor(seq, prev, ts);
  const signed = JSON.parse(line) as { keyId: string; signature: string };
  return recordLine(
    { v, seq, ts, prev, kind },
    {
      head: prev,
      count: seq,
      keyId: how === 0 ? otherKey.keyId : key.keyId,
      signature: how === 2 ? signed.signature : signature,
    },
  );
}

async function verifyFiles(files: readonly Buffer[], witness?: readonly string[]): Promise<VerifyReport> {
  run += 1;
  const folder = join(dir, `run-${run}`);
  const path = join(folder, 'audit.jsonl');
  mkdirSync(folder);
  files.forEach((bytes, i) => {
    writeFileSync(i === files.length - 1 ? path : `${path}.${String(i + 1).padStart(6, '0')}`, bytes);
  });
  const witnesses: string[] = [];
  if (witness !== undefined) {
    witnesses.push(join(folder, 'witness.jsonl'));
    writeFileSync(join(folder, 'witness.jsonl'), witness.map((l) => `${l}\n`).join(''));
  }
  try {
    return await verifyAuditLog({ path, pinnedKey, witnesses });
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

const stepsArb = fc.array(stepArb, { minLength: 1, maxLength: 30 });

describe('verifyAuditLog, property', () => {
  it('verifies every valid log, with checkpoints and rotations, with and without its witness', async () => {
    await fc.assert(
      fc.asyncProperty(stepsArb, async (steps) => {
        const log = build(steps);
        const plain = await verifyFiles(toFiles(log.files));
        expect(plain.findings).toEqual([]);
        expect(plain.uncoveredRecords).toBe(0);
        const witnessed = await verifyFiles(toFiles(log.files), log.checkpoints);
        expect(witnessed.verdict).toBe('verified');
      }),
      { numRuns: 150 },
    );
  });

  it('detects every mutation; without a witness, all but a cut of the end', async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(stepsArb, stepsArb, mutationArb, async (steps, otherSteps, m) => {
        const log = build(steps);
        const other = build(otherSteps, 'b2'.repeat(16));
        const mutated = mutate(log, other, m);
        const witnessed = await verifyFiles(mutated.files, log.checkpoints);
        expect(witnessed.verdict, `${m.type} with the witness`).toBe('broken');
        const alone = await verifyFiles(mutated.files);
        if (!mutated.cutsTail) expect(alone.verdict, `${m.type} without a witness`).toBe('broken');
        const key = `${m.type}${mutated.cutsTail ? ' (tail)' : ''}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }),
      { numRuns: 600 },
    );
    for (const type of MUTATIONS)
      expect(seen.get(type) ?? seen.get(`${type} (tail)`) ?? 0).toBeGreaterThan(20);
  });

  it('names TRUNCATION when the witness holds a checkpoint the log lost', async () => {
    await fc.assert(
      fc.asyncProperty(stepsArb, fc.nat(), async (steps, n) => {
        const log = build(steps);
        const files = log.files.map((f) => [...f]);
        const last = files.at(-1) ?? [];
        last.splice(n % last.length, last.length); // the last checkpoint and maybe more cut at a line boundary
        const alone = await verifyFiles(toFiles(files));
        const witnessed = await verifyFiles(toFiles(files), log.checkpoints);
        // Without the witness the cut is invisible unless it emptied a file that must hold a record.
        if (last.length > 0) expect(alone.verdict).toBe('verified');
        expect(witnessed.findings.map((f) => f.code)).toContain('truncated');
      }),
      { numRuns: 100 },
    );
  });
});
