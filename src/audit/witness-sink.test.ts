import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import { afterEach, describe, expect, it } from 'vitest';

import { isCofreError } from '../errors.js';
import { openAuditLog } from './open-audit-log.js';
import { HttpWitness } from './witness-http.js';
import { createWitnesses } from './witness-sink.js';
import { StdoutWitness } from './witness-stdout.js';

const servers: { close: () => void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A loopback endpoint that answers 503 to the first `failFirst` requests, then 204, and keeps what it got. */
async function endpoint(failFirst: number): Promise<{ url: string; got: { type?: string; body: string }[] }> {
  const got: { type?: string; body: string }[] = [];
  let seen = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen += 1;
      if (seen <= failFirst) {
        res.writeHead(503).end();
        return;
      }
      got.push({
        ...(req.headers['content-type'] === undefined ? {} : { type: req.headers['content-type'] }),
        body,
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/witness`, got };
}

describe('witnesses', () => {
  it('stdout: writes each checkpoint line with a newline', async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString()));
    const w = new StdoutWitness(out);
    await w.write('{"kind":"checkpoint","seq":1}');
    await w.write('{"kind":"checkpoint","seq":2}');
    expect(chunks.join('')).toBe('{"kind":"checkpoint","seq":1}\n{"kind":"checkpoint","seq":2}\n');
  });

  it('http: POSTs each line as the JSON body, in order, retrying failed attempts', async () => {
    const { url, got } = await endpoint(2);
    const w = new HttpWitness(url, { timeoutMs: 2_000, backoffMs: 1 });
    await Promise.all([w.write('{"seq":1}'), w.write('{"seq":2}')]);
    await w.close();
    expect(got).toEqual([
      { type: 'application/json', body: '{"seq":1}' },
      { type: 'application/json', body: '{"seq":2}' },
    ]);
  });

  it('http: gives up after its attempts with an error naming the endpoint', async () => {
    const { url } = await endpoint(100);
    const w = new HttpWitness(url, { timeoutMs: 2_000, attempts: 3, backoffMs: 1 });
    await expect(w.write('{"seq":1}')).rejects.toThrow(/did not take the checkpoint after 3 attempts/);
  });

  it('http: refuses plain http beyond loopback', () => {
    let err: unknown;
    try {
      new HttpWitness('http://witness.example.com/cp', { timeoutMs: 1_000 });
    } catch (e) {
      err = e;
    }
    expect(isCofreError(err, 'COFRE_CONFIG_INVALID')).toBe(true);
    expect(() => new HttpWitness('https://witness.example.com/cp', { timeoutMs: 1_000 })).not.toThrow();
  });

  it('builds one witness per config entry', () => {
    const ws = createWitnesses([
      { type: 'file', path: '/tmp/w.jsonl' },
      { type: 'stdout' },
      { type: 'http', url: 'https://w.example/cp', timeout: 5_000 },
    ]);
    expect(ws.map((w) => w.name)).toEqual(['file /tmp/w.jsonl', 'stdout', 'http https://w.example/cp']);
  });
});

describe('openAuditLog', () => {
  it('opens the chained log of a config with its witnesses, the stdout one where the caller says', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cofre-open-audit-'));
    try {
      const out = new PassThrough();
      const chunks: string[] = [];
      out.on('data', (c: Buffer) => chunks.push(c.toString()));
      const log = openAuditLog(
        {
          path: join(dir, 'audit.jsonl'),
          checkpoint: { every: 1000, interval: 60_000 },
          witnesses: [{ type: 'stdout' }, { type: 'file', path: join(dir, 'w.jsonl') }],
          rotate: { maxSize: 64 * 1024 ** 2, keep: 100 },
        },
        { stdout: out },
      );
      await log.append({ kind: 'intent', requestId: 'r', agent: 'a', action: 'x' });
      await log.close();
      const checkpoint = (await readFile(join(dir, 'audit.jsonl'), 'utf8')).trim().split('\n').at(-1);
      expect(checkpoint).toContain('"kind":"checkpoint"');
      expect(chunks.join('')).toBe(`${checkpoint}\n`);
      expect(await readFile(join(dir, 'w.jsonl'), 'utf8')).toBe(`${checkpoint}\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
