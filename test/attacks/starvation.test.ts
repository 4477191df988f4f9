// Regression (issue 8, item 17): 200 weight-heavy reads from a read-only agent delayed another agent's cancel by two
// minutes, because ccxt's rate-limit queue is unbounded and first-in first-out; and a write that waited that long
// was still sent. Attacks on a real broker (openBrokerRuntime) in front of the paper exchange.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AuthenticatedAgent } from '../../src/broker/agent-tokens.js';
import { type AttackFixture, type Outcome, startAttackFixture } from './attack-fixture.js';

/** Reads that the fix may refuse: retryable, and nothing was sent. */
const REFUSED_UNSENT = ['COFRE_ACCOUNT_BUSY', 'COFRE_REQUEST_DEADLINE_EXCEEDED'];

let fx: AttackFixture;
let reader: AuthenticatedAgent;
let trader: AuthenticatedAgent;
/** While set, the paper exchange holds every `GET /api/v3/openOrders` until it is resolved. */
let stall: { held: () => void; release: Promise<void> } | undefined;

beforeAll(async () => {
  fx = await startAttackFixture(
    (url, credentials) => [
      'agents:',
      // Generous per-agent quotas: these tests are about what one account lets through to its venue.
      '  quotas: { requestsPerSecond: 10000, burst: 10000, concurrency: 1000, deniedPerMinute: 1000, deniedBurst: 1000 }',
      '  requestDeadline: 2s',
      'accounts:',
      `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
      `  narrow: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials}, queue: { concurrency: 1, readConcurrency: 1 } }`,
      'policies:',
      '  reader: { accounts: [paper, narrow], actions: [get_open_orders] }',
      '  trader: { accounts: [paper, narrow], actions: [get_open_orders, place_order, cancel_order] }',
    ],
    {
      holdRequest: ({ method, path }) => {
        if (stall === undefined || method !== 'GET' || path !== '/api/v3/openOrders') return undefined;
        stall.held();
        return stall.release;
      },
    },
  );
  reader = await fx.agent('reader-1', 'reader');
  trader = await fx.agent('trader-1', 'trader');
});

afterAll(async () => {
  await fx.close();
  fx.remove();
});

function order(account: string, clientOrderId: string) {
  return {
    account,
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'limit',
    amount: '0.001',
    price: '30000',
    clientOrderId,
  };
}

function codeOf(o: Outcome): string {
  if ('thrown' in o) return o.thrown;
  return o.response.status === 'executed' ? 'executed' : (o.response.error?.code ?? o.response.status);
}

describe('one agent cannot starve another at the venue', () => {
  it("a cancel goes through while another agent's 200 weight-heavy reads flood the same account", async () => {
    const placed = await fx.run(trader, 'place_order', order('paper', 'starve-1'));
    expect(codeOf(placed)).toBe('executed');

    // get_open_orders without a symbol: binance weight 80, 16 of ccxt's 1200 per minute; 200 of them fill that
    // budget more than twice over.
    const flood = Array.from({ length: 200 }, () => fx.run(reader, 'get_open_orders', { account: 'paper' }));
    const cancel = await fx.run(trader, 'cancel_order', {
      account: 'paper',
      symbol: 'BTC/USDT',
      clientOrderId: 'starve-1',
    });
    expect(codeOf(cancel)).toBe('executed');
    expect(fx.paper.orders().find((o) => o.clientOrderId === 'starve-1')?.status).toBe('CANCELED');

    // Every read answered (none left hanging): served, or refused at once / by its deadline, unsent and retryable.
    const reads = await Promise.all(flood);
    for (const r of reads) {
      const code = codeOf(r);
      if (code === 'executed') continue;
      expect(REFUSED_UNSENT).toContain(code);
      expect('response' in r && r.response.error?.retryable).toBe(true);
    }
    const sent = fx.paper.requests().filter((r) => r.path === '/api/v3/openOrders').length;
    const served = reads.filter((r) => codeOf(r) === 'executed').length;
    expect(sent).toBe(served);
    // The flood was held back: the venue saw only what its rate limit allows reads (not all 200).
    expect(served).toBeLessThan(200);
  });

  it('a write that cannot start before its deadline is not sent, and says so', async () => {
    let held!: () => void;
    const heldOnce = new Promise<void>((resolve) => {
      held = resolve;
    });
    let release!: () => void;
    stall = {
      held,
      release: new Promise<void>((resolve) => {
        release = resolve;
      }),
    };
    try {
      // One slot on `narrow`: a read stuck at the venue holds it.
      const stuck = fx.run(reader, 'get_open_orders', { account: 'narrow' });
      await heldOnce;
      const write = await fx.run(trader, 'place_order', order('narrow', 'late-1'));
      expect(codeOf(write)).toBe('COFRE_REQUEST_DEADLINE_EXCEEDED');
      const error = 'response' in write ? write.response.error : undefined;
      expect(error?.retryable).toBe(true);
      expect(error?.message).toMatch(/nothing was sent/);
      release();
      expect(codeOf(await stuck)).toBe('executed');
    } finally {
      release();
      stall = undefined;
    }
    // Nothing reached the venue: no order request with that client id, and no such order.
    const posts = fx.paper
      .requests()
      .filter((r) => r.method === 'POST' && r.params['newClientOrderId'] === 'late-1');
    expect(posts).toEqual([]);
    expect(fx.paper.orders().some((o) => o.clientOrderId === 'late-1')).toBe(false);
  });
});
