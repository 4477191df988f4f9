// The TypeScript client against a real served cofre in front of the paper exchange: every way an action can end
// (executed, denied, pending then approved, replayed, failed at the venue, refused as bad input, 401, 429), through
// the typed methods and through `call`, counting what actually reached the exchange.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  CofreApprovalTimeoutError,
  type CofreClient,
  CofreDeniedError,
  CofrePendingApprovalError,
  CofreRequestError,
  createCofreClient,
} from '../../src/client/index.js';
import type { ServedFixture } from '../e2e/served-broker.js';
import { approve, clientFor, startClientFixture } from './served-client.js';

let fx: ServedFixture;
let trader: CofreClient;
let operator: string;

beforeAll(async () => {
  fx = await startClientFixture();
  trader = await clientFor(fx, 'trader-1', 'trader');
  operator = await fx.operatorToken('alice');
});

afterAll(async () => {
  await fx.close();
});

const sent = (): number => fx.paper.orders().length;
let next = 0;
/** A limit buy at 60,000: 0.005 BTC is 300 USDT (allowed), 0.02 is 1,200 (approval), 0.1 is 6,000 (denied). */
function order(amount: number | string, clientOrderId = `ts-${++next}`) {
  return {
    account: 'paper',
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'limit',
    price: 60000,
    amount,
    clientOrderId,
  } as const;
}

