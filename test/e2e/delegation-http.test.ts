// Issue 17, narrowing delegation end to end: agents of a served cofre mint narrower tokens for sub-agents over
// HTTP; the paper exchange counts what reached it. A child does only what its grant allows, spends its own budget
// and its parent's, waits for approval with its chain, and stops at its next request once any ancestor is revoked.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BTCUSDT, ETHUSDT } from '../../src/paper-exchange/spot-markets.js';
import { cli } from '../cli/cli-harness.js';
import { buyAtMarket } from '../resting-buy.js';
import { errorCodeOf, type HttpAnswer, type ServedFixture, startServedBroker } from './served-broker.js';

let fx: ServedFixture;
let alice: string;
let op: string;

beforeAll(async () => {
  fx = await startServedBroker(
    (url, credentials) => [
      'accounts:',
      `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
      `  spare: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
      'agents: { quotas: { requestsPerSecond: 10000, burst: 10000, concurrency: 1000 } }',
      'policies:',
      '  trader:',
      '    rules:',
      '      - { name: reads, allow: [list_accounts, get_limits, get_balance, get_ticker, preview_order], accounts: [paper, spare] }',
      '      - { name: small, allow: [place_order, cancel_order], accounts: [paper, spare], maxNotional: 1000 }',
      '      - { name: large, approve: [place_order], accounts: [paper], minNotional: 1000, maxNotional: 5000 }',
      '    limits:',
      '      - { name: daily, per: agent, window: 24h, notional: 2000, quote: USDT }',
    ],
    { symbols: [BTCUSDT, ETHUSDT], prices: { BTCUSDT: '60000', ETHUSDT: '3000' } },
  );
  alice = await fx.agentToken('alice', 'trader');
  op = await fx.operatorToken('olga');
});

afterAll(async () => {
  await fx.close();
});

let next = 0;
function order(token: string, amount: string, more: Record<string, unknown> = {}): Promise<HttpAnswer> {
  return fx.call('POST', '/v1/actions/place_order', token, {
    ...buyAtMarket(amount, `dlg-${++next}`),
    ...more,
  });
}

function delegate(token: string, body: Record<string, unknown>): Promise<HttpAnswer> {
  return fx.call('POST', '/v1/tokens/delegate', token, body);
}

