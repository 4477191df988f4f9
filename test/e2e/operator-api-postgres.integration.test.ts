// Issue 18, the operator API on PostgreSQL state (issue 16): requests, a story read from the audit chain in the
// database, limits with what an order used, and the chain's verification there.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { migrate } from '../../src/state/postgres/migrate.js';
import { PgDb } from '../../src/state/postgres/pg-db.js';
import type {
  AuditStatusJson,
  AuditVerificationJson,
  LimitsJson,
  RequestsJson,
  RequestStoryJson,
} from '../../src/surfaces/http/operator-api-types.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { type PostgresPeer, startPostgres } from '../peers/peers.js';
import { buyAtMarket } from '../resting-buy.js';
import { type ServedFixture, startServedBroker } from './served-broker.js';

const server: PostgresPeer | undefined = await peerOrSkip('PostgreSQL', startPostgres);

let fx: ServedFixture;
let agent: string;
let op: string;

beforeAll(async () => {
  if (server === undefined) return;
  const name = `t_operator_api_${process.pid}`;
  const admin = new pg.Client({ connectionString: server.connectionString });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = server.connectionString.replace('/postgres?', `/${name}?`);
  const db = new PgDb(new pg.Pool({ connectionString: url }));
  await migrate(db);
  await db.close();
  fx = await startServedBroker(
    (exchange, credentials) => [
      'accounts:',
      `  paper: { venue: binance, mode: paper, baseUrl: "${exchange}", ${credentials} }`,
      'policies:',
      '  limited:',
      '    rules:',
      '      - { name: small, allow: [place_order], accounts: [paper], maxNotional: 500 }',
      '    limits:',
      '      - { name: daily, per: agent, window: 24h, notional: 1500, quote: USDT }',
    ],
    {},
    {
      secrets: { 'state/url': url },
      state: 'state: { type: postgres, url: "local:state/url", ssl: disable }',
    },
  );
  agent = await fx.agentToken('pg-trader', 'limited');
  op = await fx.operatorToken('alice');
});

afterAll(async () => {
  if (server !== undefined) await fx.close();
  await server?.stop();
});

describe.skipIf(server === undefined)('the operator API on PostgreSQL state', () => {
  it('lists requests, tells a story from the chain in the database, and shows what an order used', async () => {
    const placed = await fx.call('POST', '/v1/actions/place_order', agent, buyAtMarket('0.005', 'pg-1'));
    expect(placed.body['status']).toBe('executed');
    const id = String(placed.body['requestId']);
    const denied = await fx.call('POST', '/v1/actions/place_order', agent, buyAtMarket('0.05', 'pg-2'));
    expect(denied.body['status']).toBe('denied');

    const list = (await fx.call('GET', '/v1/operator/requests?agent=pg-trader', op))
      .body as unknown as RequestsJson;
    expect(list.requests.map((r) => [r.requestId, r.status])).toEqual([
      [String(denied.body['requestId']), 'denied'],
      [id, 'executed'],
    ]);
    const executed = (await fx.call('GET', '/v1/operator/requests?status=executed', op))
      .body as unknown as RequestsJson;
    expect(executed.requests.map((r) => r.requestId)).toEqual([id]);

    const story = (await fx.call('GET', `/v1/operator/requests/${id}`, op))
      .body as unknown as RequestStoryJson;
    expect(story.audit.map((a) => a.kind)).toEqual(expect.arrayContaining(['intent', 'outcome']));

    const limits = (await fx.call('GET', '/v1/operator/limits', op)).body as unknown as LimitsJson;
    expect(limits.limits).toEqual([
      expect.objectContaining({ limit: 'daily', used: '300', remaining: '1200', agents: ['pg-trader'] }),
    ]);
  });

  it('verifies the chain kept in the database', async () => {
    const started = (await fx.call('POST', '/v1/operator/audit/verify', op, {}))
      .body as unknown as AuditVerificationJson;
    let status: AuditStatusJson | undefined;
    for (let i = 0; i < 600; i++) {
      status = (await fx.call('GET', '/v1/operator/audit', op)).body as unknown as AuditStatusJson;
      if (status.verification?.id === started.id && status.verification.state !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status).toMatchObject({ store: 'postgres', head: { seq: expect.any(Number) } });
    expect(status?.verification).toMatchObject({ state: 'passed', findings: [] });
    expect(status?.verification?.total).toBeGreaterThan(0);
  });
});
