// The operator API over HTTP, and the wall between operator and agent tokens, against a real broker, SQLite store
// and paper exchange. OperatorActions gets a small in-test BrokerControl that records its calls (and claims the
// execution in the real store, as the Broker does), so these tests pin the HTTP layer alone: routes, statuses,
// who decided. The same flows through the real Broker, counted at the paper exchange, are in
// test/e2e/approvals-http.test.ts and test/e2e/halt-burst.test.ts.
import { createHash } from 'node:crypto';

import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ActionResponse } from '../../src/broker/broker.js';
import type { BrokerControl, CancelAllReport } from '../../src/broker/broker-control.js';
import { OperatorActions } from '../../src/broker/operator-actions.js';
import { issueOperatorToken } from '../../src/broker/operator-tokens.js';
import type { ApprovalRecord, HaltState } from '../../src/state/control-store.js';
import { createHttpServer } from '../../src/surfaces/http/http-server.js';
import { startSurfaceFixture, type SurfaceFixture } from './surface-fixture.js';

const PAYLOAD = '{"order":{"amount":"0.5","symbol":"BTC/USDT"}}';
const HASH = createHash('sha256').update(PAYLOAD).digest('hex');

class RecordingControl implements BrokerControl {
  readonly calls: string[] = [];
  constructor(private readonly fx: SurfaceFixture) {}
  executeApproved(requestId: string, operator: string): Promise<ActionResponse> {
    this.calls.push(`execute ${requestId} by ${operator}`);
    const won = this.fx.state.claimApprovedForExecution(requestId, new Date());
    return Promise.resolve({ requestId, status: won ? 'executed' : 'failed' });
  }
  cancelAllOpenOrders(by: string): Promise<readonly CancelAllReport[]> {
    this.calls.push(`cancel-all by ${by}`);
    return Promise.resolve([{ account: 'paper', cancelled: 0 }]);
  }
  halt(state: HaltState): Promise<void> {
    this.calls.push(`halt ${state.reason}`);
    return Promise.resolve();
  }
  resume(): void {
    this.calls.push('resume');
  }
}

let fx: SurfaceFixture;
let app: FastifyInstance;
let control: RecordingControl;
let agentToken: string;
let alice: string;
let bob: string;
let revokedToken: string;

beforeAll(async () => {
  fx = await startSurfaceFixture();
  control = new RecordingControl(fx);
  agentToken = (await fx.issue('trader-1', 'trader')).token;
  alice = (await issueOperatorToken(fx.state, { id: 'alice', ttlMs: 3_600_000, now: new Date() })).token;
  bob = (await issueOperatorToken(fx.state, { id: 'bob', ttlMs: 3_600_000, now: new Date() })).token;
  const revoked = await issueOperatorToken(fx.state, { id: 'mallory', ttlMs: 3_600_000, now: new Date() });
  fx.state.revokeOperator('mallory', new Date());
  revokedToken = revoked.token;
  app = createHttpServer({
    broker: fx.broker,
    state: fx.state,
    logger: fx.logger,
    bodyLimit: 4096,
    operator: new OperatorActions({ store: fx.state, broker: control, logger: fx.logger }),
  });
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await fx.close();
});