/** The rejection of `promise`, which must reject. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (err: unknown) => err,
  );
}

describe('executed actions return their result', () => {
  it('reads accounts, limits, balance, ticker and open orders', async () => {
    expect(await trader.listAccounts()).toEqual({
      accounts: [{ account: 'paper', venue: 'binance', mode: 'paper' }],
    });
    expect(await trader.getLimits()).toEqual({ limits: [] });
    expect(await trader.getBalance({ account: 'paper' })).toMatchObject({
      balance: { assets: { USDT: { free: '100000' }, BTC: { free: '2' } } },
    });
    expect(await trader.getTicker({ account: 'paper', symbol: 'BTC/USDT' })).toMatchObject({
      ticker: { symbol: 'BTC/USDT', last: '60000' },
    });
    expect(await trader.getOpenOrders({ account: 'paper', symbol: 'BTC/USDT' })).toHaveProperty('orders');
  });

  it('previews, places (amounts as numbers), gets and cancels an order; cancels all', async () => {
    const before = sent();
    const { clientOrderId: _id, ...preview } = order(0.005);
    expect(await trader.previewOrder(preview)).toMatchObject({
      decision: { decision: 'allow' },
    });
    expect(sent()).toBe(before);
    // At 50,000 the buy rests on the book (at 60,000 the paper exchange fills it at once).
    const placed = await trader.placeOrder({ ...order(0.005, 'ts-place'), price: 50000 });
    expect(placed).toMatchObject({ order: { clientOrderId: 'ts-place', amount: '0.005', price: '50000' } });
    expect(sent()).toBe(before + 1);
    expect(
      await trader.getOrder({ account: 'paper', symbol: 'BTC/USDT', clientOrderId: 'ts-place' }),
    ).toMatchObject({
      order: { clientOrderId: 'ts-place', status: 'open' },
    });
    expect(
      await trader.cancelOrder({ account: 'paper', symbol: 'BTC/USDT', clientOrderId: 'ts-place' }),
    ).toMatchObject({
      order: { status: 'canceled' },
    });
    await trader.placeOrder({ ...order('0.004'), price: '50000' });
    expect(await trader.cancelAllOrders({ account: 'paper', symbol: 'BTC/USDT' })).toMatchObject({
      orders: [expect.objectContaining({ status: 'canceled' })],
    });
  });

  it('replays a repeated order instead of placing it twice', async () => {
    const first = await trader.call('place_order', order(0.005, 'ts-replay'));
    const before = sent();
    const again = await trader.call('place_order', order('0.0050', 'ts-replay'));
    expect(again).toMatchObject({
      status: 'executed',
      replayed: true,
      requestId: first.requestId,
      result: first.result,
    });
    expect(await trader.placeOrder(order(0.005, 'ts-replay'))).toEqual(first.result);
    expect(sent()).toBe(before);
  });
});

describe('a denial', () => {
  // Its own agent: denials draw on a per-agent budget (the 429 test drains one on purpose).
  let denied: CofreClient;
  beforeAll(async () => {
    denied = await clientFor(fx, 'denied-1', 'trader');
  });

  it('throws CofreDeniedError with the rule, the reason and the request id; nothing is sent', async () => {
    const before = sent();
    const err = await rejection(denied.placeOrder(order(0.1)));
    expect(err).toBeInstanceOf(CofreDeniedError);
    const refusal = err as CofreDeniedError;
    expect(refusal).toMatchObject({ code: 'COFRE_ACTION_DENIED', rule: 'default-deny', retryable: false });
    expect(refusal.reason).toMatch(/maxNotional 500 USDT.*6000 USDT/);
    expect(refusal.requestId).toMatch(/^req_/);
    expect(sent()).toBe(before);
    // The stored answer says the same, and get_request hands it back as data, not as an error.
    expect(await denied.getRequest({ requestId: refusal.requestId ?? '' })).toMatchObject({
      requestId: refusal.requestId,
      status: 'denied',
      rule: 'default-deny',
    });
  });

  it('is an answer, not an error, through call()', async () => {
    const answer = await denied.call('place_order', order(0.1));
    expect(answer).toMatchObject({ status: 'denied', rule: 'default-deny' });
  });
});

describe('pending approval', () => {
  it('throws CofrePendingApprovalError; waitForRequest returns the answer once an operator approves', async () => {
    const before = sent();
    const err = await rejection(trader.placeOrder(order(0.02)));
    expect(err).toBeInstanceOf(CofrePendingApprovalError);
    const pending = err as CofrePendingApprovalError;
    expect(pending.requestId).toMatch(/^req_/);
    expect(pending.approval?.payloadHash).toMatch(/^[0-9a-f]{64}$/);
    expect(pending.rule).toBe('policies.trader.rules[2] (large)');
    expect(sent()).toBe(before);

    const waiting = trader.waitForRequest(pending.requestId, { intervalMs: 20, timeoutMs: 60_000 });
    await approve(fx, operator, pending.requestId, pending.approval?.payloadHash ?? '');
    const final = await waiting;
    expect(final).toMatchObject({
      requestId: pending.requestId,
      status: 'executed',
      result: { order: { amount: '0.02' } },
    });
    expect(sent()).toBe(before + 1);
  });

  it('waits inside the method with waitForApproval and returns the result', async () => {
    const before = sent();
    const placing = trader.placeOrder(order(0.02, 'ts-wait'), { waitForApproval: { intervalMs: 20 } });
    const pending = await untilPending('ts-wait');
    await approve(fx, operator, pending.requestId, pending.payloadHash);
    expect(await placing).toMatchObject({ order: { clientOrderId: 'ts-wait', amount: '0.02' } });
    expect(sent()).toBe(before + 1);
  });

  it('throws CofreDeniedError from waitForApproval when an operator refuses; nothing is sent', async () => {
    const waiter = await clientFor(fx, 'refused-waiter', 'trader');
    const before = sent();
    const placing = rejection(
      waiter.placeOrder(order(0.02, 'ts-refused'), { waitForApproval: { intervalMs: 20 } }),
    );
    const pending = await untilPending('ts-refused');
    const denial = await fx.call('POST', `/v1/operator/approvals/${pending.requestId}/deny`, operator, {
      comment: 'not today',
    });
    expect(denial.status).toBe(200);
    const err = await placing;
    expect(err).toBeInstanceOf(CofreDeniedError);
    expect(err).toMatchObject({ requestId: pending.requestId, response: { status: 'denied' } });
    expect(sent()).toBe(before);
  });

  it('gives up after timeoutMs with CofreApprovalTimeoutError, and stops on an aborted signal', async () => {
    const err = await rejection(
      trader.withdraw({
        account: 'paper',
        asset: 'USDT',
        amount: 10,
        destination: 'cold-usdt',
        clientWithdrawId: 'ts-w1',
      }),
    );
    expect(err).toBeInstanceOf(CofrePendingApprovalError);
    const { requestId } = err as CofrePendingApprovalError;
    const timeout = await rejection(trader.waitForRequest(requestId, { intervalMs: 10, timeoutMs: 50 }));
    // Still a pending approval (it stays pending at cofre), with a code saying the wait ran out.
    expect(timeout).toBeInstanceOf(CofreApprovalTimeoutError);
    expect(timeout).toBeInstanceOf(CofrePendingApprovalError);
    expect(timeout).toMatchObject({
      code: 'COFRE_CLIENT_APPROVAL_TIMEOUT',
      requestId,
      approval: { payloadHash: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    const controller = new AbortController();
    const waiting = rejection(
      trader.waitForRequest(requestId, { intervalMs: 10_000, signal: controller.signal }),
    );
    controller.abort(new Error('stopped by the test'));
    expect(await waiting).toMatchObject({ message: 'stopped by the test' });
    expect(await rejection(trader.waitForRequest(requestId, { timeoutMs: 0 }))).toMatchObject({
      code: 'COFRE_INPUT_INVALID',
      message: 'timeoutMs must be a positive number of milliseconds',
    });
  });
});

/** Polls the operator API until the order with `clientOrderId` waits for approval. */
async function untilPending(clientOrderId: string): Promise<{ requestId: string; payloadHash: string }> {
  for (;;) {
    const list = await fx.call('GET', '/v1/operator/approvals', operator);
    const approvals = (list.body['approvals'] ?? []) as {
      requestId: string;
      payloadHash: string;
      payload?: unknown;
    }[];
    const found = approvals.find((a) => JSON.stringify(a).includes(clientOrderId));
    if (found !== undefined) return found;
    await new Promise((done) => setTimeout(done, 20));
  }
}

