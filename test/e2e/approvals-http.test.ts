// Issue 9, approvals end to end: an agent's order over HTTP waits for operators (202 pending_approval), operators
// decide through the operator API (or `cofre approval approve` on the host, on the same state file), and the paper
// exchange counts what actually reached it: the bound order once, or nothing.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cli } from '../cli/cli-harness.js';
import { buyAtMarket } from '../resting-buy.js';
import {
  errorCodeOf,
  type HttpAnswer,
  type ServedFixture,
  startServedBroker,
  TRADER_POLICY,
} from './served-broker.js';

/** `approvals.expiry`: the schema's minimum. */
const EXPIRY_MS = 10_000;

let fx: ServedFixture;
let agent: string;
let quorumAgent: string;
const op: Record<string, string> = {};

beforeAll(async () => {
  fx = await startServedBroker((url, credentials) => [
    'accounts:',
    `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
    'agents: { quotas: { requestsPerSecond: 10000, burst: 10000, concurrency: 1000 } }',
    'policies:',
    ...TRADER_POLICY,
    '  board:',
    '    rules:',
    '      - name: two-of-three',
    '        approve: [place_order]',
    '        accounts: [paper]',
    '        approvers: { count: 2, of: [alice, bob, carol] }',
    '  capped:',
    '    rules:',
    '      - { name: large, approve: [place_order], accounts: [paper] }',
    '    limits:',
    '      - { name: daily, per: agent, window: 24h, notional: 1500, quote: USDT }',
    `approvals: { expiry: ${EXPIRY_MS / 1000}s }`,
  ]);
  agent = await fx.agentToken('trader-1', 'trader');
  quorumAgent = await fx.agentToken('board-bot', 'board');
  for (const id of ['alice', 'bob', 'carol', 'dave']) op[id] = await fx.operatorToken(id);
});

afterAll(async () => {
  await fx.close();
});

let next = 0;
/** A limit buy at the market price; 0.02 BTC is 1,200 USDT (needs approval), 0.005 is 300 (allowed). */
function place(amount = '0.02', token = agent, clientOrderId = `appr-${++next}`): Promise<HttpAnswer> {
  return fx.call('POST', '/v1/actions/place_order', token, buyAtMarket(amount, clientOrderId));
}

interface Pending {
  readonly requestId: string;
  readonly payloadHash: string;
}

/** Places an order that needs approval and checks the 202 answer. */
async function pending(token = agent, clientOrderId?: string): Promise<Pending> {
  const r = await place('0.02', token, clientOrderId);
  expect(r.status).toBe(202);
  expect(r.body).toMatchObject({
    status: 'pending_approval',
    approval: { payloadHash: expect.stringMatching(/^[0-9a-f]{64}$/), expiresAt: expect.any(String) },
  });
  const approval = r.body['approval'] as { payloadHash: string };
  return { requestId: String(r.body['requestId']), payloadHash: approval.payloadHash };
}

function poll(requestId: string, token = agent): Promise<HttpAnswer> {
  return fx.call('GET', `/v1/requests/${requestId}`, token);
}

function approve(p: Pending, operator: string, payloadHash = p.payloadHash): Promise<HttpAnswer> {
  return fx.call('POST', `/v1/operator/approvals/${p.requestId}/approve`, op[operator], { payloadHash });
}

const sent = (): number => fx.paper.orders().length;

describe('an order above the allow cap waits for an operator', () => {
  it('answers 202 pending_approval; the agent polls; one approval sends it exactly once', async () => {
    const before = sent();
    const p = await pending();
    const waiting = await poll(p.requestId);
    expect([waiting.status, waiting.body['status']]).toEqual([200, 'pending_approval']);
    expect(String(waiting.body['reason'])).toMatch(/get_request.*do not send it again/);
    expect(sent()).toBe(before);

    const approved = await approve(p, 'alice');
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({
      outcome: 'executed',
      response: { requestId: p.requestId, status: 'executed' },
      approval: { status: 'executed', approvals: [{ operator: 'alice' }] },
    });
    expect(sent()).toBe(before + 1);
    expect(fx.paper.orders().at(-1)).toMatchObject({ side: 'BUY', origQty: '0.02', price: '60000' });
    expect((await poll(p.requestId)).body).toMatchObject({ status: 'executed', requestId: p.requestId });
    // The audit log has the operator's vote and the intent it let through, naming who approved.
    const audit = readFileSync(join(fx.dir, 'audit.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes(p.requestId))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'operator', action: 'approve' }),
        expect.objectContaining({ kind: 'intent', decision: 'approval', approvedBy: 'alice' }),
        expect.objectContaining({ kind: 'outcome', status: 'executed' }),
      ]),
    );

    // Approving again, or the agent sending it again, never sends a second order.
    const again = await approve(p, 'bob');
    expect([again.status, errorCodeOf(again)]).toEqual([409, 'COFRE_APPROVAL_NOT_PENDING']);
    expect(sent()).toBe(before + 1);
  });

  it('keeps agent and operator tokens apart', async () => {
    const p = await pending();
    const byAgent = await fx.call('POST', `/v1/operator/approvals/${p.requestId}/approve`, agent, {
      payloadHash: p.payloadHash,
    });
    expect([byAgent.status, errorCodeOf(byAgent)]).toEqual([403, 'COFRE_OPERATOR_TOKEN_REQUIRED']);
    for (const path of ['/v1/operator/approvals', '/v1/operator/halt']) {
      expect(errorCodeOf(await fx.call('GET', path, agent))).toBe('COFRE_OPERATOR_TOKEN_REQUIRED');
    }
    const operatorAsAgent = [
      await fx.call('POST', '/v1/actions/place_order', op['alice'], { account: 'paper' }),
      await poll(p.requestId, op['alice']),
    ];
    const mcp = await fetch(`${fx.url}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${op['alice']}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    operatorAsAgent.push({ status: mcp.status, body: (await mcp.json()) as Record<string, unknown> });
    for (const r of operatorAsAgent) {
      expect([r.status, errorCodeOf(r)]).toEqual([403, 'COFRE_AGENT_TOKEN_REQUIRED']);
    }
    expect((await poll(p.requestId)).body['status']).toBe('pending_approval');
  });

  it('refuses a wrong or altered hash and sends nothing; the right hash still works', async () => {
    const before = sent();
    const p = await pending();
    const other = await pending();
    for (const hash of ['f'.repeat(64), other.payloadHash]) {
      const r = await approve(p, 'alice', hash);
      expect([r.status, errorCodeOf(r)]).toEqual([409, 'COFRE_APPROVAL_HASH_MISMATCH']);
    }
    const notAHash = await approve(p, 'alice', p.payloadHash.toUpperCase());
    expect([notAHash.status, errorCodeOf(notAHash)]).toEqual([400, 'COFRE_INPUT_INVALID']);
    expect(sent()).toBe(before);
    expect((await poll(p.requestId)).body['status']).toBe('pending_approval');
    expect((await approve(p, 'alice')).body).toMatchObject({ outcome: 'executed' });
    expect(sent()).toBe(before + 1);
  });

  it('executes once when two operators approve at the same moment', async () => {
    const before = sent();
    const p = await pending();
    const answers = await Promise.all([approve(p, 'alice'), approve(p, 'bob'), approve(p, 'carol')]);
    expect(sent()).toBe(before + 1);
    // Whoever lost the race is told so (409) or gets the one execution's answer; nobody gets a second order.
    for (const a of answers) expect([200, 409]).toContain(a.status);
    expect(answers.some((a) => a.body['outcome'] === 'executed')).toBe(true);
    expect((await poll(p.requestId)).body['status']).toBe('executed');
  });

  it('needs two distinct operators of [alice, bob, carol] for the two-of-three rule', async () => {
    const before = sent();
    const p = await pending(quorumAgent);
    const first = await approve(p, 'alice');
    expect(first.body).toMatchObject({ outcome: 'recorded', remaining: 1 });
    const twice = await approve(p, 'alice');
    expect([twice.status, errorCodeOf(twice)]).toEqual([409, 'COFRE_APPROVAL_ALREADY_VOTED']);
    const outsider = await approve(p, 'dave');
    expect([outsider.status, errorCodeOf(outsider)]).toEqual([403, 'COFRE_APPROVAL_NOT_APPROVER']);
    expect(sent()).toBe(before);
    expect((await poll(p.requestId, quorumAgent)).body['status']).toBe('pending_approval');

    const second = await approve(p, 'carol');
    expect(second.body).toMatchObject({
      outcome: 'executed',
      response: { status: 'executed' },
      approval: { approvals: [{ operator: 'alice' }, { operator: 'carol' }] },
    });
    expect(sent()).toBe(before + 1);
    expect((await poll(p.requestId, quorumAgent)).body['status']).toBe('executed');
  });

  it('denied: the agent sees why, nothing is sent, and the clientOrderId is free again', async () => {
    const before = sent();
    const p = await pending(agent, 'deny-me');
    const denied = await fx.call('POST', `/v1/operator/approvals/${p.requestId}/deny`, op['bob'], {
      comment: 'too large today',
    });
    expect(denied.body).toMatchObject({ approval: { status: 'denied', decidedBy: 'bob' } });
    const seen = await poll(p.requestId);
    expect(seen.body).toMatchObject({ status: 'denied', reason: expect.stringContaining('too large today') });
    expect((await approve(p, 'alice')).status).toBe(409);
    expect(sent()).toBe(before);

    // The same clientOrderId, now for an order policy allows outright: a new request, sent once.
    const reused = await place('0.005', agent, 'deny-me');
    expect(reused.body).toMatchObject({ status: 'executed' });
    expect(reused.body['requestId']).not.toBe(p.requestId);
    expect(reused.body['replayed']).toBeUndefined();
    expect(sent()).toBe(before + 1);
  });

  it('denied: the clientOrderId is free again even before the agent has looked', async () => {
    // Regression: it was refused with COFRE_IDEMPOTENCY_CONFLICT until someone had looked at the denied request.
    const before = sent();
    const p = await pending(agent, 'deny-unseen');
    await fx.call('POST', `/v1/operator/approvals/${p.requestId}/deny`, op['bob'], {});
    // No get_request in between: the agent just tries again, with an order policy allows.
    const reused = await place('0.005', agent, 'deny-unseen');
    expect(reused.body).toMatchObject({ status: 'executed' });
    expect(sent()).toBe(before + 1);
  });

  it('checks the limits again when it executes: the second of two approved orders past the cap is denied', async () => {
    const capped = await fx.agentToken('capped-1', 'capped');
    const before = sent();
    const first = await pending(capped);
    const second = await pending(capped); // each 1,200 USDT; 1,500 a day between them
    expect((await approve(first, 'alice')).body).toMatchObject({ response: { status: 'executed' } });
    const late = await approve(second, 'alice');
    expect(late.body).toMatchObject({
      outcome: 'executed',
      response: { status: 'denied', rule: expect.stringContaining('daily') },
    });
    expect(sent()).toBe(before + 1);
    expect((await poll(second.requestId, capped)).body['status']).toBe('denied');
  });

  it('sends nothing for an agent revoked while its request waited', async () => {
    const token = await fx.agentToken('short-lived', 'trader');
    const before = sent();
    const p = await pending(token);
    expect((await cli(fx.dir, ['agent', 'revoke', 'short-lived'])).code).toBe(0);
    const approved = await approve(p, 'alice');
    expect(approved.body).toMatchObject({
      response: { status: 'denied', reason: expect.stringContaining('revoked') },
    });
    expect(sent()).toBe(before);
    expect((await poll(p.requestId, token)).status).toBe(401);
  });

  it('`cofre approval approve` on the host executes it while the server runs on the same state file', async () => {
    const before = sent();
    const p = await pending();
    const approved = await cli(fx.dir, ['approval', 'approve', p.requestId, '--comment', 'checked']);
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(p.payloadHash);
    expect(approved.stderr).toMatch(/executed once: executed/);
    expect(sent()).toBe(before + 1);
    expect((await poll(p.requestId)).body).toMatchObject({ status: 'executed', requestId: p.requestId });
    const again = await cli(fx.dir, ['approval', 'approve', p.requestId]);
    expect(again.code).not.toBe(0);
    expect(sent()).toBe(before + 1);
  });

  it('executes once when an operator approves over HTTP while another approves on the host', async () => {
    const before = sent();
    const p = await pending();
    const [overHttp, onHost] = await Promise.all([
      approve(p, 'alice'),
      cli(fx.dir, ['approval', 'approve', p.requestId]),
    ]);
    expect(sent()).toBe(before + 1);
    expect(overHttp.body['outcome'] === 'executed' || onHost.code === 0).toBe(true);
    expect((await poll(p.requestId)).body['status']).toBe('executed');
  });

  it('a request still waits after a restart, and approving it then sends it once', async () => {
    const before = sent();
    const p = await pending();
    await fx.restart();
    expect((await poll(p.requestId)).body['status']).toBe('pending_approval');
    expect((await approve(p, 'bob')).body).toMatchObject({ response: { status: 'executed' } });
    expect(sent()).toBe(before + 1);
  });

  // Last in this file: it moves the broker's clock past the expiry.
  it('expired: cannot be approved, and the agent sees it denied; nothing is sent', async () => {
    const before = sent();
    const approvedLate = await pending();
    const neverTouched = await pending();
    const voted = await pending(quorumAgent);
    const unseen = await pending(agent, 'expire-unseen');
    expect((await approve(voted, 'bob')).body).toMatchObject({ outcome: 'recorded' });
    fx.advance(EXPIRY_MS + 1);

    const late = await approve(approvedLate, 'alice');
    expect([late.status, errorCodeOf(late)]).toEqual([409, 'COFRE_APPROVAL_NOT_PENDING']);
    const lateSecond = await approve(voted, 'carol');
    expect([lateSecond.status, errorCodeOf(lateSecond)]).toEqual([409, 'COFRE_APPROVAL_NOT_PENDING']);
    for (const [p, token] of [
      [approvedLate, agent],
      [neverTouched, agent],
      [voted, quorumAgent],
    ] as const) {
      expect((await poll(p.requestId, token)).body).toMatchObject({
        status: 'denied',
        reason: expect.stringContaining('no operator approved it before'),
      });
    }
    expect(sent()).toBe(before);

    // Its clientOrderId is free again, also when the agent never looked.
    expect((await place('0.005', agent, 'expire-unseen')).body).toMatchObject({ status: 'executed' });
    expect((await poll(unseen.requestId)).body).toMatchObject({ status: 'denied' });
    expect(sent()).toBe(before + 1);
  });
});
