// The approval webhook against real local HTTP receivers: the signature verifies with the key (checked here with
// node's own HMAC, not the code under test), failures are retried with backoff (delays recorded by an injected
// sleep, never waited for), redirects are not followed, and the key appears in no log line.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';

import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import { SecretResolver } from '../secrets/secret-resolver.js';
import { SecretValue } from '../secrets/secret-value.js';
import type { ApprovalRecord } from '../state/control-store.js';
import { MemoryBackend } from '../testing/memory-backend.js';
import {
  type ApprovalNotice,
  ApprovalWebhook,
  approvalWebhookFor,
  SIGNATURE_HEADER,
} from './approval-webhook.js';

const KEY = 'whsec-test-key-0123456789abcdefghijklmnopqrstuvwxyz';
const NOW = new Date('2026-11-30T05:00:00Z');

interface Received {
  readonly path: string;
  readonly body: string;
  readonly signature: string | undefined;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((done) => s.close(done))));
});

/** A receiver on loopback; `answer` picks the status of each request in turn. */
async function receiver(answer: (n: number, req: IncomingMessage, res: ServerResponse) => void) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        body,
        signature: req.headers[SIGNATURE_HEADER] as string | undefined,
      });
      answer(received.length, req, res);
    });
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received };
}

function verify(received: Received): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(received.signature ?? '');
  if (match === null) return false;
  const expected = createHmac('sha256', KEY).update(`${match[1]}.${received.body}`).digest();
  return (
    Number(match[1]) === NOW.getTime() / 1000 && timingSafeEqual(expected, Buffer.from(match[2] ?? '', 'hex'))
  );
}

function approval(): ApprovalRecord {
  return {
    requestId: 'req_1',
    agentId: 'bot-1',
    action: 'place_order',
    account: 'paper',
    payload: JSON.stringify({ order: { symbol: 'BTC/USDT', side: 'buy', amount: '0.5', notional: '30000' } }),
    payloadHash: 'ab'.repeat(32),
    rule: 'policies.trader.rules[2]',
    required: 2,
    approvers: ['alice', 'bob'],
    status: 'pending',
    approvals: [],
    decidedBy: undefined,
    comment: undefined,
    createdAt: NOW,
    expiresAt: new Date(NOW.getTime() + 900_000),
    decidedAt: undefined,
  };
}

function webhook(url: string, options: { retries?: number; timeoutMs?: number } = {}) {
  const logs: string[] = [];
  const sleeps: number[] = [];
  const keys: SecretValue[] = [];
  const hook = new ApprovalWebhook({
    url,
    key: () => {
      const key = SecretValue.fromText(KEY);
      keys.push(key);
      return Promise.resolve(key);
    },
    timeoutMs: options.timeoutMs ?? 5_000,
    retries: options.retries ?? 3,
    logger: pino(
      { level: 'debug' },
      new Writable({
        write(chunk: Buffer, _e, done) {
          logs.push(chunk.toString('utf8'));
          done();
        },
      }),
    ),
    now: () => NOW,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
  });
  return { hook, logs, sleeps, keys };
}

