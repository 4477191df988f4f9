// Issue 18, the operator API's background parts against a served broker: the audit chain's verification finds an
// edited record, and closing the server ends open event streams instead of waiting for them.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AuditStatusJson, AuditVerificationJson } from '../../src/surfaces/http/operator-api-types.js';
import { buyAtMarket } from '../resting-buy.js';
import { type ServedFixture, startServedBroker, TRADER_POLICY } from './served-broker.js';
import { openEventStream } from './sse-client.js';

let fx: ServedFixture;
let trader: string;
let op: string;

beforeAll(async () => {
  fx = await startServedBroker((url, credentials) => [
    'accounts:',
    `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
    'policies:',
    ...TRADER_POLICY,
  ]);
  trader = await fx.agentToken('trader-1', 'trader');
  op = await fx.operatorToken('alice');
  for (let i = 0; i < 3; i++) {
    const r = await fx.call('POST', '/v1/actions/place_order', trader, buyAtMarket('0.001', `life-${i}`));
    expect(r.body['status']).toBe('executed');
  }
});

afterAll(async () => {
  await fx.close();
});

async function verify(): Promise<AuditVerificationJson> {
  const started = await fx.call('POST', '/v1/operator/audit/verify', op, {});
  expect(started.status).toBe(202);
  const id = (started.body as unknown as AuditVerificationJson).id;
  for (let i = 0; i < 600; i++) {
    const status = (await fx.call('GET', '/v1/operator/audit', op)).body as unknown as AuditStatusJson;
    if (status.verification?.id === id && status.verification.state !== 'running') return status.verification;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('verification did not finish');
}

describe('audit verification', () => {
  it('passes on the log as written, then fails with findings once a record is edited', async () => {
    const stream = await openEventStream(`${fx.url}/v1/operator/events`, op);
    try {
      const passed = await verify();
      expect(passed).toMatchObject({ state: 'passed', findings: [] });
      // The page learns of it live, with its outcome.
      await stream.next(
        'audit-verification',
        (d) =>
          (d as AuditVerificationJson).id === passed.id && (d as AuditVerificationJson).state === 'passed',
      );
    } finally {
      stream.close();
    }
    // An edit in the middle of the log (the intent of the first order), as someone rewriting history would make.
    const path = join(fx.dir, 'audit.jsonl');
    const lines = readFileSync(path, 'utf8').split('\n');
    const index = lines.findIndex((l) => l.includes('"kind":"intent"'));
    expect(index).toBeGreaterThan(0);
    lines[index] = (lines[index] ?? '').replace('"trader-1"', '"someone-else"');
    writeFileSync(path, lines.join('\n'));
    const failed = await verify();
    expect(failed.state).toBe('failed');
    expect(failed.findings.length).toBeGreaterThan(0);
    expect(failed.findings.join('\n')).toMatch(/hash|prev/i);
    const recorded = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r['action'] === 'audit-verify');
    expect(recorded.map((r) => (r['detail'] as { outcome: string }).outcome)).toEqual(['passed', 'failed']);
  });

  it('runs one verification at a time: asking again while one runs returns it', async () => {
    const [a, b] = await Promise.all([
      fx.call('POST', '/v1/operator/audit/verify', op, {}),
      fx.call('POST', '/v1/operator/audit/verify', op, {}),
    ]);
    expect((a.body as unknown as AuditVerificationJson).id).toBe(
      (b.body as unknown as AuditVerificationJson).id,
    );
  });
});

describe('closing the server', () => {
  it('ends open event streams, so close() does not wait for their clients', async () => {
    const streams = [
      await openEventStream(`${fx.url}/v1/operator/events`, op),
      await openEventStream(`${fx.url}/v1/operator/events`, op),
    ];
    await streams[0]?.next('halt');
    // restart() closes the server first: with a stream left open, it would wait for the client to go.
    await fx.restart();
    await Promise.all(streams.map((s) => s.ended));
    // And the new server serves events again.
    const again = await openEventStream(`${fx.url}/v1/operator/events`, op);
    try {
      await again.next('approvals');
    } finally {
      again.close();
    }
  });
});
