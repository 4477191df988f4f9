// Attacks of one agent on another's orders through their idempotency keys (issue 8, item 16), against a real broker
// and the paper exchange: Binance order ids are sequential, so a hostile agent can guess them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AuthenticatedAgent } from '../../src/broker/agent-tokens.js';
import { RESTING_BUY } from '../resting-buy.js';
import { startSurfaceFixture, type SurfaceFixture } from '../surfaces/surface-fixture.js';

let fixture: SurfaceFixture;
let victim: AuthenticatedAgent;
let attacker: AuthenticatedAgent;

beforeAll(async () => {
  fixture = await startSurfaceFixture();
  victim = (await fixture.issue('victim', 'trader')).agent;
  attacker = (await fixture.issue('attacker', 'trader')).agent;
});

afterAll(async () => {
  await fixture.close();
});

const ORDER = RESTING_BUY;

describe('cancel squatting', () => {
  // Regression: a failing cancel claimed the order's key, after which the owner's cancel was refused as "already
  // used" and the order could not be cancelled.
  it('a failed cancel by another agent, or an early one by the owner, cannot block the real cancel', async () => {
    const nextId = String(fixture.paper.orders().length + 1);
    const byRef = { account: 'paper', symbol: 'BTC/USDT' };
    expect(
      (await fixture.broker.execute(attacker, 'cancel_order', { ...byRef, clientOrderId: 'v-1' })).status,
    ).toBe('failed');
    expect(
      (await fixture.broker.execute(attacker, 'cancel_order', { ...byRef, orderId: nextId })).status,
    ).toBe('failed');
    expect(
      (await fixture.broker.execute(victim, 'cancel_order', { ...byRef, clientOrderId: 'v-1' })).status,
    ).toBe('failed');

    const placed = await fixture.broker.execute(victim, 'place_order', { ...ORDER, clientOrderId: 'v-1' });
    expect(placed).toMatchObject({ status: 'executed', result: { order: { id: nextId, status: 'open' } } });

    const canceled = await fixture.broker.execute(victim, 'cancel_order', { ...byRef, clientOrderId: 'v-1' });
    expect(canceled).toMatchObject({ status: 'executed', result: { order: { status: 'canceled' } } });
    // A cancel is always safe to send again: the venue says the order is no longer open.
    const twice = await fixture.broker.execute(victim, 'cancel_order', { ...byRef, orderId: nextId });
    expect(twice).toMatchObject({ status: 'failed', error: { code: 'COFRE_VENUE_REJECTED' } });
  });

  it("an agent reusing another agent's clientOrderId gets none of that agent's answer", async () => {
    const mine = await fixture.broker.execute(victim, 'place_order', { ...ORDER, clientOrderId: 'v-2' });
    expect(mine.status).toBe('executed');
    const theirs = await fixture.broker.execute(attacker, 'place_order', {
      ...ORDER,
      side: 'sell',
      clientOrderId: 'v-2',
    });
    expect(theirs.requestId).not.toBe(mine.requestId);
    expect(theirs.replayed).toBeUndefined();
    expect(JSON.stringify(theirs)).not.toContain(mine.requestId);
  });
});