describe('ApprovalWebhook', () => {
  it('posts a notice whose signature verifies with the key', async () => {
    const { url, received } = await receiver((_n, _req, res) => res.writeHead(204).end());
    const { hook, logs, keys } = webhook(`${url}/hooks/cofre?channel=ops`);
    hook.notify(approval());
    await hook.idle();
    expect(received).toHaveLength(1);
    expect(received[0]?.path).toBe('/hooks/cofre?channel=ops');
    expect(verify(received[0]!)).toBe(true);
    expect(verify({ ...received[0]!, body: received[0]!.body.replace('0.5', '5') })).toBe(false);
    expect(JSON.parse(received[0]!.body) as ApprovalNotice).toEqual({
      type: 'approval.pending',
      requestId: 'req_1',
      agent: 'bot-1',
      account: 'paper',
      action: 'place_order',
      summary: {
        'order.symbol': 'BTC/USDT',
        'order.side': 'buy',
        'order.amount': '0.5',
        'order.notional': '30000',
      },
      payloadHash: 'ab'.repeat(32),
      rule: 'policies.trader.rules[2]',
      required: 2,
      approvers: ['alice', 'bob'],
      createdAt: NOW.toISOString(),
      expiresAt: new Date(NOW.getTime() + 900_000).toISOString(),
    });
    expect(keys.every((k) => k.zeroed)).toBe(true);
    expect(logs.join('')).not.toContain(KEY);
    expect(logs.join('')).not.toContain('channel=ops');
  });

  it('retries a receiver that fails twice, with backoff, until it succeeds', async () => {
    const { url, received } = await receiver((n, _req, res) => res.writeHead(n <= 2 ? 503 : 200).end());
    const { hook, sleeps, logs } = webhook(url);
    hook.notify(approval());
    await hook.idle();
    expect(received).toHaveLength(3);
    expect(received.every(verify)).toBe(true);
    expect(new Set(received.map((r) => r.body)).size).toBe(1);
    expect(sleeps).toEqual([1_000, 2_000]);
    expect(logs.join('')).toMatch(/approval notice delivered/);
    expect(logs.join('')).not.toContain(KEY);
  });

  it('gives up after its retries, and never follows a redirect', async () => {
    const elsewhere = await receiver((_n, _req, res) => res.writeHead(200).end());
    const { url, received } = await receiver((_n, _req, res) =>
      res.writeHead(307, { location: `${elsewhere.url}/steal` }).end(),
    );
    const { hook, sleeps, logs } = webhook(url, { retries: 2 });
    hook.notify(approval());
    await hook.idle();
    expect(received).toHaveLength(3);
    expect(elsewhere.received).toEqual([]);
    expect(sleeps).toEqual([1_000, 2_000]);
    expect(logs.join('')).toMatch(/given up/);
  });

  it('does not block the caller: notify returns before the receiver answers', async () => {
    let release: (() => void) | undefined;
    const { url, received } = await receiver((_n, _req, res) => {
      release = () => res.writeHead(200).end();
    });
    const { hook } = webhook(url);
    hook.notify(approval());
    expect(received).toHaveLength(0);
    await new Promise<void>((done) => {
      const check = (): void => {
        if (release !== undefined) done();
        else setImmediate(check);
      };
      check();
    });
    release?.();
    await hook.idle();
    expect(received).toHaveLength(1);
  });

  it('counts an unreachable receiver as a failure to retry', async () => {
    const { url } = await receiver((_n, _req, res) => res.writeHead(200).end());
    await new Promise((done) => servers.pop()?.close(done));
    const { hook, sleeps, logs } = webhook(url, { retries: 1 });
    hook.notify(approval());
    await hook.idle();
    expect(sleeps).toEqual([1_000]);
    expect(logs.join('')).toMatch(/could not connect/);
  });
});

describe('approvalWebhookFor', () => {
  it('signs with the key its reference resolves to, through the resolver', async () => {
    const { url, received } = await receiver((_n, _req, res) => res.writeHead(200).end());
    const backend = new MemoryBackend('mem');
    await backend.write('webhooks/approvals', SecretValue.fromText(KEY));
    const resolver = new SecretResolver({ backends: [backend] });
    const hook = approvalWebhookFor(
      { expiry: 900_000, webhook: { url, key: 'mem:webhooks/approvals', timeout: 5_000, retries: 0 } },
      resolver,
      pino({ level: 'silent' }),
    );
    expect(approvalWebhookFor({ expiry: 900_000 }, resolver, pino({ level: 'silent' }))).toBeUndefined();
    hook?.notify(approval());
    await hook?.close();
    await resolver.close();
    expect(received).toHaveLength(1);
    // Signed at the real clock here, so check the MAC only.
    const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(received[0]?.signature ?? '');
    const mac = createHmac('sha256', KEY).update(`${match?.[1]}.${received[0]?.body}`).digest('hex');
    expect(match?.[2]).toBe(mac);
  });
});
