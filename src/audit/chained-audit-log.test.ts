import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { appendFile, chmod, mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { isCofreError } from '../errors.js';
import { nodeFileOps } from './audit-file-ops.js';
import { rotatedPath } from './audit-format.js';
import type { AuditEvent } from './audit-log.js';
import { listRotated } from './audit-rotation.js';
import {
  ChainedAuditLog,
  type ChainedAuditLogConfig,
  type ChainedAuditLogOptions,
} from './chained-audit-log.js';
import { checkChain } from './testdata/check-chain.js';
import { FileWitness } from './witness-file.js';

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cofre-chain-'));
  path = join(dir, 'audit.jsonl');
});
afterEach(async () => {
  vi.useRealTimers();
  await rm(dir, { recursive: true, force: true });
});

const FAR = 1024 ** 3;
function config(
  over: Partial<{ every: number; interval: number; maxSize: number; keep: number; maxAge: number }> = {},
) {
  const c: ChainedAuditLogConfig = {
    path,
    checkpoint: { every: over.every ?? 1000, interval: over.interval ?? 60_000 },
    rotate: {
      maxSize: over.maxSize ?? FAR,
      keep: over.keep ?? 100,
      ...(over.maxAge === undefined ? {} : { maxAge: over.maxAge }),
    },
  };
  return c;
}

const event = (requestId: string): AuditEvent => ({
  kind: 'intent',
  requestId,
  agent: 'a',
  action: 'get_balance',
});

/** A reporter that keeps what it was told. */
function reporter() {
  const told: { level: string; message: string }[] = [];
  return {
    told,
    reporter: {
      warn: (_d: unknown, message: string) => told.push({ level: 'warn', message }),
      error: (_d: unknown, message: string) => told.push({ level: 'error', message }),
    },
  };
}

function open(c = config(), options: ChainedAuditLogOptions = {}): ChainedAuditLog {
  return new ChainedAuditLog(c, { reporter: reporter().reporter, ...options });
}

const ids = (records: Awaited<ReturnType<typeof checkChain>>): unknown[] =>
  records.filter((r) => r.record.kind === 'intent').map((r) => r.record['requestId']);

describe('ChainedAuditLog', () => {
  it('chains records in append order across batches, after a genesis with the public key, mode 600', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const log = open(config(), { signingKey: privateKey });
    for (let burst = 0; burst < 3; burst++) {
      await Promise.all(Array.from({ length: 20 }, (_, i) => log.append(event(`r${burst * 20 + i}`))));
    }
    await log.close();
    const records = await checkChain([path]);
    expect(records[0]?.record.kind).toBe('genesis');
    expect(records[0]?.record['logId']).toMatch(/^[0-9a-f]{32}$/);
    expect(records[0]?.record['publicKey']).toBe(publicKey.export({ type: 'spki', format: 'pem' }));
    expect(ids(records)).toEqual(Array.from({ length: 60 }, (_, i) => `r${i}`));
    expect(records.at(-1)?.record.kind).toBe('checkpoint'); // at close, signed (checkChain verifies it)
    expect(records.at(-1)?.record['signature']).toEqual(expect.any(String));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await expect(stat(`${path}.lock`)).rejects.toThrow(/ENOENT/); // let go at close
  });

  it('resumes the chain of an existing log after a restart', async () => {
    const first = open();
    await first.append(event('a'));
    await first.close();
    const second = open();
    await second.append(event('b'));
    await second.close();
    const records = await checkChain([path]);
    expect(records.map((r) => r.record.kind)).toEqual([
      'genesis',
      'intent',
      'checkpoint',
      'intent',
      'checkpoint',
    ]);
  });

  it.skipIf(process.platform === 'win32')(
    'restricts an existing log of mode 644 to 600 when constructed, and reports it',
    async () => {
      const first = open();
      await first.append(event('a'));
      await first.close();
      await chmod(path, 0o644);
      const fixed: { path: string; was: string }[] = [];
      const log = open(config(), { onModeFixed: (f) => fixed.push(f) });
      expect(fixed).toEqual([{ path, was: '644' }]);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      await log.close();
    },
  );

  it('leaves no file behind when closed without having written', async () => {
    await open().close();
    await expect(stat(path)).rejects.toThrow(/ENOENT/);
  });

  it('refuses appends after close', async () => {
    const log = open();
    await log.close();
    expect(
      isCofreError(await log.append(event('late')).catch((e: unknown) => e), 'COFRE_AUDIT_UNAVAILABLE'),
    ).toBe(true);
  });

  it('refuses an event of one of the chain’s own kinds', async () => {
    const log = open();
    await expect(log.append({ ...event('x'), kind: 'checkpoint' } as unknown as AuditEvent)).rejects.toThrow(
      /chain's own kind/,
    );
    await log.close();
  });
});

