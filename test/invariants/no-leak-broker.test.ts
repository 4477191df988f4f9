// SECURITY invariant: with canary exchange keys, run every action (and the failure paths) over HTTP and MCP, then
// search every response, MCP message, log line, audit line, the state database and the store for the keys in
// every encoding. Also: a write whose answer is lost is reported as failed-unknown and never resent, and an audit
// log that cannot be written stops the action before anything reaches the exchange.
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ActionResponse } from '../../src/broker/broker.js';
import { type PaperExchange, startPaperExchange } from '../../src/paper-exchange/paper-exchange.js';
import { BTCUSDT } from '../../src/paper-exchange/spot-markets.js';
import { tempDir } from '../cli/cli-harness.js';
import { RESTING_BUY } from '../resting-buy.js';
import { ALL_ACTIONS } from '../surfaces/surface-fixture.js';
import { encodingsOf, fragmentsOf, leaks, makeCanary } from './canary.js';
import { serveBrokerForTest, type ServedBroker } from './serve-for-test.js';

const apiKey = makeCanary();
const apiSecret = makeCanary();
// The paper exchange takes letters and digits only as an API key.
const keyValue = apiKey.value.replace(/-/g, '');
// Every encoding canary.ts knows (base64 at each alignment, hex in either case, JSON-escaped, URL-encoded...).
const keyEncodings = encodingsOf(keyValue);

const logLines: string[] = [];
const seen: string[] = []; // every response body and MCP message
let dir: string;
let remove: () => void;
let exchange: PaperExchange;
let served: ServedBroker;
let url: string;
let token: string;
let proxy: Server;
let proxyPosts = 0;
/** Attempts of the audit-failure test so far; each sets the log it found aside as `audit-kept-<n>`. */
let keptAudit = 0;

/** Every audit line written in this run: the live log and each log set aside. */
async function auditEvidence(): Promise<string> {
  const folders = (await readdir(dir)).filter((name) => name === 'audit' || name.startsWith('audit-kept-'));
  const texts = await Promise.all(
    folders.map((folder) => readFile(join(dir, folder, 'audit.jsonl'), 'utf8').catch(() => '')),
  );
  return texts.join('');
}

