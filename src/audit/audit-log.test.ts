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

describe.skipIf(process.platform === 'win32')('JsonlAuditLog file mode', () => {
  // Regression: an existing audit file's mode was never checked; one left at 644 stayed readable by everyone.
  it('restricts an existing audit file of mode 644 to 600 when the log opens, and reports it', async () => {
    const { chmod, writeFile } = await import('node:fs/promises');
    const path = join(dir, 'audit.jsonl');
    await writeFile(path, '{"old":true}\n');
    await chmod(path, 0o644);
    const fixed: { path: string; was: string }[] = [];
    const log = new JsonlAuditLog(path, { onModeFixed: (f) => fixed.push(f) });
    expect(fixed).toEqual([{ path, was: '644' }]);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    // Restricted again if it is widened behind the log's back and the log reopens it (rotation).
    await log.append({ kind: 'intent', requestId: 'r1', agent: 'a', action: 'x' });
    const { rename } = await import('node:fs/promises');
    await rename(path, `${path}.1`);
    await writeFile(path, '', { mode: 0o666 });
    await chmod(path, 0o666);
    await log.append({ kind: 'intent', requestId: 'r2', agent: 'a', action: 'x' });
    await log.close();
    expect(fixed).toEqual([
      { path, was: '644' },
      { path, was: '666' },
    ]);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readFile(`${path}.1`, 'utf8')).toContain('{"old":true}');
  });

  it.skipIf(process.getuid?.() !== 0)(
    'refuses a readable audit file that belongs to another user',
    async () => {
      const { chmod, chown, writeFile } = await import('node:fs/promises');
      const path = join(dir, 'audit.jsonl');
      await writeFile(path, '');
      await chmod(path, 0o644);
      await chown(path, 65534, 65534);
      let err: unknown;
      try {
        new JsonlAuditLog(path);
      } catch (e) {
        err = e;
      }
      expect(isCofreError(err, 'COFRE_PRIVATE_FILE_INSECURE')).toBe(true);
      expect((err as Error).message).toContain(`chmod 600 ${path}`);
    },
  );

  it('creates its folder with mode 700', async () => {
    const path = join(dir, 'new', 'audit.jsonl');
    const log = new JsonlAuditLog(path);
    await log.append({ kind: 'intent', requestId: 'r', agent: 'a', action: 'x' });
    await log.close();
    expect((await stat(join(dir, 'new'))).mode & 0o777).toBe(0o700);
  });
});