function call(method: 'GET' | 'POST', url: string, token: string | undefined, body?: unknown) {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return app.inject({
    method,
    url,
    headers,
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
}

function errorCode(r: LightMyRequestResponse): string | undefined {
  return r.json<{ error?: { code?: string } }>().error?.code;
}

function createApproval(id: string, overrides: Partial<ApprovalRecord> = {}): void {
  fx.state.createApproval({
    requestId: id,
    agentId: 'trader-1',
    action: 'place_order',
    account: 'paper',
    payload: PAYLOAD,
    payloadHash: HASH,
    rule: 'policies.trader.rules[1]',
    required: 1,
    approvers: [],
    status: 'pending',
    approvals: [],
    decidedBy: undefined,
    comment: undefined,
    createdAt: new Date(),
    expiresAt: new Date(Date.now() + 600_000),
    decidedAt: undefined,
    ...overrides,
  });
}

const OPERATOR_ROUTES: readonly ['GET' | 'POST', string, unknown][] = [
  ['GET', '/v1/operator/approvals', undefined],
  ['GET', '/v1/operator/approvals/any', undefined],
  ['POST', '/v1/operator/approvals/any/approve', { payloadHash: HASH }],
  ['POST', '/v1/operator/approvals/any/deny', {}],
  ['GET', '/v1/operator/halt', undefined],
  ['POST', '/v1/operator/halt', { reason: 'x' }],
  ['POST', '/v1/operator/resume', {}],
];

describe('tokens: operators and agents never stand in for each other', () => {
  it.each(OPERATOR_ROUTES)(
    '%s %s refuses an agent token (403) and a missing or revoked one (401)',
    async (m, url, b) => {
      const byAgent = await call(m, url, agentToken, b);
      expect(byAgent.statusCode).toBe(403);
      expect(errorCode(byAgent)).toBe('COFRE_OPERATOR_TOKEN_REQUIRED');
      for (const token of [undefined, revokedToken, `${alice}x`]) {
        const r = await call(m, url, token, b);
        expect(r.statusCode).toBe(401);
        expect(errorCode(r)).toBe('COFRE_UNAUTHENTICATED');
      }
      expect(control.calls).toEqual([]);
      expect(fx.state.halted()).toBeUndefined();
    },
  );

  it('agent routes and /mcp refuse an operator token (403)', async () => {
    const attempts = [
      await call('POST', '/v1/actions/get_balance', alice, { account: 'paper' }),
      await call('GET', '/v1/requests/http_x', alice),
      await app.inject({
        method: 'POST',
        url: '/mcp',
        headers: {
          authorization: `Bearer ${alice}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        payload: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      }),
    ];
    for (const r of attempts) {
      expect(r.statusCode).toBe(403);
      expect(errorCode(r)).toBe('COFRE_AGENT_TOKEN_REQUIRED');
    }
    // The agent's own token still works there.
    expect((await call('POST', '/v1/actions/get_balance', agentToken, { account: 'paper' })).statusCode).toBe(
      200,
    );
  });
});

describe('approvals over HTTP', () => {
  it('lists and shows an approval with its payload and hash', async () => {
    createApproval('show-1');
    const list = await call('GET', '/v1/operator/approvals?status=pending', alice);
    expect(list.statusCode).toBe(200);
    expect(list.json<{ approvals: { requestId: string }[] }>().approvals.map((a) => a.requestId)).toContain(
      'show-1',
    );
    const shown = await call('GET', '/v1/operator/approvals/show-1', alice);
    expect(shown.json()).toMatchObject({
      requestId: 'show-1',
      status: 'pending',
      payload: { order: { amount: '0.5' } },
      payloadHash: HASH,
    });
    expect(errorCode(await call('GET', '/v1/operator/approvals?status=bogus', alice))).toBe(
      'COFRE_INPUT_INVALID',
    );
    const missing = await call('GET', '/v1/operator/approvals/none', alice);
    expect([missing.statusCode, errorCode(missing)]).toEqual([404, 'COFRE_APPROVAL_NOT_FOUND']);
  });

  it('records the first of two votes and executes on the second, as the operators the tokens name', async () => {
    createApproval('quorum-1', { required: 2, approvers: ['alice', 'bob'] });
    const first = await call('POST', '/v1/operator/approvals/quorum-1/approve', alice, {
      payloadHash: HASH,
      comment: 'ok by me',
    });
    expect(first.json()).toMatchObject({ outcome: 'recorded', remaining: 1 });
    const again = await call('POST', '/v1/operator/approvals/quorum-1/approve', alice, { payloadHash: HASH });
    expect([again.statusCode, errorCode(again)]).toEqual([409, 'COFRE_APPROVAL_ALREADY_VOTED']);
    const second = await call('POST', '/v1/operator/approvals/quorum-1/approve', bob, { payloadHash: HASH });
    expect(second.statusCode).toBe(200);
    expect(second.json()).toMatchObject({
      outcome: 'executed',
      response: { requestId: 'quorum-1', status: 'executed' },
      approval: {
        status: 'executed',
        approvals: [{ operator: 'alice', comment: 'ok by me' }, { operator: 'bob' }],
      },
    });
    expect(control.calls).toEqual(['execute quorum-1 by bob']);
  });

  it('refuses an altered hash (409), a non-approver (403), a body naming another operator (400)', async () => {
    createApproval('guarded-1', { approvers: ['bob'] });
    const altered = await call('POST', '/v1/operator/approvals/guarded-1/approve', bob, {
      payloadHash: 'e'.repeat(64),
    });
    expect([altered.statusCode, errorCode(altered)]).toEqual([409, 'COFRE_APPROVAL_HASH_MISMATCH']);
    const stranger = await call('POST', '/v1/operator/approvals/guarded-1/approve', alice, {
      payloadHash: HASH,
    });
    expect([stranger.statusCode, errorCode(stranger)]).toEqual([403, 'COFRE_APPROVAL_NOT_APPROVER']);
    const impersonating = await call('POST', '/v1/operator/approvals/guarded-1/approve', alice, {
      payloadHash: HASH,
      operator: 'bob',
    });
    expect([impersonating.statusCode, errorCode(impersonating)]).toEqual([400, 'COFRE_INPUT_INVALID']);
    expect(fx.state.approval('guarded-1')?.approvals).toEqual([]);
  });

  it('denies, after which it can be neither denied nor approved', async () => {
    createApproval('deny-1');
    const denied = await call('POST', '/v1/operator/approvals/deny-1/deny', bob, { comment: 'too large' });
    expect(denied.json()).toMatchObject({
      approval: { status: 'denied', decidedBy: 'bob', comment: 'too large' },
    });
    const twice = await call('POST', '/v1/operator/approvals/deny-1/deny', bob);
    expect([twice.statusCode, errorCode(twice)]).toEqual([409, 'COFRE_APPROVAL_NOT_PENDING']);
    const late = await call('POST', '/v1/operator/approvals/deny-1/approve', alice, { payloadHash: HASH });
    expect([late.statusCode, errorCode(late)]).toEqual([409, 'COFRE_APPROVAL_NOT_PENDING']);
  });

  it('refuses an expired approval', async () => {
    createApproval('expired-1', { createdAt: new Date(1_000), expiresAt: new Date(2_000) });
    expect((await call('GET', '/v1/operator/approvals/expired-1', alice)).json()).toMatchObject({
      status: 'expired',
    });
    const r = await call('POST', '/v1/operator/approvals/expired-1/approve', alice, { payloadHash: HASH });
    expect([r.statusCode, errorCode(r)]).toEqual([409, 'COFRE_APPROVAL_NOT_PENDING']);
  });
});

describe('the kill switch over HTTP', () => {
  it('halts (persisted), reports it, and resumes', async () => {
    expect((await call('GET', '/v1/operator/halt', alice)).json()).toEqual({ halted: false });
    expect(errorCode(await call('POST', '/v1/operator/halt', alice, {}))).toBe('COFRE_INPUT_INVALID');
    const halted = await call('POST', '/v1/operator/halt', alice, {
      reason: 'incident',
      cancelOpenOrders: true,
    });
    expect(halted.json()).toMatchObject({
      halt: { reason: 'incident', by: 'alice' },
      revokedAgents: [],
      cancelled: [{ account: 'paper', cancelled: 0 }],
    });
    expect(fx.state.halted()).toMatchObject({ reason: 'incident', by: 'alice' });
    expect((await call('GET', '/v1/operator/halt', bob)).json()).toMatchObject({ halted: true, by: 'alice' });
    expect((await call('POST', '/v1/operator/resume', bob)).json()).toEqual({ resumed: true });
    expect((await call('POST', '/v1/operator/resume', bob)).json()).toEqual({ resumed: false });
    expect(fx.state.halted()).toBeUndefined();
    expect(control.calls.slice(-4)).toEqual(['halt incident', 'cancel-all by alice', 'resume', 'resume']);
  });
});

describe('OpenAPI', () => {
  it('publishes the operator routes under the operator token', async () => {
    const doc = (await call('GET', '/v1/openapi.json', undefined)).json<{
      paths: Record<string, Record<string, { security: unknown; tags: string[] }>>;
      components: { securitySchemes: Record<string, unknown> };
    }>();
    expect(doc.components.securitySchemes).toHaveProperty('operatorToken');
    const operatorOps = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/v1/operator/'))
      .flatMap(([, ops]) => Object.values(ops));
    // These routes, and the console's 13 (issue 18; served with a broker's full operator actions, see
    // test/e2e/operator-api-http.test.ts).
    expect(operatorOps).toHaveLength(OPERATOR_ROUTES.length + 13);
    for (const op of operatorOps) {
      expect(op.security).toEqual([{ operatorToken: [] }]);
      expect(op.tags).toEqual(['operator']);
    }
  });
});