/** Real writes and syncs, the syncs counted. */
function countingSyncs() {
  const counted = {
    syncs: 0,
    fileOps: {
      write: (file: FileHandle, data: Buffer) => nodeFileOps.write(file, data),
      sync: async (file: FileHandle) => {
        counted.syncs += 1;
        await file.datasync();
      },
    },
  };
  return counted;
}

describe('ChainedAuditLog group commit', () => {
  it('writes a burst of concurrent appends with one sync, and what arrives during a sync with the next one', async () => {
    let syncs = 0;
    let gate: (() => void) | undefined;
    const log = open(config(), {
      fileOps: {
        write: (file: FileHandle, data: Buffer) => nodeFileOps.write(file, data),
        sync: async (file: FileHandle) => {
          syncs += 1;
          if (syncs === 2) await new Promise<void>((r) => (gate = r));
          await file.datasync();
        },
      },
    });
    await Promise.all(Array.from({ length: 64 }, (_, i) => log.append(event(`a${i}`))));
    expect(syncs).toBe(1);

    let durable = false;
    const held = log.append(event('held')).then(() => (durable = true));
    await vi.waitFor(() => {
      expect(gate).toBeDefined();
    });
    const queued = Array.from({ length: 50 }, (_, i) => log.append(event(`b${i}`)));
    await new Promise((r) => setImmediate(r));
    expect(durable).toBe(false); // resolves only once its sync returned
    gate?.();
    await Promise.all([held, ...queued]);
    expect(syncs).toBe(3); // the 50 queued during the second sync shared the third
    await log.close();
    expect(ids(await checkChain([path]))).toEqual([
      ...Array.from({ length: 64 }, (_, i) => `a${i}`),
      'held',
      ...Array.from({ length: 50 }, (_, i) => `b${i}`),
    ]);
  });

  it("settles a `wait: 'written'` append once its line is in the file, and syncs it with the next durable batch", async () => {
    const counted = countingSyncs();
    const log = open(config(), { fileOps: counted.fileOps });
    await log.append(event('first')); // the genesis batch: synced
    expect(counted.syncs).toBe(1);
    await log.append(event('outcome'), { wait: 'written' });
    expect(counted.syncs).toBe(1); // not waited for, and not synced on its own yet
    expect(await readFile(path, 'utf8')).toContain('"requestId":"outcome"');
    await log.append(event('intent'));
    expect(counted.syncs).toBe(2); // one sync made both durable
    await log.close();
    expect(ids(await checkChain([path]))).toEqual(['first', 'outcome', 'intent']);
  });

  it('syncs written-only records by itself soon when no durable record follows', async () => {
    const counted = countingSyncs();
    const log = open(config(), { fileOps: counted.fileOps });
    await log.append(event('first'));
    await log.append(event('w1'), { wait: 'written' });
    await log.append(event('w2'), { wait: 'written' });
    expect(counted.syncs).toBe(1);
    await vi.waitFor(() => {
      expect(counted.syncs).toBe(2); // the flush: one sync for both
    });
    await log.close();
    expect(counted.syncs).toBe(3); // the final checkpoint
  });

  it('syncs a written-only batch at once when it holds a checkpoint (a witness never gets one the log could lose)', async () => {
    const counted = countingSyncs();
    const log = open(config({ every: 2 }), { fileOps: counted.fileOps });
    await log.append(event('first'));
    expect(counted.syncs).toBe(1);
    await log.append(event('w1'), { wait: 'written' }); // the second record since genesis: a checkpoint follows
    expect(counted.syncs).toBe(2);
    await log.close();
  });

  it('rejects every append of a batch whose sync failed, keeps none of it, and continues the chain', async () => {
    let fail = false;
    const log = open(config(), {
      fileOps: {
        write: (file: FileHandle, data: Buffer) => nodeFileOps.write(file, data),
        sync: async (file: FileHandle) => {
          if (fail) throw Object.assign(new Error('EIO'), { code: 'EIO' });
          await file.datasync();
        },
      },
    });
    await log.append(event('ok1'));
    fail = true;
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => log.append(event(`lost${i}`))),
    );
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect(isCofreError((r as PromiseRejectedResult).reason, 'COFRE_AUDIT_UNAVAILABLE')).toBe(true);
    }
    fail = false;
    await log.append(event('ok2'));
    await log.close();
    expect(ids(await checkChain([path]))).toEqual(['ok1', 'ok2']);
  });

  it('fails appends with COFRE_AUDIT_UNAVAILABLE while the file or its folder cannot be written, then recovers', async () => {
    await mkdir(path); // a directory where the file should be
    const log = open();
    const err = await log.append(event('r1')).catch((e: unknown) => e);
    expect(isCofreError(err, 'COFRE_AUDIT_UNAVAILABLE')).toBe(true);
    await rm(path, { recursive: true });
    await log.append(event('r2'));
    await log.close();

    const blocked = join(dir, 'not-a-folder');
    await writeFile(blocked, ''); // a file where the folder should be
    const nested = open({ ...config(), path: join(blocked, 'audit.jsonl') });
    expect(
      isCofreError(await nested.append(event('n1')).catch((e: unknown) => e), 'COFRE_AUDIT_UNAVAILABLE'),
    ).toBe(true);
    await rm(blocked);
    await nested.append(event('n2'));
    await nested.close();
    expect(ids(await checkChain([path]))).toEqual(['r2']);
    expect(ids(await checkChain([join(blocked, 'audit.jsonl')]))).toEqual(['n2']);
    expect((await stat(blocked)).mode & 0o777).toBe(0o700);
  });
});

