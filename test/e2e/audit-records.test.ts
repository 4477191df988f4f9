// Issue 10, what is recorded: every secret read (reference HMAC'd, version, account or purpose, request), the
// SHA-256 of each venue write exactly as the exchange received it, through the broker as `cofre serve` wires it
// (openBrokerRuntime from YAML, embedded store with the audit keys `cofre init` creates) and the paper exchange.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AuditHasher } from '../../src/audit/audit-hasher.js';
import { auditHmac } from '../../src/audit/audit-hmac.js';
import { JsonlAuditLog } from '../../src/audit/audit-log.js';
import type { AuthenticatedAgent } from '../../src/broker/agent-tokens.js';
import { AuditedSecrets } from '../../src/broker/audited-secrets.js';
import type { ActionResponse } from '../../src/broker/broker.js';
import { openBrokerRuntime } from '../../src/broker/broker-runtime.js';
import type { ReceivedRequest } from '../../src/paper-exchange/paper-exchange.js';
import { SecretValue } from '../../src/secrets/secret-value.js';
import { openVenueAccount } from '../../src/venues/ccxt-venue-account.js';
import { type AttackFixture, startAttackFixture } from '../attacks/attack-fixture.js';
import { RESTING_BUY } from '../resting-buy.js';

const API_KEY_REF = 'local:exchanges/paper#apiKey';
const SECRET_REF = 'local:exchanges/paper#secret';

let fx: AttackFixture;
let trader: AuthenticatedAgent;
let hmacKey: Buffer;
let webhook: Server;
let notices = 0;
let noticed: () => void = () => undefined;

beforeAll(async () => {
  webhook = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      notices++;
      res.end();
      noticed();
    });
  });
  await new Promise<void>((done) => webhook.listen(0, '127.0.0.1', done));
  const hook = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/notice`;
  fx = await startAttackFixture((url, credentials) => [
    'accounts:',
    `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
    'addressBook:',
    '  cold-usdt: { asset: USDT, network: TRX, address: "TColdWalletAddressForAuditRecords0001" }',
    `approvals: { webhook: { url: "${hook}", key: "local:webhook/key", retries: 0 } }`,
    'policies:',
    '  trader:',
    '    rules:',
    '      - allow: [get_balance, cancel_order, cancel_all_orders]',
    '        accounts: [paper]',
    '      - allow: [place_order]',
    '        accounts: [paper]',
    '        maxNotional: 4000',
    '      - approve: [place_order]',
    '        accounts: [paper]',
    '        minNotional: 4000',
    '        maxNotional: 100000',
    '      - allow: [withdraw]',
    '        accounts: [paper]',
    '        destinations: [cold-usdt]',
  ]);
  const local = fx.runtime.resolver.backend('local');
  await local.write('webhook/key', SecretValue.fromText('webhook-signing-key-for-the-test'));
  const read = await local.read('audit/hmac-key', { kind: 'latest' });
  hmacKey = Buffer.from(read.value.bytes());
  read.value.zero();
  trader = await fx.agent('trader-1', 'trader');
});

afterAll(async () => {
  await fx.close();
  fx.remove();
  await new Promise((done) => webhook.close(done));
});

async function respond(action: string, input: unknown): Promise<ActionResponse> {
  const outcome = await fx.run(trader, action, input);
  if (!('response' in outcome)) throw new Error(`${action} threw ${outcome.thrown}: ${outcome.message}`);
  return outcome.response;
}

/** The records of one request, in the order they were written. */
const recordsOf = (requestId: string) => fx.audit().filter((l) => l['requestId'] === requestId);

/** SHA-256 of a request as the exchange received it, rebuilt from its raw parts: `<METHOD> <URL>\n<body>`. */
function receivedSha256(r: ReceivedRequest): string {
  const url = `${fx.paper.url}${r.path}${r.query === '' ? '' : `?${r.query}`}`;
  return createHash('sha256').update(`${r.method} ${url}\n${r.body}`, 'utf8').digest('hex');
}

/** Runs `action` and returns its answer with the non-GET requests the exchange received meanwhile. */
async function written(action: string, input: unknown) {
  const before = fx.paper.requests().length;
  const response = await respond(action, input);
  const writes = fx.paper
    .requests()
    .slice(before)
    .filter((r) => r.method !== 'GET');
  const outcome = recordsOf(response.requestId).find((l) => l['kind'] === 'outcome');
  const detail = outcome?.['detail'] as { sentSha256?: string[] } | undefined;
  return { response, writes, sent: detail?.sentSha256 };
}

const ORDER = RESTING_BUY;

