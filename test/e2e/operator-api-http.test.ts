// Issue 18, the operator API the console uses, end to end over HTTP with bearer operator tokens against a served
// broker and the paper exchange: requests and their stories, limits, activity, agents and operators, the audit
// chain's verification, and the live events stream.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type {
  AgentAddedJson,
  AuditVerificationJson,
  LimitsJson,
  OperatorAddedJson,
  RequestsJson,
  RequestStoryJson,
} from '../../src/surfaces/http/operator-api-types.js';
import { cli } from '../cli/cli-harness.js';
import { buyAtMarket } from '../resting-buy.js';
import {
  errorCodeOf,
  type HttpAnswer,
  type ServedFixture,
  startServedBroker,
  TRADER_POLICY,
} from './served-broker.js';
import { openEventStream } from './sse-client.js';

let fx: ServedFixture;
let trader: string;
let limited: string;
let op: string;
const tokens: string[] = [];

beforeAll(async () => {
  fx = await startServedBroker((url, credentials) => [
    'accounts:',
    `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
    'agents: { quotas: { requestsPerSecond: 10000, burst: 10000, concurrency: 1000 } }',
    'policies:',
    ...TRADER_POLICY,
    '  limited:',
    '    rules:',
    '      - { name: small, allow: [place_order], accounts: [paper], maxNotional: 500 }',
    '      - { name: reads, allow: [get_balance], accounts: [paper] }',
    '    limits:',
    '      - { name: daily, per: agent, window: 24h, notional: 1500, quote: USDT }',
  ]);
  trader = await fx.agentToken('trader-1', 'trader');
  limited = await fx.agentToken('limited-1', 'limited');
  op = await fx.operatorToken('alice');
  tokens.push(trader, limited, op);
});

afterAll(async () => {
  await fx.close();
});

let next = 0;
function order(token: string, amount: string): Promise<HttpAnswer> {
  return fx.call('POST', '/v1/actions/place_order', token, buyAtMarket(amount, `op-api-${++next}`));
}

const get = (path: string, token = op): Promise<HttpAnswer> => fx.call('GET', path, token);
const post = (path: string, body: unknown = {}, token = op): Promise<HttpAnswer> =>
  fx.call('POST', path, token, body);

const NEW_ROUTES: readonly (readonly ['GET' | 'POST', string])[] = [
  ['GET', '/v1/operator/requests'],
  ['GET', '/v1/operator/requests/r-1'],
  ['GET', '/v1/operator/limits'],
  ['GET', '/v1/operator/activity'],
  ['GET', '/v1/operator/agents'],
  ['POST', '/v1/operator/agents'],
  ['POST', '/v1/operator/agents/trader-1/revoke'],
  ['GET', '/v1/operator/operators'],
  ['POST', '/v1/operator/operators'],
  ['POST', '/v1/operator/operators/alice/revoke'],
  ['GET', '/v1/operator/audit'],
  ['POST', '/v1/operator/audit/verify'],
  ['GET', '/v1/operator/events'],
];

describe('authentication', () => {
  it('refuses an agent token on every new route with COFRE_OPERATOR_TOKEN_REQUIRED, and no token with 401', async () => {
    for (const [method, path] of NEW_ROUTES) {
      const asAgent = await fx.call(method, path, trader, method === 'POST' ? { id: 'x' } : undefined);
      expect([path, asAgent.status, errorCodeOf(asAgent)]).toEqual([
        path,
        403,
        'COFRE_OPERATOR_TOKEN_REQUIRED',
      ]);
      const anonymous = await fx.call(method, path, undefined);
      expect([path, anonymous.status]).toEqual([path, 401]);
    }
    // Nothing was done on the agent's behalf.
    expect((await get('/v1/operator/agents')).body['agents']).toContainEqual(
      expect.objectContaining({ id: 'trader-1', status: 'active' }),
    );
  });
});

describe('the OpenAPI document', () => {
  it('documents every new route with its method, and the query parameters the routes take', async () => {
    const doc = (await fx.call('GET', '/v1/openapi.json', undefined)).body as {
      paths: Record<string, Record<string, { parameters?: { name: string }[] }>>;
    };
    for (const [method, path] of NEW_ROUTES) {
      const documented = path.replace('/r-1', '/{requestId}').replace(/\/(trader-1|alice)\//, '/{id}/');
      expect([documented, doc.paths[documented]?.[method.toLowerCase()] !== undefined]).toEqual([
        documented,
        true,
      ]);
    }
    const query = doc.paths['/v1/operator/requests']?.['get']?.parameters?.map((p) => p.name);
    expect(query).toEqual(['agent', 'account', 'status', 'action', 'limit', 'before']);
    const activity = doc.paths['/v1/operator/activity']?.['get']?.parameters?.map((p) => p.name);
    expect(activity).toEqual(['window', 'bucket']);
  });
});

describe('requests and their stories', () => {
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    const executed = await order(trader, '0.005'); // 300 USDT: allowed
    expect(executed.body['status']).toBe('executed');
    ids['executed'] = String(executed.body['requestId']);
    const pending = await order(trader, '0.02'); // 1,200 USDT: waits for an operator
    expect(pending.status).toBe(202);
    ids['pending'] = String(pending.body['requestId']);
    const denied = await order(trader, '0.1'); // 6,000 USDT: no rule allows it
    expect(denied.body['status']).toBe('denied');
    ids['denied'] = String(denied.body['requestId']);
    const balance = await fx.call('POST', '/v1/actions/get_balance', limited, { account: 'paper' });
    expect(balance.body['status']).toBe('executed');
    ids['balance'] = String(balance.body['requestId']);
  });

  it('lists them newest first, with the rule and reason of each', async () => {
    const r = await get('/v1/operator/requests?agent=trader-1');
    expect(r.status).toBe(200);
    const body = r.body as unknown as RequestsJson;
    expect(body.requests.slice(0, 3).map((q) => q.requestId)).toEqual([
      ids['denied'],
      ids['pending'],
      ids['executed'],
    ]);
    expect(body.requests[0]).toMatchObject({
      agent: 'trader-1',
      action: 'place_order',
      account: 'paper',
      status: 'denied',
      reason: expect.any(String),
    });
    expect(body.requests[1]).toMatchObject({
      status: 'pending_approval',
      rule: expect.stringContaining('(large)'),
    });
    expect(body.requests[2]).toMatchObject({
      status: 'executed',
      rule: expect.stringContaining('(small)'),
      errorCode: null,
    });
  });

  it('filters by agent, status, action and account', async () => {
    const ofStatus = (await get('/v1/operator/requests?status=pending_approval'))
      .body as unknown as RequestsJson;
    expect(ofStatus.requests.map((q) => q.requestId)).toEqual([ids['pending']]);
    const ofAction = (await get('/v1/operator/requests?action=get_balance')).body as unknown as RequestsJson;
    expect(ofAction.requests.map((q) => q.requestId)).toEqual([ids['balance']]);
    const ofAgent = (await get('/v1/operator/requests?agent=limited-1&account=paper'))
      .body as unknown as RequestsJson;
    expect(ofAgent.requests.map((q) => q.agent)).toEqual(['limited-1']);
    const none = (await get('/v1/operator/requests?account=elsewhere')).body as unknown as RequestsJson;
    expect(none).toEqual({ requests: [], nextBefore: null });
  });

  it('pages with nextBefore through every request once', async () => {
    for (let i = 0; i < 5; i++) await order(trader, '0.001');
    const all = ((await get('/v1/operator/requests?limit=500')).body as unknown as RequestsJson).requests;
    const seen: string[] = [];
    let before: string | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const query: string = `/v1/operator/requests?limit=2${before === null ? '' : `&before=${encodeURIComponent(before)}`}`;
      const page = (await get(query)).body as unknown as RequestsJson;
      expect(page.requests.length).toBeLessThanOrEqual(2);
      seen.push(...page.requests.map((q) => q.requestId));
      before = page.nextBefore;
      if (before === null) break;
    }
    expect(seen).toEqual(all.map((q) => q.requestId));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("tells one request's story: the stored answer, and its audit records from intent to outcome, with timings", async () => {
    const r = await get(`/v1/operator/requests/${ids['executed']}`);
    expect(r.status).toBe(200);
    const story = r.body as unknown as RequestStoryJson;
    expect(story.request).toMatchObject({ requestId: ids['executed'], status: 'executed' });
    expect(story.response).toMatchObject({ requestId: ids['executed'], status: 'executed' });
    expect(story.approval).toBeNull();
    const kinds = story.audit.map((a) => a.kind);
    expect(kinds).toContain('intent');
    expect(kinds.indexOf('outcome')).toBeGreaterThan(kinds.indexOf('intent'));
    for (const record of story.audit) expect(record.fields['requestId']).toBe(ids['executed']);
    expect(story.audit.map((a) => a.seq)).toEqual([...story.audit.map((a) => a.seq)].sort((a, b) => a - b));
    expect(story.timings.map((t) => t.seq)).toEqual(story.audit.map((a) => a.seq));
    expect(story.timings[0]?.afterMs).toBe(0);
    for (const t of story.timings) expect(t.afterMs).toBeGreaterThanOrEqual(0);
  });

  it('shows the approval of a request that waits for one, and its vote once cast', async () => {
    const pending = (await get(`/v1/operator/requests/${ids['pending']}`))
      .body as unknown as RequestStoryJson;
    expect(pending.approval).toMatchObject({
      requestId: ids['pending'],
      status: 'pending',
      rule: expect.stringContaining('(large)'),
    });
    const approve = await post(`/v1/operator/approvals/${ids['pending']}/approve`, {
      payloadHash: pending.approval?.payloadHash,
    });
    expect(approve.status).toBe(200);
    const done = (await get(`/v1/operator/requests/${ids['pending']}`)).body as unknown as RequestStoryJson;
    expect(done.request.status).toBe('executed');
    expect(done.approval).toMatchObject({ status: 'executed', approvals: [{ operator: 'alice' }] });
    const votes = done.audit.filter((a) => a.kind === 'operator' && a.fields['action'] === 'approve');
    expect(votes).toHaveLength(1);
  });

  it('answers 404 for an unknown request', async () => {
    const r = await get('/v1/operator/requests/nope');
    expect([r.status, errorCodeOf(r)]).toEqual([404, 'COFRE_REQUEST_NOT_FOUND']);
  });
});

describe('limits and activity', () => {
  it('shows every limit of every agent, with what an order used', async () => {
    const before = (await get('/v1/operator/limits')).body as unknown as LimitsJson;
    const daily = (l: LimitsJson) =>
      l.limits.find((x) => x.agents.includes('limited-1') && x.limit === 'daily');
    const usedBefore = Number(daily(before)?.used ?? 'NaN');
    expect((await order(limited, '0.005')).body['status']).toBe('executed'); // 300 USDT
    const after = (await get('/v1/operator/limits')).body as unknown as LimitsJson;
    expect(daily(after)).toMatchObject({
      cap: '1500',
      measure: 'notional',
      unit: 'USDT',
      windowMs: 86_400_000,
      policies: ['limited'],
      agents: ['limited-1'],
    });
    expect(Number(daily(after)?.used)).toBe(usedBefore + 300);
    expect(Number(daily(after)?.remaining)).toBe(1500 - usedBefore - 300);
    expect(after.policies).toEqual(['trader', 'limited']);
    expect(after.agents.map((a) => a.id)).toEqual(expect.arrayContaining(['trader-1', 'limited-1']));
    expect(new Set(after.limits.map((l) => l.key)).size).toBe(after.limits.length);
  });

  it('counts requests per bucket over a window', async () => {
    const r = await get('/v1/operator/activity?window=2h&bucket=30m');
    expect(r.status).toBe(200);
    const body = r.body as {
      windowMs: number;
      bucketMs: number;
      buckets: { executed: number; denied: number }[];
    };
    expect([body.windowMs, body.bucketMs, body.buckets.length]).toEqual([7_200_000, 1_800_000, 4]);
    const listed = ((await get('/v1/operator/requests?limit=500')).body as unknown as RequestsJson).requests;
    const sum = (key: 'executed' | 'denied') => body.buckets.reduce((n, b) => n + b[key], 0);
    expect(sum('executed')).toBe(listed.filter((q) => q.status === 'executed').length);
    expect(sum('denied')).toBe(listed.filter((q) => q.status === 'denied').length);
    expect(body.buckets.at(-1)?.executed).toBeGreaterThan(0);
  });
});

describe('agents and operators', () => {
  it('adds an agent whose token works once, then revokes it: 401', async () => {
    const added = await post('/v1/operator/agents', { id: 'console-bot', policy: 'limited', ttl: '1h' });
    expect(added.status).toBe(201);
    const body = added.body as unknown as AgentAddedJson;
    expect(body.agent).toMatchObject({ id: 'console-bot', policy: 'limited', status: 'active', sessions: 0 });
    tokens.push(body.token);
    const use = await fx.call('POST', '/v1/actions/get_balance', body.token, { account: 'paper' });
    expect(use.body['status']).toBe('executed');
    const listed = (await get('/v1/operator/agents')).body as {
      agents: { id: string }[];
      policies: string[];
    };
    expect(listed.policies).toEqual(['trader', 'limited']);
    expect(JSON.stringify(listed)).not.toContain(body.token);
    const revoked = await post('/v1/operator/agents/console-bot/revoke');
    expect(revoked.body).toEqual({ revoked: true, sessions: 0 });
    const refused = await fx.call('POST', '/v1/actions/get_balance', body.token, { account: 'paper' });
    expect(refused.status).toBe(401);
    const twice = await post('/v1/operator/agents', { id: 'trader-1', policy: 'trader' });
    expect([twice.status, errorCodeOf(twice)]).toEqual([400, 'COFRE_AGENT_EXISTS']);
    const again = await post('/v1/operator/agents/console-bot/revoke');
    expect([again.status, errorCodeOf(again)]).toEqual([404, 'COFRE_AGENT_NOT_FOUND']);
  });

  it('adds an operator whose token works, then revokes it', async () => {
    const added = await post('/v1/operator/operators', { id: 'bob' });
    expect(added.status).toBe(201);
    const body = added.body as unknown as OperatorAddedJson;
    expect(body.operator).toMatchObject({ id: 'bob', status: 'active', revokedAt: null });
    tokens.push(body.token);
    expect((await get('/v1/operator/approvals', body.token)).status).toBe(200);
    const listed = await get('/v1/operator/operators');
    expect(listed.body['operators']).toContainEqual(expect.objectContaining({ id: 'bob', status: 'active' }));
    expect((await post('/v1/operator/operators/bob/revoke')).body).toEqual({ revoked: true });
    const unknown = await post('/v1/operator/operators/nobody/revoke');
    expect([unknown.status, errorCodeOf(unknown)]).toEqual([404, 'COFRE_OPERATOR_NOT_FOUND']);
    expect((await get('/v1/operator/approvals', body.token)).status).toBe(401);
    const listedAfter = await get('/v1/operator/operators');
    expect(listedAfter.body['operators']).toContainEqual(
      expect.objectContaining({ id: 'bob', status: 'revoked' }),
    );
  });

  it('records each change with the acting operator and the token id, never a token', () => {
    const lines = readFileSync(join(fx.dir, 'audit.jsonl'), 'utf8').trim().split('\n');
    const changes = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r['kind'] === 'operator' && String(r['action']).match(/^(agent|operator)-/));
    expect(changes.map((r) => [r['action'], r['operator'], (r['detail'] as { id: string }).id])).toEqual([
      ['agent-add', 'alice', 'console-bot'],
      ['agent-revoke', 'alice', 'console-bot'],
      ['operator-add', 'alice', 'bob'],
      ['operator-revoke', 'alice', 'bob'],
    ]);
    for (const r of changes)
      expect((r['detail'] as { tokenId?: string }).tokenId).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });

  it('refuses bad input with 400 naming the field', async () => {
    const cases: [string, 'GET' | 'POST', unknown, RegExp][] = [
      ['/v1/operator/requests?limit=0', 'GET', undefined, /limit/],
      ['/v1/operator/requests?limit=abc', 'GET', undefined, /limit/],
      ['/v1/operator/requests?before=yesterday', 'GET', undefined, /before/],
      ['/v1/operator/requests?status=done', 'GET', undefined, /status/],
      ['/v1/operator/requests?colour=red', 'GET', undefined, /colour/],
      ['/v1/operator/activity?window=1y', 'GET', undefined, /window/],
      ['/v1/operator/activity?window=40d', 'GET', undefined, /window/],
      ['/v1/operator/activity?window=1h&bucket=2h', 'GET', undefined, /bucket/],
      ['/v1/operator/activity?window=31d&bucket=1m', 'GET', undefined, /bucket.*500/],
      ['/v1/operator/agents', 'POST', { id: 'Bad Id' }, /id/],
      ['/v1/operator/agents', 'POST', { id: 'ok', ttl: 'forever' }, /ttl/],
      ['/v1/operator/agents', 'POST', { id: 'ok', token: 'mine' }, /token/],
      ['/v1/operator/operators', 'POST', {}, /id/],
      ['/v1/operator/operators', 'POST', { id: 'carol', ttl: '10s' }, /ttl/],
      ['/v1/operator/agents/NOT%20OK/revoke', 'POST', {}, /id/],
      ['/v1/operator/audit/verify', 'POST', { now: true }, /now/],
    ];
    for (const [path, method, body, field] of cases) {
      const r = await fx.call(method, path, op, body);
      expect([path, r.status, errorCodeOf(r)]).toEqual([path, 400, 'COFRE_INPUT_INVALID']);
      expect((r.body['error'] as { message: string }).message).toMatch(field);
    }
  });

  it('names the policies when an agent is added with an unknown one', async () => {
    const r = await post('/v1/operator/agents', { id: 'typo-bot', policy: 'trdaer' });
    expect([r.status, errorCodeOf(r)]).toEqual([400, 'COFRE_INPUT_INVALID']);
    expect((r.body['error'] as { message: string }).message).toContain('policies: trader, limited');
    // Two policies: none is chosen for the operator.
    const none = await post('/v1/operator/agents', { id: 'typo-bot' });
    expect((none.body['error'] as { message: string }).message).toContain('policies: trader, limited');
    expect((await get('/v1/operator/agents')).body['agents']).not.toContainEqual(
      expect.objectContaining({ id: 'typo-bot' }),
    );
  });
});

describe('live events', () => {
  it('sends a snapshot on connect, an approvals event when an order waits, and a halt made on the host', async () => {
    const stream = await openEventStream(`${fx.url}/v1/operator/events`, op);
    try {
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(stream.headers.get('cache-control')).toBe('no-store');
      expect(stream.headers.get('x-accel-buffering')).toBe('no');
      const first = await stream.next('approvals');
      await stream.next('halt', (d) => !(d as { halted: boolean }).halted);
      await stream.next('requests');
      const pendingBefore = (first as { pending: number }).pending;
      const p = await order(trader, '0.02');
      expect(p.status).toBe(202);
      await stream.next('approvals', (d) => (d as { pending: number }).pending === pendingBefore + 1);
      // `cofre halt` on the host: another connection to the state file, which only polling can notice.
      expect((await cli(fx.dir, ['halt', '--reason', 'seen live'])).code).toBe(0);
      const halt = await stream.next('halt', (d) => (d as { halted: boolean }).halted);
      expect(halt).toMatchObject({ halted: true, reason: 'seen live' });
      expect((await cli(fx.dir, ['resume'])).code).toBe(0);
      await stream.next('halt', (d) => !(d as { halted: boolean }).halted);
    } finally {
      stream.close();
    }
  });
});

describe('audit chain', () => {
  it('shows the head and verifies a good log in the background, recording who asked', async () => {
    const status = await get('/v1/operator/audit');
    expect(status.body).toMatchObject({ store: 'file', head: { seq: expect.any(Number) } });
    const started = await post('/v1/operator/audit/verify');
    expect(started.status).toBe(202);
    const job = started.body as unknown as AuditVerificationJson;
    expect(job).toMatchObject({ state: 'running', by: 'alice' });
    const done = await waitForVerification(job.id);
    expect(done).toMatchObject({ state: 'passed', findings: [], by: 'alice' });
    expect(done.records).toBeGreaterThan(10);
    expect(done.total).toBeGreaterThanOrEqual(done.records - 1);
    const recorded = readFileSync(join(fx.dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r['action'] === 'audit-verify');
    expect(recorded.at(-1)).toMatchObject({
      operator: 'alice',
      detail: { verification: job.id, outcome: 'passed' },
    });
  });

  it('never lets a token into an audit line or a log line', () => {
    const audit = readFileSync(join(fx.dir, 'audit.jsonl'), 'utf8');
    const logs = fx.logLines.join('\n');
    for (const token of tokens) {
      const secret = token.slice(token.indexOf('.') + 1);
      expect(audit).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
  });
});

async function waitForVerification(id: string): Promise<AuditVerificationJson> {
  for (let i = 0; i < 600; i++) {
    const status = (await get('/v1/operator/audit')).body as { verification: AuditVerificationJson | null };
    if (status.verification?.id === id && status.verification.state !== 'running') return status.verification;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('verification did not finish');
}