describe('ChainedAuditLog crash recovery', () => {
  it('cuts a torn last line, reports it, and continues the chain from the last whole record', async () => {
    const first = open();
    await Promise.all([first.append(event('a')), first.append(event('b'))]);
    await first.close();
    const whole = await readFile(path, 'utf8');
    await appendFile(path, '{"v":1,"seq":4,"ts":"2026-'); // a crash mid-write
    const { told, reporter: r } = reporter();
    const second = new ChainedAuditLog(config(), { reporter: r });
    await second.append(event('c'));
    await second.close();
    expect(told.filter((t) => t.level === 'warn').map((t) => t.message)).toEqual([
      expect.stringContaining('cut a torn last line (26 bytes)'),
    ]);
    expect((await readFile(path, 'utf8')).startsWith(whole)).toBe(true);
    expect(ids(await checkChain([path]))).toEqual(['a', 'b', 'c']);
  });

  it('resumes after a last record longer than the 64 KiB it reads from the end at a time', async () => {
    const first = open();
    await first.append({ ...event('big'), detail: 'x'.repeat(150_000) });
    await first.close(); // the checkpoint is short; make the long record the last one
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.slice(0, text.lastIndexOf('\n', text.length - 2) + 1));
    const second = open();
    await second.append(event('after'));
    await second.close();
    expect(ids(await checkChain([path]))).toEqual(['big', 'after']);
  });

  it('refuses to extend a log whose last line is not a record', async () => {
    const first = open();
    await first.append(event('a'));
    await first.close();
    await appendFile(path, 'edited by hand\n');
    const second = open();
    const err = await second.append(event('b')).catch((e: unknown) => e);
    expect(isCofreError(err, 'COFRE_AUDIT_UNAVAILABLE')).toBe(true);
    expect(String((err as Error).cause)).toContain('not an audit record');
    await second.close().catch(() => undefined);
  });

  it('sets a log of the format before hash chaining aside and starts a new chain', async () => {
    await writeFile(path, '{"ts":"2026-11-01T00:00:00.000Z","kind":"intent","requestId":"old"}\n', {
      mode: 0o600,
    });
    const log = open(config(), { now: () => new Date('2026-11-30T06:00:00Z') });
    await log.append(event('new'));
    await log.close();
    expect(await readFile(`${path}.unchained-2026-11-30T06-00-00-000Z`, 'utf8')).toContain('"old"');
    expect(ids(await checkChain([path]))).toEqual(['new']);
  });
});