describe('secret-access records', () => {
  it("records the audit keys read at start, HMAC'd, under no request", () => {
    const start = fx.audit().filter((l) => l['kind'] === 'secret-access' && l['requestId'] === '-');
    expect(start.map((l) => l['purpose'])).toEqual(['audit-signing-key', 'audit-hmac-key']);
    expect(start[1]).toMatchObject({
      reference: auditHmac(hmacKey, 'reference', 'local:audit/hmac-key'),
      version: expect.any(String),
    });
  });

  it('records each credential a request reads: HMAC of the reference, version, account, purpose, request', async () => {
    const balance = await respond('get_balance', { account: 'paper' });
    expect(balance.status).toBe('executed');
    const records = recordsOf(balance.requestId);
    const reads = records.filter((l) => l['kind'] === 'secret-access');
    const { stages } = await fx.runtime.resolver.backend('local').describe('exchanges/paper');
    const version = stages.current;
    expect(version).toBeDefined();
    expect(reads).toEqual(
      expect.arrayContaining(
        [API_KEY_REF, SECRET_REF].map((ref): unknown =>
          expect.objectContaining({
            kind: 'secret-access',
            requestId: balance.requestId,
            agent: 'trader-1',
            account: 'paper',
            purpose: 'venue-credentials',
            reference: auditHmac(hmacKey, 'reference', ref),
            version,
          }),
        ),
      ),
    );
    expect(reads).toHaveLength(2);
    // Right after the intent, in its batch (one timestamp, one sync), before the outcome: a credential is used
    // only once its read is on record with the intent of the request it is read for.
    const kinds = records.map((l) => l['kind']);
    expect(kinds.slice(0, 3)).toEqual(['intent', 'secret-access', 'secret-access']);
    expect(new Set(records.slice(0, 3).map((l) => l['ts'])).size).toBe(1);
    expect(kinds.lastIndexOf('secret-access')).toBeLessThan(kinds.indexOf('outcome'));
  });

  it('reads an order’s credentials once, in the batch of its intent, for all of its venue calls', async () => {
    const placed = await respond('place_order', { ...ORDER, clientOrderId: 'once-1' });
    expect(placed.status).toBe('executed');
    const records = recordsOf(placed.requestId);
    expect(records.map((l) => l['kind'])).toEqual(['intent', 'secret-access', 'secret-access', 'outcome']);
    expect(new Set(records.slice(0, 3).map((l) => l['ts'])).size).toBe(1);
  });

  it("records the webhook key's reads under the request awaiting approval", async () => {
    const heard = new Promise<void>((done) => {
      noticed = done;
    });
    const pending = await respond('place_order', { ...ORDER, amount: '0.2', clientOrderId: 'big-1' });
    expect(pending.status).toBe('pending_approval');
    await heard;
    expect(notices).toBeGreaterThan(0);
    const reads = recordsOf(pending.requestId).filter((l) => l['kind'] === 'secret-access');
    expect(reads).toEqual([
      expect.objectContaining({
        purpose: 'approval-webhook',
        agent: 'trader-1',
        reference: auditHmac(hmacKey, 'reference', 'local:webhook/key'),
        version: expect.any(String),
      }),
    ]);
  });
});

describe('request bytes', () => {
  it('records the SHA-256 of exactly what each write sent: order, cancel, cancel-all, withdrawal', async () => {
    const placed = await written('place_order', { ...ORDER, clientOrderId: 'rb-1' });
    const cancelled = await written('cancel_order', {
      account: 'paper',
      symbol: 'BTC/USDT',
      clientOrderId: 'rb-1',
    });
    await respond('place_order', { ...ORDER, clientOrderId: 'rb-2' });
    const all = await written('cancel_all_orders', { account: 'paper', symbol: 'BTC/USDT' });
    const withdrawal = await written('withdraw', {
      account: 'paper',
      asset: 'USDT',
      amount: '25',
      destination: 'cold-usdt',
      clientWithdrawId: 'rb-w-1',
    });
    for (const write of [placed, cancelled, all, withdrawal]) {
      expect(write.response.status).toBe('executed');
      expect(write.writes.length).toBeGreaterThan(0);
      expect(write.sent).toEqual(write.writes.map(receivedSha256));
    }
    // Not vacuous: the signature is part of what was hashed.
    expect(`${placed.writes[0]?.query ?? ''}${placed.writes[0]?.body ?? ''}`).toContain('signature=');
  });

  it('records the bytes of a write the venue refused too, and none for a read', async () => {
    const refused = await written('cancel_order', {
      account: 'paper',
      symbol: 'BTC/USDT',
      orderId: '999999',
    });
    expect(refused.response).toMatchObject({ status: 'failed', error: { code: 'COFRE_VENUE_REJECTED' } });
    expect(refused.sent).toEqual(refused.writes.map(receivedSha256));
    expect(refused.sent).toHaveLength(1);
    const read = await written('get_balance', { account: 'paper' });
    expect(read.sent).toBeUndefined();
  });
});

describe('fail closed', () => {
  it('never uses credentials whose read could not be recorded: nothing reaches the exchange', async () => {
    // A real audit log that cannot be written: its path is a directory.
    const broken = join(fx.auditPath, '..', 'broken-audit');
    mkdirSync(broken);
    const audit = new JsonlAuditLog(broken);
    const secrets = new AuditedSecrets({
      resolver: fx.runtime.resolver,
      audit,
      hasher: new AuditHasher(hmacKey),
    });
    const account = await openVenueAccount('paper', fx.config.accounts['paper'] as never, () =>
      secrets.venueCredentials('paper', fx.config),
    );
    const before = fx.paper.requests().length;
    try {
      await expect(
        account.placeOrder({
          symbol: 'BTC/USDT',
          side: 'buy',
          type: 'limit',
          amount: '0.001',
          price: '50000',
          clientOrderId: 'never-sent',
        }),
      ).rejects.toMatchObject({ code: 'COFRE_AUDIT_UNAVAILABLE' });
      // Markets may load (public, unsigned); nothing signed leaves.
      expect(
        fx.paper
          .requests()
          .slice(before)
          .filter((r) => r.signed),
      ).toEqual([]);
    } finally {
      await account.close();
      await audit.close();
    }
  });

  it('refuses to start when the audit keys it read cannot be recorded', async () => {
    const broken = join(fx.auditPath, '..', 'broken-at-start');
    mkdirSync(broken);
    const config = { ...fx.config, audit: { ...fx.config.audit, path: broken } };
    await expect(openBrokerRuntime(config, { logger: pino({ level: 'silent' }) })).rejects.toMatchObject({
      code: 'COFRE_AUDIT_UNAVAILABLE',
    });
  });
});