async function minted(
  token: string,
  body: Record<string, unknown>,
): Promise<{ token: string; tokenId: string }> {
  const r = await delegate(token, body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return {
    token: String(r.body['token']),
    tokenId: (r.body['grant'] as { tokenId: string }).tokenId,
  };
}

function auditRecords(): Record<string, unknown>[] {
  return readFileSync(join(fx.dir, 'audit.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const sent = (): number => fx.paper.orders().length;

describe('POST /v1/tokens/delegate', () => {
  let scout: string;

  it('mints a narrower child token, shown once, audited without it', async () => {
    const r = await fx.call('POST', '/v1/tokens/delegate', alice, {
      name: 'scout',
      accounts: ['paper'],
      actions: ['place_order', 'get_limits', 'list_accounts'],
      symbols: ['BTC/USDT'],
      limits: [{ measure: 'notional', unit: 'USDT', window: '1h', cap: '700' }],
      ttl: '30m',
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      token: expect.stringMatching(/^cofre_st_/),
      agent: 'alice/scout',
      onBehalfOf: ['alice'],
      grant: {
        tokenId: expect.any(String),
        accounts: ['paper'],
        symbols: ['BTC/USDT'],
        limits: [{ measure: 'notional', unit: 'USDT', windowMs: 3_600_000, cap: '700' }],
      },
    });
    scout = String(r.body['token']);
    const response = await fetch(`${fx.url}/v1/tokens/delegate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'header-check', ttl: '1m' }),
    });
    expect(response.headers.get('cache-control')).toBe('no-store');
    const audit = readFileSync(join(fx.dir, 'audit.jsonl'), 'utf8');
    // SECURITY: the token is in the answer only: not in the audit log, not in the server's log lines.
    expect(audit).not.toContain(scout.split('.')[1]);
    expect(fx.logLines.join('\n')).not.toContain(scout.split('.')[1]);
    expect(auditRecords()).toContainEqual(
      expect.objectContaining({
        kind: 'intent',
        agent: 'alice',
        action: 'delegate',
        decision: 'allow',
        detail: expect.objectContaining({ child: 'alice/scout', expiresAt: expect.any(String) }),
      }),
    );
  });

  it('refuses a wider child with the reason, audited; and a bad request or no token', async () => {
    const wider = await delegate(scout, {
      name: 'w',
      accounts: ['spare'],
      actions: ['get_balance'],
      ttl: '2h',
    });
    expect(wider.status).toBe(403);
    expect(errorCodeOf(wider)).toBe('COFRE_DELEGATION_REFUSED');
    const message = (wider.body['error'] as { message: string }).message;
    expect(message).toContain('account "spare" is not yours to use (yours: paper)');
    expect(message).toContain('action get_balance is not yours to ask for');
    expect(message).toContain('ttl 2h');
    expect(auditRecords()).toContainEqual(
      expect.objectContaining({
        agent: 'alice/scout',
        onBehalfOf: ['alice'],
        action: 'delegate',
        decision: 'deny',
        detail: expect.objectContaining({ child: 'alice/scout/w' }),
      }),
    );
    expect(errorCodeOf(await delegate(alice, { name: 'Not Valid' }))).toBe('COFRE_INPUT_INVALID');
    expect((await delegate('cofre_st_AAAAAAAAAAAAAAAA.' + 'A'.repeat(43), { name: 'x' })).status).toBe(401);
  });

  it('lets the child do what its grant allows, and nothing else (nothing sent)', async () => {
    const before = sent();
    const placed = await order(scout, '0.005');
    expect(placed.status).toBe(200);
    expect(placed.body).toMatchObject({ status: 'executed', rule: 'policies.trader.rules[1] (small)' });
    expect(sent()).toBe(before + 1);

    const outside = [
      await order(scout, '0.005', { account: 'spare' }),
      await order(scout, '0.1', { symbol: 'ETH/USDT', price: '3000' }),
      await fx.call('POST', '/v1/actions/get_balance', scout, { account: 'paper' }),
    ];
    for (const r of outside) expect(r.body).toMatchObject({ status: 'denied', rule: 'delegation' });
    expect(outside.map((r) => r.body['reason'])).toEqual([
      'your delegated token may not use account "spare" (it may: paper)',
      'your delegated token may not use market ETH/USDT (it may: BTC/USDT)',
      'your delegated token may not ask for get_balance (it may: place_order, get_limits, list_accounts)',
    ]);
    expect(sent()).toBe(before + 1);

    const accounts = await fx.call('POST', '/v1/actions/list_accounts', scout, {});
    expect(accounts.body['result']).toEqual({ accounts: [expect.objectContaining({ account: 'paper' })] });
    const doc = await fx.call('GET', '/v1/openapi.json', scout);
    expect(Object.keys(doc.body['paths'] as object).filter((p) => p.startsWith('/v1/actions/'))).toEqual([
      '/v1/actions/list_accounts',
      '/v1/actions/get_limits',
      '/v1/actions/place_order',
      '/v1/actions/get_request',
    ]);
  });

  it("holds the child's own limit, and draws the child's orders from the parent's budget", async () => {
    expect((await order(scout, '0.005')).body['status']).toBe('executed'); // 600 of 700 USDT
    const over = await order(scout, '0.005');
    expect(over.body).toMatchObject({
      status: 'denied',
      rule: 'delegation grants[0].limits[0] (notional USDT per 1h)',
      reason: expect.stringContaining('600 used of 700'),
    });

    const limitsOf = async (token: string) =>
      (
        (await fx.call('POST', '/v1/actions/get_limits', token, {})).body['result'] as {
          limits: { limit: string; used: string }[];
        }
      ).limits;
    // The parent's agent-scoped limit counts the child's two orders; the child sees that budget and its own.
    expect(await limitsOf(alice)).toEqual([expect.objectContaining({ limit: 'daily', used: '600' })]);
    expect(await limitsOf(scout)).toEqual([
      expect.objectContaining({ limit: 'daily', used: '600' }),
      expect.objectContaining({
        limit: 'delegation grants[0].limits[0] (notional USDT per 1h)',
        used: '600',
      }),
    ]);

    // The parent spends 900 more; a second child without limits of its own is held by the parent's budget.
    expect((await order(alice, '0.015')).body['status']).toBe('executed');
    const wide = await minted(alice, { name: 'wide' });
    const before = sent();
    const denied = await order(wide.token, '0.01');
    expect(denied.body).toMatchObject({ status: 'denied', rule: 'daily' });
    expect(sent()).toBe(before);
  });

  it("runs a child's approved order later with its chain and grants, and not once its parent is revoked", async () => {
    const bob = await fx.agentToken('bob', 'trader');
    const helper = await minted(bob, { name: 'helper', actions: ['place_order'], symbols: ['BTC/USDT'] });
    const before = sent();
    // Its grant goes with it: a child whose own limit is below the order waits, and is denied by that limit when
    // approved (limits are reserved at approval), with nothing sent.
    const capped = await minted(bob, {
      name: 'capped',
      limits: [{ measure: 'notional', unit: 'USDT', window: '1h', cap: '1000' }],
    });
    const big = await order(capped.token, '0.02');
    expect(big.status).toBe(202);
    const refused = await fx.call(
      'POST',
      `/v1/operator/approvals/${String(big.body['requestId'])}/approve`,
      op,
      {
        payloadHash: (big.body['approval'] as { payloadHash: string }).payloadHash,
      },
    );
    expect(refused.body).toMatchObject({
      response: { status: 'denied', rule: 'delegation grants[0].limits[0] (notional USDT per 1h)' },
    });
    expect(sent()).toBe(before);

    const waiting = await order(helper.token, '0.02');
    expect(waiting.status).toBe(202);
    const approved = await fx.call(
      'POST',
      `/v1/operator/approvals/${String(waiting.body['requestId'])}/approve`,
      op,
      {
        payloadHash: (waiting.body['approval'] as { payloadHash: string }).payloadHash,
      },
    );
    expect(approved.body).toMatchObject({ outcome: 'executed' });
    expect(sent()).toBe(before + 1);
    // The approved request's limits were the chain root's: bob's daily budget holds the 1,200 USDT.
    const bobLimits = await fx.call('POST', '/v1/actions/get_limits', bob, {});
    expect(bobLimits.body['result']).toEqual({
      limits: [expect.objectContaining({ limit: 'daily', used: '1200' })],
    });
    expect(auditRecords()).toContainEqual(
      expect.objectContaining({
        kind: 'intent',
        requestId: waiting.body['requestId'],
        agent: 'bob/helper',
        onBehalfOf: ['bob'],
        approvedBy: 'olga',
      }),
    );

    const second = await order(helper.token, '0.02');
    expect(second.status).toBe(202);
    expect((await cli(fx.dir, ['agent', 'revoke', 'bob'])).code).toBe(0);
    const late = await fx.call(
      'POST',
      `/v1/operator/approvals/${String(second.body['requestId'])}/approve`,
      op,
      {
        payloadHash: (second.body['approval'] as { payloadHash: string }).payloadHash,
      },
    );
    expect(late.body).toMatchObject({
      response: { status: 'denied', reason: expect.stringContaining('revoked') },
    });
    expect(sent()).toBe(before + 1);
  });

  it('stops every descendant at its next request once an ancestor is revoked (agent token and session)', async () => {
    const carol = await fx.agentToken('carol', 'trader');
    const a = await minted(carol, { name: 'a' });
    const b = await minted(a.token, { name: 'b', actions: ['place_order', 'get_limits'] });
    const c = await minted(b.token, { name: 'c', ttl: '5m' });
    const limits = (token: string) => fx.call('POST', '/v1/actions/get_limits', token, {});
    for (const token of [carol, a.token, b.token, c.token]) expect((await limits(token)).status).toBe(200);

    // The grandchild's request is on record with its whole chain.
    const byC = await limits(c.token);
    expect(auditRecords()).toContainEqual(
      expect.objectContaining({
        requestId: byC.body['requestId'],
        agent: 'carol/a/b/c',
        onBehalfOf: ['carol/a/b', 'carol/a', 'carol'],
        via: 'delegation',
      }),
    );

    // A session in the middle of the chain: revoked, it and everything under it stop; above it goes on.
    expect(await fx.server.runtime.state.revokeAgentSession(b.tokenId, new Date())).toBe(true);
    for (const token of [b.token, c.token]) expect((await limits(token)).status).toBe(401);
    for (const token of [carol, a.token]) expect((await limits(token)).status).toBe(200);

    // The root agent's token: `cofre agent revoke` stops the rest of the chain too.
    const revoked = await cli(fx.dir, ['agent', 'revoke', 'carol']);
    // Its stderr with the code: a failed revoke says why (it failed once in a loaded CI run, unexplained).
    expect(revoked.code, revoked.stderr).toBe(0);
    // The sub-agents' tokens still live (a, c: b was revoked above) are revoked with it, not only left to die.
    expect(revoked.stderr).toContain("revoked 2 session tokens (its own and its sub-agents')");
    for (const token of [carol, a.token]) expect((await limits(token)).status).toBe(401);
    expect((await delegate(a.token, { name: 'late' })).status).toBe(401);
  });
});
