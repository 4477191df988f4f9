// Issue 9, the kill switch end to end: `POST /v1/operator/halt` on the served broker while 200 orders are in flight,
// counted at the paper exchange; the halt persists across a restart; resume lets orders through again; the halt's
// options cancel resting orders at the exchange and revoke agents' tokens.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';

import { SqliteStateStore } from '../../src/state/sqlite/sqlite-state-store.js';
import { cli } from '../cli/cli-harness.js';
import { HeldOrders, intentCount, until } from './held-orders.js';
import {
  burstAccountLines,
  errorCodeOf,
  type HttpAnswer,
  type ServedFixture,
  startServedBroker,
} from './served-broker.js';

const BURST = 200;

/** Calls of the account in flight to the venue at once (the queue's default). */
const QUEUE_CONCURRENCY = 4;

const venue = new HeldOrders();

let fx: ServedFixture;
let agent: string;
let operator: string;

beforeAll(async () => {
  fx = await startServedBroker(
    (url, credentials) => [
      ...burstAccountLines(url, credentials),
      'policies:',
      '  trader:',
      '    rules:',
      '      - allow: [get_open_orders, cancel_order, cancel_all_orders]',
      '        accounts: [paper]',
      '      - { name: small, allow: [place_order], accounts: [paper], maxNotional: 500 }',
      '      - { name: large, approve: [place_order], accounts: [paper], minNotional: 500 }',
    ],
    { holdRequest: venue.holdRequest },
  );
  agent = await fx.agentToken('trader-1', 'trader');
  operator = await fx.operatorToken('alice');
});

afterAll(async () => {
  await fx.close();
});

let next = 0;
/** A limit buy well under the market, so it rests on the book. */
function order(token = agent, amount = '0.001'): Promise<HttpAnswer> {
  return fx.call('POST', '/v1/actions/place_order', token, orderInput(amount));
}

function orderInput(amount = '0.001'): Record<string, string> {
  return {
    account: 'paper',
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'limit',
    price: '50000',
    amount,
    clientOrderId: `burst-${++next}`,
  };
}

/** Waits until `done` holds (see held-orders.ts), saying what cofre and the exchange hold if it never does. */
function waitFor(done: () => boolean, what: () => string): Promise<void> {
  return until(
    done,
    () =>
      `${what()}: executing ${executing()}, held ${venue.held}, exchange orders ${fx.paper.orders().length}`,
  );
}

const intents = (): number => intentCount(fx.dir);

/** Requests claimed and not yet finished. */
function executing(): number {
  // This test serves on SQLite, whose store answers on the caller's turn: the count is read synchronously.
  const state = fx.server.runtime.state;
  if (!(state instanceof SqliteStateStore)) throw new Error('this test serves on SQLite');
  return state.executingRequests(new Date(Date.now() + 3_600_000)).length;
}

function openAtExchange(): number {
  return fx.paper.orders().filter((o) => o.status === 'NEW').length;
}

