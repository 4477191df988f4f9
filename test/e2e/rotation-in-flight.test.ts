// Issue 12, hot reload: a promotion done by another process reaches the running `cofre serve` without a restart,
// and the requests already in flight finish with the key they started with (they read their credentials once,
// before their intent): orders held at the exchange, and an order already past its intent and waiting in cofre's
// account queue, are all signed with the old key; the next order is signed with the new one.
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';

import { RESTING_BUY } from '../resting-buy.js';
import { HeldOrders, intentCount, until } from './held-orders.js';
import { newVenueKey, promoteElsewhere } from './promote-elsewhere.js';
import {
  burstAccountLines,
  type HttpAnswer,
  type ServedFixture,
  startServedBroker,
} from './served-broker.js';

/** Calls of the account in flight to the venue at once (the queue's default). */
const QUEUE_CONCURRENCY = 4;

const venue = new HeldOrders(QUEUE_CONCURRENCY);

let fx: ServedFixture;
let agent: string;

beforeAll(async () => {
  fx = await startServedBroker(
    (url, credentials) => [
      ...burstAccountLines(url, credentials),
      'policies:',
      '  trader:',
      '    rules:',
      '      - { name: small, allow: [place_order], accounts: [paper], maxNotional: 500 }',
      // Polling off: the test says when the broker looks (checkNow), so nothing races the order it holds.
      'rotation: { pollInterval: 0 }',
    ],
    { holdRequest: venue.holdRequest },
    // A TTL the test never reaches: only the watcher makes the broker read the store again.
    { localBackend: 'cache: { ttl: 1h, staleIfError: 0 }' },
  );
  agent = await fx.agentToken('trader-1', 'trader');
});

afterAll(async () => {
  await fx.close();
});

let next = 0;
/** A limit buy under the market (it rests on the book), with a client order id to find it at the exchange. */
async function order(): Promise<{ id: string; answer: HttpAnswer }> {
  const id = `inflight-${++next}`;
  const answer = await fx.call('POST', '/v1/actions/place_order', agent, {
    ...RESTING_BUY,
    clientOrderId: id,
  });
  return { id, answer };
}

/** The API key the exchange saw on the order with client id `id`. */
function keyOf(id: string): string | undefined {
  return fx.paper.requests().find((r) => r.path === '/api/v3/order' && r.params['newClientOrderId'] === id)
    ?.apiKey;
}

const intents = (): number => intentCount(fx.dir);

/** Waits until `done` holds (see held-orders.ts), saying how many orders the exchange holds if it never does. */
const waitFor = (done: () => boolean, what: string): Promise<void> =>
  until(done, () => `${what}; held ${venue.held}`);

describe('a promotion while orders are in flight', () => {
  it('finishes the orders in flight with the old key and signs the next one with the new key', async () => {
    const old = fx.apiKey.apiKey;
    const warm = await order();
    expect(warm.answer.body).toMatchObject({ status: 'executed' });
    expect(keyOf(warm.id)).toBe(old);

    // Every slot of the account queue held at the exchange (signed, unanswered), and one more order past its intent
    // (credentials read and recorded), waiting in cofre's queue for a slot.
    venue.hold();
    onTestFinished(() => {
      venue.release();
    });
    const before = intents();
    const atVenue = Array.from({ length: QUEUE_CONCURRENCY }, () => order());
    await waitFor(() => venue.held === QUEUE_CONCURRENCY, 'every queue slot held at the exchange');
    const queued = order();
    await waitFor(() => intents() === before + QUEUE_CONCURRENCY + 1, 'the queued order past its intent');

    // The person created the new key at the venue; the rotation promotes it elsewhere; the broker looks.
    const fresh = newVenueKey();
    fx.paper.addApiKey(old, fresh);
    const version = await promoteElsewhere(fx, fresh);
    expect(await fx.server.runtime.credentialVersions.checkNow()).toEqual([
      { reference: 'local:exchanges/paper', previousVersion: '1', version },
    ]);

    // A new order now reads the new key and is signed with it (it waits for a slot behind the queued one).
    const after = order();
    venue.release();
    const inFlight = await Promise.all([...atVenue, queued]);
    expect(inFlight.map((o) => o.answer.body['status'])).toEqual(
      Array(QUEUE_CONCURRENCY + 1).fill('executed'),
    );
    expect(inFlight.map((o) => keyOf(o.id))).toEqual(Array(QUEUE_CONCURRENCY + 1).fill(old));
    const later = await after;
    expect(later.answer.body).toMatchObject({ status: 'executed' });
    expect(keyOf(later.id)).toBe(fresh.apiKey);

    // Once the old key is revoked, orders keep going with the new one.
    fx.paper.revokeApiKey(old);
    const last = await order();
    expect(last.answer.body).toMatchObject({ status: 'executed' });
    expect(keyOf(last.id)).toBe(fresh.apiKey);
    expect(fx.paper.requests().filter((r) => r.errorCode !== undefined)).toEqual([]);
  });
});