describe('ChainedAuditLog rotation', () => {
  it('rotates past maxSize and continues the chain in the new file with a continue record', async () => {
    const log = open(config({ maxSize: 2_000 }));
    for (let i = 0; i < 40; i++) await log.append(event(`r${i}`));
    await log.close();
    const rotated = await listRotated(path);
    expect(rotated.length).toBeGreaterThan(1);
    const files = [...rotated.map((f) => f.path), path];
    const records = await checkChain(files);
    expect(ids(records)).toEqual(Array.from({ length: 40 }, (_, i) => `r${i}`));
    const second = JSON.parse((await readFile(rotatedPath(path, 2), 'utf8')).split('\n')[0]!) as Record<
      string,
      unknown
    >;
    expect(second).toMatchObject({
      kind: 'continue',
      file: 1,
      prevFileSize: (await stat(rotatedPath(path, 1))).size,
    });
    expect(second['logId']).toBe(records[0]?.record['logId']);
  });

  it('keeps at most `keep` rotated files, and none older than maxAge', async () => {
    let now = new Date('2026-11-30T00:00:00Z');
    const c = config({ maxSize: 1_000, keep: 3, maxAge: 3_600_000 });
    const log = open(c, { now: () => now });
    for (let i = 0; i < 60; i++) await log.append(event(`r${i}`));
    await log.close(); // waits for a rotation after the last batch
    const kept = await listRotated(path);
    expect(kept.length).toBe(3);
    const newest = kept.at(-1)!.n;
    expect(kept.map((f) => f.n)).toEqual([newest - 2, newest - 1, newest]);
    // The newest chain still verifies from the first kept file on.
    const first = JSON.parse((await readFile(kept[0]!.path, 'utf8')).split('\n')[0]!) as {
      seq: number;
      prev: string;
    };
    await checkChain([...kept.map((f) => f.path), path], { firstSeq: first.seq, firstPrev: first.prev });

    const old = new Date('2026-11-29T00:00:00Z');
    await utimes(kept[0]!.path, old, old);
    now = new Date('2026-11-30T00:30:00Z');
    const again = open(c, { now: () => now });
    for (let i = 0; i < 12; i++) await again.append(event(`s${i}`)); // one more rotation prunes by age
    await again.close();
    const after = await listRotated(path);
    expect(after.map((f) => f.path)).not.toContain(kept[0]!.path);
    expect(after.length).toBeLessThanOrEqual(3);
  });
});

describe('ChainedAuditLog checkpoints', () => {
  it('writes a checkpoint every `every` records', async () => {
    const log = open(config({ every: 5 }));
    for (let i = 0; i < 12; i++) await log.append(event(`r${i}`));
    await log.close();
    const kinds = (await checkChain([path])).map((r) => r.record.kind[0]).join('');
    // g = genesis, i = intent, c = checkpoint (the last one at close)
    expect(kinds).toBe('giiiiiciiiiiciic');
  });

  it('writes a checkpoint each interval when records were written since, and none otherwise', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const log = open(config({ interval: 10_000 }));
    await log.append(event('a'));
    vi.advanceTimersByTime(10_000); // a record since the last checkpoint: one is queued
    await log.append(event('b')); // durable after the checkpoint queued before it
    vi.advanceTimersByTime(10_000);
    await log.append(event('c'));
    vi.advanceTimersByTime(10_000);
    await log.checkpoint(); // nothing since: writes nothing
    vi.advanceTimersByTime(30_000); // nothing since: no checkpoint
    await log.append(event('d'));
    await log.close();
    const kinds = (await checkChain([path])).map((r) => r.record.kind[0]).join('');
    expect(kinds).toBe('gicicicic');
  });

  it('copies each checkpoint line byte for byte to a file witness', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const witnessPath = join(dir, 'witness', 'checkpoints.jsonl');
    const log = open(config({ every: 3 }), {
      signingKey: privateKey,
      witnesses: [new FileWitness(witnessPath)],
    });
    for (let i = 0; i < 10; i++) await log.append(event(`r${i}`));
    await log.close();
    const checkpoints = (await checkChain([path]))
      .filter((r) => r.record.kind === 'checkpoint')
      .map((r) => r.line);
    expect(checkpoints.length).toBe(4);
    expect(await readFile(witnessPath, 'utf8')).toBe(checkpoints.map((l) => `${l}\n`).join(''));
    expect((await stat(witnessPath)).mode & 0o777).toBe(0o600);
  });

  it('reports a failing witness loudly and loses no audit record', async () => {
    const { told, reporter: r } = reporter();
    const broken = {
      name: 'broken',
      write: () => Promise.reject(new Error('down')),
      close: () => Promise.resolve(),
    };
    const log = new ChainedAuditLog(config({ every: 2 }), { reporter: r, witnesses: [broken] });
    for (let i = 0; i < 4; i++) await log.append(event(`r${i}`));
    await log.close();
    expect(ids(await checkChain([path]))).toEqual(['r0', 'r1', 'r2', 'r3']);
    expect(told.filter((t) => t.message.startsWith('AUDIT WITNESS FAILED: broken')).length).toBe(2);
  });
});