async function call(name: string, body: unknown): Promise<{ status: number; body: ActionResponse }> {
  const res = await fetch(`${url}/v1/actions/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  seen.push(text);
  return { status: res.status, body: JSON.parse(text) as ActionResponse };
}

/** A loopback proxy in front of the paper exchange that drops the connection of every order POST. */
function startDroppingProxy(target: string): Promise<Server> {
  const upstream = new URL(target);
  const s = createServer((req, res) => {
    if (req.method === 'POST' && req.url?.startsWith('/api/v3/order') === true) {
      proxyPosts++;
      // Forward it (so the exchange really takes the order), then lose the answer.
      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (up) => {
          up.resume();
          up.on('end', () => req.socket.destroy());
        },
      );
      req.pipe(forward);
      return;
    }
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    req.pipe(forward);
  });
  return new Promise((done) =>
    s.listen(0, '127.0.0.1', () => {
      done(s);
    }),
  );
}

beforeAll(async () => {
  ({ dir, remove } = tempDir());
  exchange = await startPaperExchange({
    accounts: [{ apiKey: keyValue, secret: apiSecret.value, balances: { USDT: '10000', BTC: '1' } }],
    symbols: [BTCUSDT],
    prices: { BTCUSDT: '60000' },
  });
  proxy = await startDroppingProxy(exchange.url);
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

  served = await serveBrokerForTest(
    dir,
    {
      keys: { apiKey: keyValue, secret: apiSecret.value },
      accounts: { paper: exchange.url, flaky: proxyUrl },
      actions: ALL_ACTIONS,
      agentId: 'canary-agent',
      auditPath: 'audit/audit.jsonl',
      witnessPath: 'witness/checkpoints.jsonl',
    },
    logLines,
  );
  ({ url, token } = served);
});

afterAll(async () => {
  await served.close();
  await exchange.stop();
  await new Promise((done) => proxy.close(done));
  remove();
});

describe('with canary exchange keys', () => {
  it('runs every action over HTTP', async () => {
    const order = RESTING_BUY;
    expect((await call('list_accounts', {})).body.status).toBe('executed');
    expect((await call('get_balance', { account: 'paper' })).body.status).toBe('executed');
    expect((await call('get_ticker', { account: 'paper', symbol: 'BTC/USDT' })).body.status).toBe('executed');
    expect((await call('preview_order', order)).body.status).toBe('executed');
    const placed = await call('place_order', { ...order, clientOrderId: 'canary-1' });
    expect(placed.body.status).toBe('executed');
    expect((await call('get_open_orders', { account: 'paper' })).body.status).toBe('executed');
    expect(
      (await call('get_order', { account: 'paper', symbol: 'BTC/USDT', clientOrderId: 'canary-1' })).body
        .status,
    ).toBe('executed');
    expect(
      (await call('cancel_order', { account: 'paper', symbol: 'BTC/USDT', clientOrderId: 'canary-1' })).body
        .status,
    ).toBe('executed');
    expect((await call('get_request', { requestId: placed.body.requestId })).body.requestId).toBe(
      placed.body.requestId,
    );
    // Failure paths: venue rejections, bad input, denials.
    expect(
      (await call('place_order', { ...order, amount: '100', clientOrderId: 'canary-2' })).body.status,
    ).toBe('failed');
    expect(
      (await call('cancel_order', { account: 'paper', symbol: 'BTC/USDT', orderId: '999999' })).body.status,
    ).toBe('failed');
    expect((await call('get_ticker', { account: 'paper', symbol: 'NOPE/USDT' })).body.status).toBe('failed');
    expect((await call('get_balance', { account: 'other' })).status).toBe(403);
    expect((await call('get_balance', '{"account":')).status).toBe(400);
    expect((await call('get_balance', { account: 'paper\r\nX-Injected: 1' })).status).toBe(400);
    expect((await call('place_order', { ...order, amount: '-1', clientOrderId: 'canary-3' })).status).toBe(
      400,
    );
    expect((await call('place_order', { ...order, amount: '1e400', clientOrderId: 'canary-4' })).status).toBe(
      400,
    );
    expect((await call('nope', {})).status).toBe(400);
  });

  it('runs actions over MCP', async () => {
    const client = new Client({ name: 'canary', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    await client.connect(transport);
    // Record every MCP message the client receives, then hand it on (connect installed the client's handler).
    const deliver = transport.onmessage;
    transport.onmessage = (message) => {
      seen.push(JSON.stringify(message));
      deliver?.(message);
    };
    try {
      for (const [name, args] of [
        ['get_balance', { account: 'paper' }],
        ['get_open_orders', { account: 'paper' }],
        [
          'place_order',
          {
            account: 'paper',
            symbol: 'BTC/USDT',
            side: 'buy',
            type: 'market',
            amount: '0.001',
            clientOrderId: 'canary-mcp',
          },
        ],
        ['get_order', { account: 'paper', symbol: 'BTC/USDT', clientOrderId: 'canary-mcp' }],
      ] as const) {
        seen.push(JSON.stringify(await client.callTool({ name, arguments: args })));
      }
    } finally {
      await client.close();
    }
  });

  it('reports a write whose answer was lost as failed-unknown and never sends it again', async () => {
    const order = {
      account: 'flaky',
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'market',
      amount: '0.001',
      clientOrderId: 'lost-1',
    };
    const first = await call('place_order', order);
    expect(first.body).toMatchObject({
      status: 'failed',
      error: { code: 'COFRE_VENUE_OUTCOME_UNKNOWN', retryable: false },
    });
    const again = await call('place_order', order);
    expect(again.body).toEqual({ ...first.body, replayed: true });
    expect(proxyPosts).toBe(1);
    // The order did reach the exchange: asking for it by clientOrderId finds it.
    const found = await call('get_order', { account: 'paper', symbol: 'BTC/USDT', clientOrderId: 'lost-1' });
    expect(found.body.status).toBe('executed');
  });

  it('refuses the action when the audit log cannot be written, before anything reaches the exchange', async () => {
    const auditDir = join(dir, 'audit');
    // Signed requests only: a public ticker read may precede the intent (the reference price expires after 1 s,
    // which a loaded machine can take between two tests); nothing signed may.
    const signed = (): number => exchange.requests().filter((r) => r.signed).length;
    const requestsBefore = signed();
    // The log so far is the evidence the leak check below searches: set it aside, never delete it, under a name of
    // its own per attempt, so a retry of this test keeps the first attempt's lines too.
    keptAudit++;
    await rename(auditDir, join(dir, `audit-kept-${keptAudit}`)).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    });
    await mkdir(join(auditDir, 'audit.jsonl'), { recursive: true }); // a directory where the log file must be
    try {
      const refused = await call('place_order', {
        account: 'paper',
        symbol: 'BTC/USDT',
        side: 'buy',
        type: 'market',
        amount: '0.001',
        clientOrderId: 'no-audit',
      });
      expect(refused.status).toBe(503);
      expect(JSON.stringify(refused.body)).toContain('COFRE_AUDIT_UNAVAILABLE');
      expect(signed()).toBe(requestsBefore);
    } finally {
      // Only the directory in the log file's place: the folder is the server's, which may still be taking or
      // letting go of its lock file in it when the refusal is answered.
      await rm(join(auditDir, 'audit.jsonl'), { recursive: true, force: true });
    }
    // Nothing was sent, so the same clientOrderId may be used once the log works again.
    const retried = await call('place_order', {
      account: 'paper',
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'market',
      amount: '0.001',
      clientOrderId: 'no-audit',
    });
    expect(retried.body.status, JSON.stringify(retried.body)).toBe('executed');
  });

  it('scrubs a deliberate debug log of an error whose message, cause and fields embed the keys', () => {
    // What a careless caller could write: the keys in an error message, its cause, a field and a Buffer.
    const keyBytes = Buffer.from(keyValue);
    const cause = new Error(`venue echoed ${keyBytes.toString('base64')} and ${keyBytes.toString('hex')}`);
    const err = new Error(`signing with ${apiSecret.value} for ${keyValue} failed`, { cause });
    served.logger.debug({ err, body: keyBytes, query: `k=${encodeURIComponent(keyValue)}` }, 'deliberate');
    served.logger.trace(
      `secret ${JSON.stringify(apiSecret.value)} ${Buffer.from(apiSecret.value).toString('base64url')}`,
    );
    // A venue that echoes the key in pieces.
    served.logger.debug({ pieces: [keyValue.slice(0, 20), keyValue.slice(20)] }, 'deliberate pieces');
    const deliberate = logLines.filter((line) => line.includes('deliberate') || line.includes('"level":10'));
    expect(deliberate.length).toBeGreaterThanOrEqual(3);
    expect(deliberate.some((line) => line.includes('signing with [REDACTED] for [REDACTED] failed'))).toBe(
      true,
    );
  });

  it('leaks the keys nowhere: responses, MCP messages, logs, audit, state database', async () => {
    expect(seen.length).toBeGreaterThan(20);
    expect(logLines.length).toBeGreaterThan(5);
    // Not vacuous: lines at debug and trace level were written and are searched like the rest.
    expect(logLines.some((line) => line.startsWith('{"level":20'))).toBe(true);
    expect(logLines.some((line) => line.startsWith('{"level":10'))).toBe(true);
    const audit = await auditEvidence();
    // Not vacuous: the lines of the first actions survived the test that breaks the log.
    expect(audit).toContain('"clientOrderId":"canary-1"');
    // The audit witness holds copies of checkpoint lines only; searched like the log itself.
    const witness = await readFile(join(dir, 'witness/checkpoints.jsonl'), 'utf8');
    expect(witness).toContain('"kind":"checkpoint"');
    const files = [await readFile(join(dir, 'state.db')), await readFile(join(dir, 'cofre.store')), witness];
    const wal = await readFile(join(dir, 'state.db-wal')).catch(() => Buffer.alloc(0));
    for (const text of [...seen, ...logLines, audit, ...files, wal]) {
      expect(leaks(text, keyEncodings)).toEqual([]);
      expect(leaks(text, apiSecret.encodings)).toEqual([]);
    }
    // Log lines are scrubbed by value down to runs of 8 characters (16 hex digits): no fragment of either key either.
    const fragments = [...fragmentsOf(keyValue), ...fragmentsOf(apiSecret.value)];
    for (const line of logLines) expect(leaks(line, fragments)).toEqual([]);
    // Not vacuous: the exchange did receive the key, and signed requests.
    expect(exchange.requests().some((r) => r.apiKey === keyValue && r.verified)).toBe(true);
  });

  it('audits every secret read by HMAC only: no reference, path or audit key in any audit line', async () => {
    const audit = await auditEvidence();
    const reads = audit
      .split('\n')
      .filter((l) => l.includes('"kind":"secret-access"'))
      .map((l) => JSON.parse(l) as { reference?: string; purpose?: string });
    // Not vacuous: the credential reads and the audit keys' own reads are on record, HMAC'd.
    expect(reads.filter((r) => r.purpose === 'venue-credentials').length).toBeGreaterThan(4);
    expect(reads.map((r) => r.purpose)).toEqual(
      expect.arrayContaining(['audit-signing-key', 'audit-hmac-key']),
    );
    for (const read of reads) expect(read.reference).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    const identifiers = [
      'local:exchanges/paper#apiKey',
      'local:exchanges/paper#secret',
      'exchanges/paper',
      'audit/hmac-key',
      'audit/signing-key',
    ];
    const local = served.runtime.resolver.backend('local');
    const hmacKey = await local.read('audit/hmac-key', { kind: 'latest' });
    const signingKey = await local.read('audit/signing-key', { kind: 'latest' });
    const keyBytes = [hmacKey.value.bytes(), signingKey.value.bytes()];
    const keyForms = keyBytes.flatMap((b) => [
      b.toString('hex'),
      b.toString('base64'),
      b.toString('base64url'),
    ]);
    // The PEM's base64 body, line by line (any line of it would leak part of the key).
    const pemLines = signingKey.value
      .text()
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('-----'));
    try {
      // References may name a secret in the server log (errors name references); the audit log never holds one.
      for (const id of identifiers) expect(leaks(audit, encodingsOf(id))).toEqual([]);
      for (const text of [audit, ...logLines, ...seen]) {
        expect(leaks(text, keyForms)).toEqual([]);
        expect(leaks(text, pemLines)).toEqual([]);
      }
    } finally {
      hmacKey.value.zero();
      signingKey.value.zero();
    }
  });
});
