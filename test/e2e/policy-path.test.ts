// Issue 9 end to end on the broker as `cofre serve` wires it (openBrokerRuntime from YAML, embedded store, SQLite
// state, audit log, ccxt) in front of the paper exchange, which counts what actually reached it: resolved orders,
// caps, rolling limits under concurrency, approvals bound to their payload, withdrawals to labels, the kill switch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AuthenticatedAgent } from '../../src/broker/agent-tokens.js';
import type { ActionResponse } from '../../src/broker/broker.js';
import { type AttackFixture, startAttackFixture } from '../attacks/attack-fixture.js';

const COLD_ADDRESS = 'TColdWalletAddressThatAgentsNeverSee0001';

let fx: AttackFixture;
let trader: AuthenticatedAgent;
let reader: AuthenticatedAgent;

beforeAll(async () => {
  fx = await startAttackFixture((url, credentials) => [
    'accounts:',
    `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
    'agents: { quotas: { requestsPerSecond: 10000, burst: 10000, concurrency: 1000 } }',
    'addressBook:',
    `  cold-usdt: { asset: USDT, network: TRX, address: "${COLD_ADDRESS}" }`,
    'policies:',
    '  trader:',
    '    rules:',
    '      - allow: [list_accounts, get_limits, get_balance, get_ticker, get_open_orders, get_order, preview_order, cancel_order, cancel_all_orders]',
    '        accounts: [paper]',
    '      - name: small',
    '        allow: [place_order]',
    '        accounts: [paper]',
    '        symbols: ["BTC/*"]',
    '        maxNotional: 500',
    '        priceBand: 2%',
    '      - name: large',
    '        approve: [place_order]',
    '        accounts: [paper]',
    '        minNotional: 500',
    '        maxNotional: 5000',
    '        priceBand: 2%',
    '      - approve: [withdraw]',
    '        accounts: [paper]',
    '        destinations: [cold-usdt]',
    '        maxAmount: 1000',
    '    limits:',
    '      - { name: daily, per: agent, window: 24h, notional: 2000, quote: USDT }',
    '  reader:',
    '    accounts: [paper]',
    '    actions: [get_balance, get_ticker]',
  ]);
  trader = await fx.agent('trader-1', 'trader');
  reader = await fx.agent('reader-1', 'reader');
});

afterAll(async () => {
  await fx.close();
  fx.remove();
});

let nextId = 0;
function order(fields: Record<string, string>): Record<string, string> {
  nextId++;
  return {
    account: 'paper',
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'limit',
    price: '60000',
    clientOrderId: `e2e-${nextId}`,
    ...fields,
  };
}

async function respond(agent: AuthenticatedAgent, action: string, input: unknown): Promise<ActionResponse> {
  const outcome = await fx.run(agent, action, input);
  if (!('response' in outcome)) throw new Error(`${action} threw ${outcome.thrown}: ${outcome.message}`);
  return outcome.response;
}

describe('policy decides on the resolved order', () => {
  it('sends exactly the order policy judged, fitted to the market step', async () => {
    const before = fx.paper.orders().length;
    // 0.0012345 BTC is fitted down to the market's amount step before policy sees it.
    const answer = await respond(trader, 'place_order', order({ amount: '0.0012345' }));
    expect(answer).toMatchObject({ status: 'executed', rule: expect.stringContaining('(small)') });
    const placed = fx.paper.orders().slice(before);
    expect(placed).toHaveLength(1);
    expect(placed[0]?.origQty).toMatch(/^0\.00123/);
  });

  it('denies an order over every cap and sends nothing, saying what would be allowed', async () => {
    const before = fx.paper.orders().length;
    const answer = await respond(trader, 'place_order', order({ amount: '1' })); // 60,000 USDT
    expect(answer.status).toBe('denied');
    expect(answer.reason).toMatch(/maxNotional|5000/);
    expect(fx.paper.orders().length).toBe(before);
  });

  it('denies a limit price outside the band around the reference price', async () => {
    const before = fx.paper.orders().length;
    const answer = await respond(trader, 'place_order', order({ amount: '0.001', price: '54000' }));
    expect(answer.status).toBe('denied');
    expect(fx.paper.orders().length).toBe(before);
  });

  it('does not list tools the policy can never allow, and preview shows the decision without reserving', async () => {
    const actions = fx.runtime.broker.actionsFor(reader);
    expect([...actions].sort()).toEqual(['get_balance', 'get_request', 'get_ticker']);
    const limitsBefore = await respond(trader, 'get_limits', {});
    const { clientOrderId: _unused, ...unplaced } = order({ amount: '0.005' });
    const preview = await respond(trader, 'preview_order', unplaced);
    expect(preview.result).toMatchObject({ sent: false, decision: { decision: 'allow' } });
    const limitsAfter = await respond(trader, 'get_limits', {});
    expect(limitsAfter.result).toEqual(limitsBefore.result);
  });
});

describe('approvals', () => {
  it('waits for an operator, then runs exactly the bound order once', async () => {
    const before = fx.paper.orders().length;
    const pending = await respond(trader, 'place_order', order({ amount: '0.02' })); // 1,200 USDT
    expect(pending).toMatchObject({
      status: 'pending_approval',
      rule: expect.stringContaining('(large)'),
      approval: { payloadHash: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    expect(fx.paper.orders().length).toBe(before);
    const hash = pending.approval?.payloadHash ?? '';

    const state = fx.runtime.state;
    expect(state.approve(pending.requestId, 'alice', 'f'.repeat(64), undefined, new Date())).toMatchObject({
      outcome: 'refused',
      reason: 'hash-mismatch',
    });
    expect(state.approve(pending.requestId, 'alice', hash, 'ok', new Date())).toEqual({
      outcome: 'approved',
    });
    const [first, second] = await Promise.allSettled([
      fx.runtime.broker.executeApproved(pending.requestId, 'alice'),
      fx.runtime.broker.executeApproved(pending.requestId, 'alice'),
    ]);
    // Both callers get the one execution's answer; the exchange gets one order.
    expect(first.status === 'fulfilled' && second.status === 'fulfilled').toBe(true);
    if (first.status === 'fulfilled' && second.status === 'fulfilled') {
      expect(second.value.requestId).toBe(first.value.requestId);
    }
    expect(fx.paper.orders().length).toBe(before + 1);
    const stored = await respond(trader, 'get_request', { requestId: pending.requestId });
    expect(stored.status).toBe('executed');
  });

  it('withdraws to a label after approval; the agent never sees the address', async () => {
    const pending = await respond(trader, 'withdraw', {
      account: 'paper',
      asset: 'USDT',
      amount: '250',
      destination: 'cold-usdt',
      clientWithdrawId: 'w-1',
    });
    expect(pending.status).toBe('pending_approval');
    const state = fx.runtime.state;
    expect(
      state.approve(pending.requestId, 'bob', pending.approval?.payloadHash ?? '', undefined, new Date()),
    ).toEqual({ outcome: 'approved' });
    const done = await fx.runtime.broker.executeApproved(pending.requestId, 'bob');
    expect(done).toMatchObject({ status: 'executed', result: { withdrawal: { destination: 'cold-usdt' } } });
    expect(JSON.stringify(done)).not.toContain(COLD_ADDRESS);
    expect(JSON.stringify(fx.audit())).not.toContain(COLD_ADDRESS);
  });

  // A withdrawal cofre was sending when it stopped is never called safe to send again on a guess: the venue is
  // asked for it by its client id (the one the approved withdrawal above used, and one that never left).
  it('settles an interrupted withdrawal by asking the venue for it', async () => {
    const state = fx.runtime.state;
    const long = new Date(Date.now() - 120_000);
    const row = (requestId: string, clientWithdrawId: string) => ({
      requestId,
      agentId: trader.id,
      action: 'withdraw',
      account: 'paper',
      idempotencyKey: undefined,
      input: JSON.stringify({
        account: 'paper',
        amount: '250',
        asset: 'USDT',
        clientWithdrawId,
        destination: 'cold-usdt',
      }),
      status: 'executing' as const,
      response: undefined,
      createdAt: long,
      updatedAt: long,
    });
    await state.claimRequest(row('req_interrupted_sent', 'w-1'));
    await state.claimRequest(row('req_interrupted_unsent', 'w-never-sent'));
    const report = await fx.runtime.broker.reconcileInterrupted(new Date(Date.now() - 60_000));
    expect(report.resolved).toEqual(
      expect.arrayContaining([
        { requestId: 'req_interrupted_sent', status: 'executed' },
        { requestId: 'req_interrupted_unsent', status: 'failed' },
      ]),
    );
    const sent = await respond(trader, 'get_request', { requestId: 'req_interrupted_sent' });
    expect(sent).toMatchObject({ status: 'executed', result: { withdrawal: { destination: 'cold-usdt' } } });
    expect(JSON.stringify(sent)).not.toContain(COLD_ADDRESS);
  });

  it('refuses a destination that is not in the address book', async () => {
    const outcome = await fx.run(trader, 'withdraw', {
      account: 'paper',
      asset: 'USDT',
      amount: '1',
      destination: 'attacker',
      clientWithdrawId: 'w-2',
    });
    expect(outcome).toMatchObject({ thrown: 'COFRE_DESTINATION_UNKNOWN' });
  });
});

describe('limits under concurrency', () => {
  it('never lets racing orders spend past the rolling cap', async () => {
    const limits = (await respond(trader, 'get_limits', {})).result as {
      limits: { limit: string; remaining: string }[];
    };
    const remaining = Number(limits.limits.find((l) => l.limit.includes('daily'))?.remaining);
    const before = fx.paper.orders().length;
    // 20 orders of 300 USDT at once against what is left of 2,000.
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => respond(trader, 'place_order', order({ amount: '0.005' }))),
    );
    const executed = answers.filter((a) => a.status === 'executed').length;
    expect(executed).toBe(Math.floor(remaining / 300));
    expect(answers.filter((a) => a.status === 'denied').every((a) => a.rule?.includes('daily'))).toBe(true);
    expect(fx.paper.orders().length - before).toBe(executed);
  });
});
