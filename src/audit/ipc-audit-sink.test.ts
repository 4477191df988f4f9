import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { CofreError } from '../errors.js';
import type { AppendOptions, AuditEvent, AuditSink } from './audit-log.js';
import { ChainedAuditLog } from './chained-audit-log.js';
import { serveAuditOverIpc } from './ipc-audit-sink.js';
import { checkChain } from './testdata/check-chain.js';

let dir: string;
let child: ChildProcess | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cofre-ipc-audit-'));
});
afterEach(async () => {
  child?.kill();
  child = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** Forks the appending child (through tsx, as `serve --workers` forks its workers), served by `sink`. */
async function startChild(sink: AuditSink): Promise<{ child: ChildProcess; lines: () => Promise<string[]> }> {
  const script = fileURLToPath(new URL('./testdata/ipc-audit-child.ts', import.meta.url));
  const forked = fork(script, [], {
    execArgv: ['--import', 'tsx'],
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    serialization: 'advanced',
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  child = forked;
  serveAuditOverIpc(sink, forked);
  let out = '';
  forked.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  await new Promise((ready) => forked.once('message', ready));
  return {
    child: forked,
    lines: async () => {
      while (!out.endsWith('\n')) await new Promise((r) => forked.stdout?.once('data', r));
      return JSON.parse(out.trim()) as string[];
    },
  };
}

/** A sink for the primary's side that records what it was asked and answers as told. */
class RecordingSink implements AuditSink {
  readonly calls: { event: AuditEvent; options: AppendOptions | undefined }[] = [];
  hold: Promise<void> | undefined;
  fail = false;
  async append(event: AuditEvent, options?: AppendOptions): Promise<void> {
    this.calls.push({ event, options });
    if (this.hold !== undefined) await this.hold;
    if (this.fail)
      throw new CofreError('COFRE_AUDIT_UNAVAILABLE', 'cannot append to the audit log /x/audit.jsonl');
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe('audit over IPC (serve --workers)', () => {
  it("appends every event of another process to one chain, sharing the primary's writer", async () => {
    const path = join(dir, 'audit.jsonl');
    const log = new ChainedAuditLog({
      path,
      checkpoint: { every: 1000, interval: 60_000 },
      rotate: { maxSize: 1024 ** 3, keep: 10 },
    });
    const { child: forked, lines } = await startChild(log);
    let messages = 0;
    forked.on('message', (m: { type?: string }) => {
      if (m.type === 'cofre-audit-append') messages++;
    });
    forked.send({ do: 'append', count: 20 });
    expect(await lines()).toEqual(Array(20).fill('ok'));
    // Appended in one turn of the child's event loop: one message carried them all.
    expect(messages).toBe(1);
    await log.close();
    const ids = (await checkChain([path])).flatMap((r) =>
      r.record.kind === 'intent' ? [r.record['requestId']] : [],
    );
    expect([...ids].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `req_${i}`).sort());
  });

  it('forwards how long each append waits, and fails closed on what the primary could not append', async () => {
    const sink = new RecordingSink();
    sink.fail = true;
    const { child: forked, lines } = await startChild(sink);
    forked.send({ do: 'append', count: 2 });
    expect(await lines()).toEqual(['COFRE_AUDIT_UNAVAILABLE', 'COFRE_AUDIT_UNAVAILABLE']);
    expect(sink.calls.map((c) => c.options)).toEqual([undefined, { wait: 'written' }]);
  });

  it('refuses an append waiting for its answer, and every later one, once the channel to the primary closes', async () => {
    const sink = new RecordingSink();
    sink.hold = new Promise(() => undefined); // the primary never answers
    const { child: forked, lines } = await startChild(sink);
    forked.send({ do: 'append-then-lose-the-channel' });
    await new Promise<void>((sent) => {
      forked.on('message', (m: { sent?: boolean }) => {
        if (m.sent === true) sent();
      });
    });
    forked.disconnect();
    expect(await lines()).toEqual(['COFRE_AUDIT_UNAVAILABLE', 'COFRE_AUDIT_UNAVAILABLE']);
    expect(sink.calls.map((c) => c.event.requestId)).toEqual(['req_pending']);
  });
});