describe('halt under a burst of orders', () => {
  it('sends nothing more once the halt has answered, nor anything still queued inside cofre', async () => {
    // Warm up (markets, reference price) so the burst is all orders.
    expect((await order()).body).toMatchObject({ status: 'executed' });
    const before = fx.paper.orders().length;

    // Hold the orders that reach the exchange, one per slot of the account queue: they are the writes in flight at
    // the venue when the halt comes, and the rest of the burst waits inside cofre (claimed, audited, queued), however
    // fast or loaded this machine is. (Halting "once a quarter of the burst is inside cofre" without holding raced
    // the burst: a fast enough broker finished it first.)
    venue.limit = QUEUE_CONCURRENCY;
    venue.hold();
    const burst = Array.from({ length: BURST }, () => order());
    // Whatever fails below, release the held orders so the burst settles and later tests run.
    onTestFinished(() => {
      venue.limit = Infinity;
      venue.release();
    });
    // Not longer than needed: a held order answered after ccxt's timeout (10 s) would count as not executed.
    await waitFor(
      () => venue.held === QUEUE_CONCURRENCY && executing() >= 2 * QUEUE_CONCURRENCY,
      () => 'every queue slot held at the exchange and as many orders again waiting in cofre',
    );
    let haltAnswered = false;
    const halting = fx.call('POST', '/v1/operator/halt', operator, { reason: 'burst drill' }).finally(() => {
      haltAnswered = true;
    });
    while ((await fx.call('GET', '/v1/operator/halt', operator)).body['halted'] !== true) {
      // The halt is persisted first; it is in force from the moment it shows.
    }
    // It does not answer while writes that passed the gate are still at the venue: a few round trips later, it
    // still has not.
    for (let i = 0; i < 3; i++) await fx.call('GET', '/v1/operator/halt', operator);
    expect(haltAnswered).toBe(false);
    venue.release();
    // The halt answers only once the writes in flight have finished; the orders waiting in cofre's queue are refused
    // as they leave it.
    const halted = await halting;
    expect(halted.status).toBe(200);
    const afterHalt = fx.paper.orders().length;
    const answers = await Promise.all(burst);
    expect(fx.paper.orders().length).toBe(afterHalt);
    expect(afterHalt - before).toBeLessThan(BURST);

    // Once the halt was in force, only orders already handed to the venue may land: at most one per slot of the
    // account queue (concurrency 4), none of those still waiting in cofre's queue.
    const haltAt = Date.parse((halted.body['halt'] as { at: string }).at);
    const landedLater = fx.paper.orders().filter((o) => o.time > haltAt);
    expect(landedLater.length).toBeLessThanOrEqual(QUEUE_CONCURRENCY);

    // One order at the exchange per executed answer; every other answer is the halt's refusal.
    const executed = answers.filter((a) => a.body['status'] === 'executed');
    expect(executed).toHaveLength(afterHalt - before);
    const refused = answers.filter((a) => a.body['status'] !== 'executed');
    expect(refused.map((a) => [a.status, errorCodeOf(a)]).filter(([, c]) => c !== 'COFRE_HALTED')).toEqual(
      [],
    );
    expect(refused.every((a) => a.status === 503)).toBe(true);
    // Some were refused at the gate after they were admitted: recorded as failed with COFRE_HALTED.
    expect(refused.some((a) => a.body['status'] === 'failed')).toBe(true);
  });

  it('refuses every later request with COFRE_HALTED (503) and reports the halt', async () => {
    const before = fx.paper.orders().length;
    const later = await order();
    expect([later.status, errorCodeOf(later)]).toEqual([503, 'COFRE_HALTED']);
    expect(JSON.stringify(later.body)).toContain('burst drill');
    expect((await fx.call('GET', '/v1/operator/halt', operator)).body).toMatchObject({
      halted: true,
      reason: 'burst drill',
      by: 'alice',
    });
    const mcp = new Client({ name: 'e2e-agent', version: '0.0.0' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(`${fx.url}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${agent}` } },
      }),
    );
    try {
      const tool = await mcp.callTool({ name: 'place_order', arguments: orderInput() });
      expect(tool.isError).toBe(true);
      expect(tool.structuredContent).toMatchObject({ error: { code: 'COFRE_HALTED' } });
    } finally {
      await mcp.close();
    }
    expect(fx.paper.orders().length).toBe(before);
  });

  it('stays halted after a restart on the same state file, and resumes over HTTP', async () => {
    await fx.restart();
    const before = fx.paper.orders().length;
    expect(errorCodeOf(await order())).toBe('COFRE_HALTED');
    expect((await fx.call('GET', '/v1/operator/halt', operator)).body).toMatchObject({ halted: true });
    expect((await fx.call('POST', '/v1/operator/resume', operator, {})).body).toEqual({ resumed: true });
    expect((await order()).body).toMatchObject({ status: 'executed' });
    expect(fx.paper.orders().length).toBe(before + 1);
  });

  it('`cofre halt` and `cofre resume` on the host stop and restart the running server', async () => {
    const halt = await cli(fx.dir, ['halt', '--reason', 'from the host']);
    expect(halt.code).toBe(0);
    const before = fx.paper.orders().length;
    const refused = await order();
    expect([refused.status, errorCodeOf(refused)]).toEqual([503, 'COFRE_HALTED']);
    expect((await cli(fx.dir, ['resume'])).code).toBe(0);
    expect((await order()).body).toMatchObject({ status: 'executed' });
    expect(fx.paper.orders().length).toBe(before + 1);
  });

  it('cancels every resting order at the exchange with cancelOpenOrders', async () => {
    expect((await order()).body).toMatchObject({ status: 'executed' });
    const resting = openAtExchange();
    expect(resting).toBeGreaterThan(0);
    const halted = await fx.call('POST', '/v1/operator/halt', operator, {
      reason: 'flatten',
      cancelOpenOrders: true,
    });
    expect(halted.body).toMatchObject({ cancelled: [{ account: 'paper', cancelled: resting }] });
    expect(openAtExchange()).toBe(0);
    expect(fx.paper.orders().filter((o) => o.status === 'CANCELED').length).toBeGreaterThanOrEqual(resting);
    expect((await fx.call('POST', '/v1/operator/resume', operator, {})).body).toEqual({ resumed: true });
  });

  it('`cofre halt --cancel-open-orders` cancels them from the host', async () => {
    expect((await order()).body).toMatchObject({ status: 'executed' });
    expect(openAtExchange()).toBe(1);
    const halt = await cli(fx.dir, ['halt', '--cancel-open-orders']);
    expect([halt.code, halt.stdout]).toEqual([0, expect.stringContaining('paper: 1 cancelled')]);
    expect(openAtExchange()).toBe(0);
    expect((await cli(fx.dir, ['resume'])).code).toBe(0);
  });

  it("revokes agents' tokens with revokeAgents; they stay revoked after resume", async () => {
    const other = await fx.agentToken('trader-2', 'trader');
    const halted = await fx.call('POST', '/v1/operator/halt', operator, {
      reason: 'compromise',
      revokeAgents: true,
    });
    expect(halted.body['revokedAgents']).toEqual(expect.arrayContaining(['trader-1', 'trader-2']));
    expect((await fx.call('POST', '/v1/operator/resume', operator, {})).body).toEqual({ resumed: true });
    const before = fx.paper.orders().length;
    for (const token of [agent, other]) {
      const r = await order(token);
      expect([r.status, errorCodeOf(r)]).toEqual([401, 'COFRE_UNAUTHENTICATED']);
    }
    expect(fx.paper.orders().length).toBe(before);
    // A new agent trades again: resume lifted the halt, not the revocations.
    expect((await order(await fx.agentToken('trader-3', 'trader'))).body).toMatchObject({
      status: 'executed',
    });
  });

  it('an approval given while halted sends nothing; approving again after resume sends it once', async () => {
    const trader = await fx.agentToken('trader-approvals', 'trader');
    const pending = await order(trader, '0.02'); // 1,000 USDT: the `large` rule
    expect(pending.status).toBe(202);
    const requestId = String(pending.body['requestId']);
    const { payloadHash } = pending.body['approval'] as { payloadHash: string };
    const approve = (): Promise<HttpAnswer> =>
      fx.call('POST', `/v1/operator/approvals/${requestId}/approve`, operator, { payloadHash });

    expect((await fx.call('POST', '/v1/operator/halt', operator, { reason: 'review' })).status).toBe(200);
    const before = fx.paper.orders().length;
    const whileHalted = await approve();
    expect([whileHalted.status, errorCodeOf(whileHalted)]).toEqual([503, 'COFRE_HALTED']);
    const fromHost = await cli(fx.dir, ['approval', 'approve', requestId]);
    expect([fromHost.code, fromHost.stderr]).toEqual([1, expect.stringContaining('COFRE_HALTED')]);
    expect(fx.paper.orders().length).toBe(before);
    expect((await fx.call('GET', `/v1/requests/${requestId}`, trader)).body['status']).toBe(
      'pending_approval',
    );

    expect((await fx.call('POST', '/v1/operator/resume', operator, {})).body).toEqual({ resumed: true });
    expect((await approve()).body).toMatchObject({ outcome: 'executed', response: { status: 'executed' } });
    expect(fx.paper.orders().length).toBe(before + 1);
    expect((await fx.call('GET', `/v1/requests/${requestId}`, trader)).body['status']).toBe('executed');
  });

  it('sends none of the orders still waiting in the account queue when the halt comes', async () => {
    // Regression: a write checked the halt when it entered the account queue only, so orders queued behind the ones
    // at the venue were still sent after the halt was in force (the halt waited for them, then acknowledged).
    const trader = await fx.agentToken('trader-queued', 'trader');
    const startIntents = intents();
    venue.hold();
    onTestFinished(() => {
      venue.release();
    });
    // Twice the queue's concurrency: the first four are held at the exchange, the other four past policy, audit and
    // the first halt check, waiting in the account queue for a slot.
    const queued = Array.from({ length: 2 * QUEUE_CONCURRENCY }, () => order(trader));
    await waitFor(
      () => intents() - startIntents >= 2 * QUEUE_CONCURRENCY && venue.held >= QUEUE_CONCURRENCY,
      () => `${intents() - startIntents} intents and ${venue.held} orders held at the exchange`,
    );
    const before = fx.paper.orders().length;
    const halting = fx.call('POST', '/v1/operator/halt', operator, { reason: 'queued' });
    while ((await fx.call('GET', '/v1/operator/halt', operator)).body['halted'] !== true) {
      // The halt is in force from the moment it shows.
    }
    venue.release();
    expect((await halting).status).toBe(200);
    const answers = await Promise.all(queued);
    expect(fx.paper.orders().length - before).toBe(QUEUE_CONCURRENCY);
    expect(answers.filter((a) => a.body['status'] === 'executed')).toHaveLength(QUEUE_CONCURRENCY);
    const refused = answers.filter((a) => a.body['status'] !== 'executed');
    expect(refused.map((a) => [a.status, a.body['status'], errorCodeOf(a)])).toEqual(
      Array.from({ length: QUEUE_CONCURRENCY }, () => [503, 'failed', 'COFRE_HALTED']),
    );
    expect((await fx.call('POST', '/v1/operator/resume', operator, {})).body).toEqual({ resumed: true });
  });
});