describe('ChainedAuditLog lock', () => {
  it('removes the lock of a process that is gone', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => child.once('exit', r));
    await writeFile(`${path}.lock`, `${child.pid}\n`);
    const log = open();
    await log.append(event('a'));
    await log.close();
    expect(ids(await checkChain([path]))).toEqual(['a']);
  });

  // Regression: a container's cofre restarted as pid 1 found its own pid in the lock left by its crash, and waited.
  it('removes a lock holding its own pid that it did not take (left by an earlier process with that pid)', async () => {
    await writeFile(`${path}.lock`, `${process.pid}\n`);
    const log = open();
    await log.append(event('a'));
    await log.close();
    expect(ids(await checkChain([path]))).toEqual(['a']);
  });

  it('fails with COFRE_AUDIT_UNAVAILABLE naming the lock file while a live process holds it', async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
    await writeFile(`${path}.lock`, `${holder.pid}\n`);
    const log = open(config(), { lockTimeoutMs: 50 });
    const err = await log.append(event('a')).catch((e: unknown) => e);
    expect(isCofreError(err, 'COFRE_AUDIT_UNAVAILABLE')).toBe(true);
    expect(String((err as Error).cause)).toContain(`${path}.lock`);
    holder.kill();
    await new Promise((r) => holder.once('exit', r));
    await log.append(event('b')); // the holder is gone: its lock is stale
    await log.close();
    expect(ids(await checkChain([path]))).toEqual(['b']);
  });

  it('leaves no lock behind when a process exits without closing the log', async () => {
    const script = fileURLToPath(new URL('./testdata/chain-writer.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        script,
        JSON.stringify({ path, prefix: 'x', count: 3, concurrency: 1, skipClose: true }),
      ],
      { cwd: fileURLToPath(new URL('../../', import.meta.url)), stdio: ['pipe', 'ignore', 'inherit'] },
    );
    child.stdin.write('go\n');
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(0);
    await expect(stat(`${path}.lock`)).rejects.toThrow(/ENOENT/);
    expect(ids(await checkChain([path]))).toEqual(['x-0', 'x-1', 'x-2']);
  }, 30_000);

  it('keeps one valid chain when two processes append at once', async () => {
    const script = fileURLToPath(new URL('./testdata/chain-writer.ts', import.meta.url));
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const writers = ['alpha', 'beta'].map((prefix) =>
      spawn(
        process.execPath,
        ['--import', 'tsx', script, JSON.stringify({ path, prefix, count: 300, concurrency: 16 })],
        {
          cwd: root,
          stdio: ['pipe', 'pipe', 'inherit'],
        },
      ),
    );
    const said = (child: (typeof writers)[number], word: string): Promise<void> =>
      new Promise((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.split('\n').includes(word)) resolve();
        });
        child.once('exit', (code) => {
          if (code === 0) resolve();
          else reject(new Error(`writer exited ${String(code)}`));
        });
      });
    await Promise.all(writers.map((w) => said(w, 'ready')));
    for (const w of writers) w.stdin.write('go\n');
    await Promise.all(writers.map((w) => said(w, 'done')));
    const records = await checkChain([path]);
    const got = ids(records) as string[];
    expect(got.length).toBe(600);
    for (const prefix of ['alpha', 'beta']) {
      // each process's records in its own order, none lost
      expect(got.filter((id) => id.startsWith(prefix))).toEqual(
        Array.from({ length: 300 }, (_, i) => `${prefix}-${i}`),
      );
    }
    expect(records.filter((r) => r.record.kind === 'genesis').length).toBe(1);
    // they really interleaved (otherwise this would not test the lock)
    const switches = got.filter((id, i) => i > 0 && id.slice(0, 4) !== got[i - 1]!.slice(0, 4)).length;
    expect(switches).toBeGreaterThan(1);
  }, 60_000);
});
