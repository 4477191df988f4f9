import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { isCofreError } from '../errors.js';
import { JsonlAuditLog } from './audit-log.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cofre-audit-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('JsonlAuditLog', () => {
  it('appends one JSON line per event, in order, in a file of mode 600', async () => {
    const log = new JsonlAuditLog(join(dir, 'audit.jsonl'), { now: () => new Date('2026-11-28T00:00:00Z') });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        log.append({ kind: 'intent', requestId: `r${i}`, agent: 'a', action: 'get_balance' }),
      ),
    );
    await log.close();
    const lines = (await readFile(join(dir, 'audit.jsonl'), 'utf8')).trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { requestId: string }).requestId)).toEqual(
      Array.from({ length: 20 }, (_, i) => `r${i}`),
    );
    expect((await stat(join(dir, 'audit.jsonl'))).mode & 0o777).toBe(0o600);
  });

  it('fails with COFRE_AUDIT_UNAVAILABLE when the file cannot be written, and recovers', async () => {
    const path = join(dir, 'audit.jsonl');
    await mkdir(path); // a directory where the file should be
    const log = new JsonlAuditLog(path);
    const err = await log
      .append({ kind: 'intent', requestId: 'r', agent: 'a', action: 'x' })
      .catch((e: unknown) => e);
    expect(isCofreError(err, 'COFRE_AUDIT_UNAVAILABLE')).toBe(true);
    await rm(path, { recursive: true });
    await log.append({ kind: 'intent', requestId: 'r2', agent: 'a', action: 'x' });
    await log.close();
    expect(await readFile(path, 'utf8')).toContain('"r2"');
  });
});

describe('JsonlAuditLog when its file goes away', () => {
  // Regression: an open handle kept appending to a deleted file, so every later line was lost without an error.
  it('reopens at the path after the file was deleted or rotated', async () => {
    const { rename } = await import('node:fs/promises');
    const path = join(dir, 'audit.jsonl');
    const log = new JsonlAuditLog(path);
    await log.append({ kind: 'intent', requestId: 'before', agent: 'a', action: 'x' });
    await rename(path, `${path}.1`);
    await log.append({ kind: 'intent', requestId: 'after-rotate', agent: 'a', action: 'x' });
    await rm(path);
    await log.append({ kind: 'intent', requestId: 'after-delete', agent: 'a', action: 'x' });
    await log.close();
    expect(await readFile(`${path}.1`, 'utf8')).toContain('"before"');
    expect(await readFile(path, 'utf8')).toContain('"after-delete"');
  });
});