describe('a venue failure', () => {
  it('throws CofreRequestError with the venue code, the venue text and the request id', async () => {
    const err = await rejection(
      trader.cancelOrder({ account: 'paper', symbol: 'BTC/USDT', orderId: '999999' }),
    );
    expect(err).toBeInstanceOf(CofreRequestError);
    expect(err).toMatchObject({
      code: 'COFRE_VENUE_REJECTED',
      retryable: false,
      venueText: 'Unknown order sent.',
      requestId: expect.stringMatching(/^req_/),
      response: { status: 'failed' },
    });
  });
});

describe('refused requests', () => {
  it('checks input before sending, with the server’s own message', async () => {
    const unchecked = await clientFor(fx, 'trader-unchecked', 'trader', false);
    const bad = {
      account: 'paper',
      symbol: 'btc-usdt',
      side: 'buy',
      type: 'limit',
      amount: -1,
      clientOrderId: 'x',
    } as const;
    const before = sent();
    const local = await rejection(trader.placeOrder(bad));
    const remote = await rejection(unchecked.placeOrder(bad));
    expect(local).toBeInstanceOf(CofreRequestError);
    expect(remote).toMatchObject({
      code: 'COFRE_INPUT_INVALID',
      httpStatus: 400,
      requestId: expect.stringMatching(/^http_/),
    });
    expect(local).toMatchObject({
      code: 'COFRE_INPUT_INVALID',
      httpStatus: undefined,
      message: (remote as Error).message,
    });
    expect((local as Error).message).toMatch(
      /^invalid input for place_order: symbol: invalid symbol.*amount: .*price: a limit order needs a price/,
    );
    expect(sent()).toBe(before);
  });

  it('maps a reused clientOrderId for a different order to COFRE_IDEMPOTENCY_CONFLICT (409)', async () => {
    await trader.placeOrder({ ...order(0.001, 'ts-conflict'), price: 50000 });
    const err = await rejection(trader.placeOrder({ ...order(0.002, 'ts-conflict'), price: 50000 }));
    expect(err).toBeInstanceOf(CofreRequestError);
    expect(err).toMatchObject({ code: 'COFRE_IDEMPOTENCY_CONFLICT', httpStatus: 409, retryable: false });
  });

  it('refuses an unknown action by name', async () => {
    const err = await rejection(trader.call('transfer_all' as 'get_limits', {}));
    expect(err).toMatchObject({ code: 'COFRE_ACTION_UNKNOWN' });
  });

  it('maps 401 to COFRE_UNAUTHENTICATED and never shows the token', async () => {
    const token = 'cofre_AAAAAAAAAAAAAAAA.' + 'B'.repeat(43);
    const stranger = await createCofreClient({ baseUrl: fx.url, token });
    const err = await rejection(stranger.getBalance({ account: 'paper' }));
    expect(err).toBeInstanceOf(CofreRequestError);
    expect(err).toMatchObject({ code: 'COFRE_UNAUTHENTICATED', httpStatus: 401, retryable: false });
    expect([JSON.stringify(err), String(err), (err as Error).stack].join('\n')).not.toContain('B'.repeat(43));
  });

  it('maps 429 to COFRE_AGENT_QUOTA_EXCEEDED with Retry-After', async () => {
    const noisy = await clientFor(fx, 'noisy', 'reader');
    // The reader may not place orders: each try is a denial, and denials have a budget (5 in a row here).
    const answers: unknown[] = [];
    for (let i = 0; i < 8; i++) answers.push(await noisy.call('get_limits', {}).catch((e: unknown) => e));
    const refused = answers.find((a) => a instanceof CofreRequestError);
    expect(refused).toMatchObject({ code: 'COFRE_AGENT_QUOTA_EXCEEDED', httpStatus: 429, retryable: true });
    expect((refused as CofreRequestError).retryAfterMs).toBeGreaterThan(0);
  });

  it('says when nothing answers, or something that is not cofre does', async () => {
    const closed = await createCofreClient({ baseUrl: 'http://127.0.0.1:9', token: 'cofre_x' });
    expect(await rejection(closed.listAccounts())).toMatchObject({
      code: 'COFRE_CLIENT_UNREACHABLE',
      retryable: true,
    });
    const paper = await createCofreClient({ baseUrl: fx.paper.url, token: 'cofre_x' });
    expect(await rejection(paper.listAccounts())).toMatchObject({
      code: 'COFRE_CLIENT_RESPONSE_INVALID',
      httpStatus: 404,
    });
  });
});
