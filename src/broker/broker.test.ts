// The broker's own guarantees, with a real SQLite state store and audit file and a scripted venue account (the
// paper exchange drives the same paths end to end in test/): idempotency that cannot lie, scrubbing with the
// credentials a call held and failing closed, every claimed request finished, keys given back when nothing was
// placed, and requests left `executing` by a crash settled at start-up.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { JsonlAuditLog } from '../audit/audit-log.js';
import type { AccountConfig } from '../config/config-schema.js';
import { CofreError, type ErrorCode, isCofreError } from '../errors.js';
import { RulePolicy } from '../policy/rule-policy.js';
import { SecretValue } from '../secrets/secret-value.js';
import { SqliteStateStore } from '../state/sqlite/sqlite-state-store.js';
import type { RequestOutcome } from '../state/state-store.js';
import type {
  MarketRules,
  Order,
  OrderRef,
  OrderRequest,
  Ticker,
  VenueAccount,
  VenueCallRecord,
} from '../venues/venue-account.js';
import { type ActionResponse, Broker } from './broker.js';

const KEY = 'KEYcanary0123456789abcdefABCDEF';
const SECRET = 'SECRETcanary0123456789abcdefXYZ';

const MARKET: MarketRules = {
  symbol: 'BTC/USDT',
  base: 'BTC',
  quote: 'USDT',
  priceStep: '0.01',
  amountStep: '0.00001',
  minAmount: '0.00001',
  maxAmount: '9000',
  minNotional: '5',
};

/** What the scripted venue does for one write. */
type Step =
  | { readonly kind: 'ok'; readonly extra?: Record<string, unknown>; readonly zeroHeld?: boolean }
  | { readonly kind: 'fail'; readonly code: ErrorCode; readonly sent: boolean };

/**
 * A VenueAccount that signs with the canary credentials (handing copies to the caller's record, as the ccxt account
 * does) and follows a script for writes. It keeps the orders it placed, so look-ups by clientOrderId work.
 */
class ScriptedVenue implements VenueAccount {
  readonly id = 'paper';
  readonly venue = 'binance';
  readonly mode = 'paper' as const;
  readonly placed: OrderRequest[] = [];
  readonly cancels: OrderRef[] = [];
  readonly orders = new Map<string, Order>();
  script: Step[] = [];
  lookupFails: ErrorCode | undefined;

  market(): Promise<MarketRules> {
    return Promise.resolve(MARKET);
  }
  fetchBalance(record?: VenueCallRecord): Promise<never> {
    this.#sign(record);
    return Promise.reject(new Error('not scripted'));
  }
  fetchTicker(symbol: string): Promise<Ticker> {
    // The reference price every order is judged against (issue 9).
    return Promise.resolve({ symbol, bid: '59990', ask: '60010', last: '60000', timestamp: undefined });
  }
  fetchOpenOrders(): Promise<readonly Order[]> {
    return Promise.resolve([...this.orders.values()]);
  }
  fetchOrder(_symbol: string, ref: OrderRef, record?: VenueCallRecord): Promise<Order> {
    this.#sign(record);
    if (this.lookupFails !== undefined) return Promise.reject(new CofreError(this.lookupFails, 'venue down'));
    const order = 'clientOrderId' in ref ? this.orders.get(ref.clientOrderId) : undefined;
    if (order === undefined) {
      return Promise.reject(
        new CofreError('COFRE_VENUE_REJECTED', 'Order does not exist.', {
          details: { error: 'OrderNotFound' },
        }),
      );
    }
    return Promise.resolve(order);
  }
  placeOrder(order: OrderRequest, record?: VenueCallRecord): Promise<Order> {
    this.#sign(record);
    const step = this.script.shift() ?? { kind: 'ok' };
    if (step.kind === 'fail') {
      if (step.sent && record) record.writeSent = true;
      const cause = new CofreError(
        'COFRE_SECRET_NOT_FOUND',
        'secret local:exchanges/paper#apiKey does not exist',
      );
      return Promise.reject(new CofreError(step.code, `scripted ${step.code}`, { cause }));
    }
    if (record) record.writeSent = true;
    this.placed.push(order);
    const placed: Order = {
      id: String(this.placed.length),
      clientOrderId: order.clientOrderId,
      symbol: order.symbol,
      side: order.side,
      type: order.type,
      status: 'open',
      amount: order.amount,
      filled: '0',
      price: order.price,
      average: undefined,
      timestamp: undefined,
      ...step.extra,
    };
    this.orders.set(order.clientOrderId, placed);
    // A bug that wipes the caller's copies before it could scrub with them.
    if (step.zeroHeld === true) for (const value of record?.held ?? []) value.zero();
    return Promise.resolve(placed);
  }
  cancelAllOrders(): Promise<never> {
    return Promise.reject(new Error('not scripted'));
  }
  withdraw(): Promise<never> {
    return Promise.reject(new Error('not scripted'));
  }
  fetchWithdrawal(): Promise<never> {
    return Promise.reject(new Error('not scripted'));
  }
  cancelOrder(_symbol: string, ref: OrderRef, record?: VenueCallRecord): Promise<Order> {
    this.#sign(record);
    if (record) record.writeSent = true;
    this.cancels.push(ref);
    const id = 'clientOrderId' in ref ? ref.clientOrderId : '';
    const order = this.orders.get(id);
    if (order === undefined || order.status !== 'open') {
      return Promise.reject(new CofreError('COFRE_VENUE_REJECTED', 'Unknown order sent.'));
    }
    const canceled = { ...order, status: 'canceled' as const };
    this.orders.set(id, canceled);
    return Promise.resolve(canceled);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  #sign(record: VenueCallRecord | undefined): void {
    record?.held.push(SecretValue.fromText(KEY), SecretValue.fromText(SECRET));
  }
}

/** A state store whose next `finishRequest` calls fail, as SQLite does when busy past its timeout. */
class FlakyStateStore extends SqliteStateStore {
  failFinishes = 0;
  override finishRequest(requestId: string, outcome: RequestOutcome): void {
    if (this.failFinishes > 0) {
      this.failFinishes--;
      throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    }
    super.finishRequest(requestId, outcome);
  }
}

const ACCOUNT: AccountConfig = {
  venue: 'binance',
  mode: 'paper',
  credentials: { apiKey: 'local:k#apiKey', secret: 'local:k#secret' },
};

const alice = { id: 'alice', policy: 'trader' };
const bob = { id: 'bob', policy: 'trader' };
const reader = { id: 'rita', policy: 'reader' };

const BUY = {
  account: 'paper',
  symbol: 'BTC/USDT',
  side: 'buy',
  type: 'limit',
  amount: '0.001',
  price: '60000',
  clientOrderId: 'demo-1',
};

let dir: string;
let state: FlakyStateStore;
let venue: ScriptedVenue;
let venueOpens: number;
let broker: Broker;
let logLines: string[];
let audit: JsonlAuditLog;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cofre-broker-'));
  state = new FlakyStateStore(join(dir, 'state.db'));
  audit = new JsonlAuditLog(join(dir, 'audit.jsonl'));
  venue = new ScriptedVenue();
  venueOpens = 0;
  logLines = [];
  broker = new Broker({
    accounts: { paper: ACCOUNT, other: ACCOUNT },
    policy: new RulePolicy({
      policies: {
        trader: { accounts: ['paper'], actions: ['place_order', 'cancel_order', 'get_order', 'get_balance'] },
        reader: { accounts: ['paper'], actions: ['get_balance'] },
        anywhere: { accounts: ['*'], actions: ['get_balance', 'list_accounts'] },
      },
      accounts: { paper: ACCOUNT, other: ACCOUNT },
      now: () => new Date(),
    }),
    audit,
    state: state,
    venue: () => {
      venueOpens++;
      return Promise.resolve(venue);
    },
    logger: pino({ level: 'debug' }, {
      write: (line: string) => void logLines.push(line),
    } as unknown as NodeJS.WritableStream),
  });
});

afterEach(async () => {
  await audit.close();
  state.close();
  await rm(dir, { recursive: true, force: true });
});

async function refusal(promise: Promise<unknown>): Promise<CofreError> {
  try {
    await promise;
  } catch (err) {
    if (isCofreError(err)) return err;
    throw err;
  }
  throw new Error('expected a CofreError');
}

describe('idempotency (issue 8, item 1)', () => {
  // Regression: a sell reusing a buy's clientOrderId answered "executed" with the buy.
  it('refuses the same clientOrderId with a different order, naming what differs', async () => {
    const first = await broker.execute(alice, 'place_order', BUY);
    expect(first.status).toBe('executed');

    const err = await refusal(
      broker.execute(alice, 'place_order', { ...BUY, side: 'sell', amount: '0.002' }),
    );
    expect(err.code).toBe('COFRE_IDEMPOTENCY_CONFLICT');
    expect(err.message).toContain('amount "0.001" then, "0.002" now');
    expect(err.message).toContain('side "buy" then, "sell" now');
    expect(venue.placed).toHaveLength(1);
  });

  it('answers a true replay with the stored answer, marked replayed, and sends nothing', async () => {
    const first = await broker.execute(alice, 'place_order', BUY);
    // The same order written differently (trailing zeros, a number) is the same request.
    const again = await broker.execute(alice, 'place_order', { ...BUY, amount: '0.00100', price: 60000 });
    expect(again).toEqual({ ...first, replayed: true });
    expect(venue.placed).toHaveLength(1);
  });
});

describe('scrubbing (item 2)', () => {
  it('scrubs with the credentials the venue call held', async () => {
    venue.script = [
      { kind: 'ok', extra: { clientOrderId: `echo ${KEY} and ${Buffer.from(SECRET).toString('base64')}` } },
    ];
    const answer = await broker.execute(alice, 'place_order', BUY);
    const text = JSON.stringify(answer);
    expect(answer.status).toBe('executed');
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(Buffer.from(SECRET).toString('base64'));
    expect(JSON.stringify(state.request(answer.requestId))).not.toContain(KEY);
  });

  it('opens no venue and resolves no credential for a denial', async () => {
    const answer = await broker.execute(reader, 'place_order', BUY);
    expect(answer.status).toBe('denied');
    expect(venueOpens).toBe(0);
  });

  // Regression: when the credentials could not be had for scrubbing, the response went out unscrubbed.
  it('fails closed when the response cannot be scrubbed', async () => {
    venue.script = [{ kind: 'ok', extra: { clientOrderId: KEY, filled: 10n } }];
    const answer = await broker.execute(alice, 'place_order', BUY);
    expect(answer.status).toBe('failed');
    expect(answer.error?.code).toBe('COFRE_INTERNAL');
    expect(JSON.stringify(answer)).not.toContain(KEY);
    // The order did reach the venue: its key stays, and the request is finished, not left executing.
    expect(state.request(answer.requestId)?.status).toBe('failed');
    const again = await broker.execute(alice, 'place_order', BUY);
    expect(again.replayed).toBe(true);
    expect(venue.placed).toHaveLength(1);
  });
});

describe('scrubbing fails closed', () => {
  it('answers a generic error when a held credential can no longer be looked for', async () => {
    venue.script = [{ kind: 'ok', zeroHeld: true, extra: { clientOrderId: KEY } }];
    const answer = await broker.execute(alice, 'place_order', BUY);
    expect(answer).toMatchObject({ status: 'failed', error: { code: 'COFRE_INTERNAL' } });
    expect(JSON.stringify(answer)).not.toContain(KEY);
    expect(state.request(answer.requestId)?.response).not.toContain(KEY);
  });
});

describe('requests left executing (item 3)', () => {
  it('stores a read allowed outright once, finished: while it runs there is no row to leave executing', async () => {
    let during: readonly unknown[] | undefined;
    const inner = venue.fetchBalance.bind(venue);
    venue.fetchBalance = (record) => {
      during = state.executingRequests(new Date(Date.now() + 3_600_000));
      return inner(record);
    };
    const read = await broker.execute(alice, 'get_balance', { account: 'paper' });
    expect(during).toEqual([]);
    expect(state.request(read.requestId)).toMatchObject({ status: read.status, agentId: 'alice' });
    expect(JSON.parse(state.request(read.requestId)?.response ?? '{}')).toEqual(read);
  });

  // Regression: a failure after the venue call left the row executing, and its clientOrderId answered
  // COFRE_REQUEST_IN_PROGRESS for ever.
  it('still answers the agent, and reconciliation settles the row from the venue', async () => {
    state.failFinishes = 1;
    const first = await broker.execute(alice, 'place_order', BUY);
    expect(first.status).toBe('executed');
    expect(state.request(first.requestId)?.status).toBe('executing');
    expect(logLines.join('\n')).toContain('could not record the outcome');

    const report = await broker.reconcileInterrupted(new Date(Date.now() + 1000));
    expect(report).toEqual({
      resolved: [{ requestId: first.requestId, status: 'executed' }],
      unresolved: [],
    });
    const again = await broker.execute(alice, 'place_order', BUY);
    expect(again).toMatchObject({ requestId: first.requestId, status: 'executed', replayed: true });
    expect(venue.placed).toHaveLength(1);
  });

  it('gives the key back when the venue never saw the order, and leaves what it cannot tell', async () => {
    const now = new Date();
    state.claimRequest({
      requestId: 'req_crashed',
      agentId: 'alice',
      action: 'place_order',
      account: 'paper',
      idempotencyKey: 'alice:paper:demo-1',
      input: JSON.stringify(BUY),
      status: 'executing',
      response: undefined,
      createdAt: now,
      updatedAt: now,
    });
    venue.lookupFails = 'COFRE_VENUE_UNAVAILABLE';
    const down = await broker.reconcileInterrupted(new Date(now.getTime() + 1));
    expect(down.resolved).toEqual([]);
    expect(down.unresolved[0]?.reason).toContain('COFRE_VENUE_UNAVAILABLE');
    // Too recent to settle: a signed request of it could still be on its way.
    expect(await broker.reconcileInterrupted(now)).toEqual({ resolved: [], unresolved: [] });

    venue.lookupFails = undefined;
    const settled = await broker.reconcileInterrupted(new Date(now.getTime() + 1));
    expect(settled.resolved).toEqual([{ requestId: 'req_crashed', status: 'failed' }]);
    expect(state.request('req_crashed')?.response).toContain('COFRE_REQUEST_INTERRUPTED');
    const retried = await broker.execute(alice, 'place_order', BUY);
    expect(retried.status).toBe('executed');
    expect(retried.replayed).toBeUndefined();
  });
});

describe('keys given back when nothing was placed (items 4 and 16)', () => {
  it.each<[string, Step, boolean]>([
    [
      'the venue was unreachable before connecting',
      { kind: 'fail', code: 'COFRE_VENUE_UNAVAILABLE', sent: false },
      true,
    ],
    [
      'the credentials could not be resolved',
      { kind: 'fail', code: 'COFRE_CREDENTIALS_UNAVAILABLE', sent: false },
      true,
    ],
    ['the venue refused the order', { kind: 'fail', code: 'COFRE_VENUE_REJECTED', sent: true }, true],
    [
      'the answer was lost after sending',
      { kind: 'fail', code: 'COFRE_VENUE_OUTCOME_UNKNOWN', sent: true },
      false,
    ],
    ['an unexpected error after sending', { kind: 'fail', code: 'COFRE_INTERNAL', sent: true }, false],
  ])('when %s: sent again on retry = %s', async (_case, step, released) => {
    venue.script = [step];
    const first = await broker.execute(alice, 'place_order', BUY);
    expect(first.status).toBe('failed');
    const retry = await broker.execute(alice, 'place_order', BUY);
    if (released) {
      expect(retry.status).toBe('executed');
      expect(retry.replayed).toBeUndefined();
      expect(venue.placed).toHaveLength(1);
    } else {
      expect(retry).toEqual({ ...first, replayed: true });
      expect(venue.placed).toHaveLength(0);
    }
  });

  // Regression: another agent could claim an order's key with a failing cancel, after which the owner's cancel was
  // refused as "already used" and the order could not be cancelled.
  it("lets no agent squat on another agent's keys or on a cancel", async () => {
    const squat = await broker.execute(bob, 'cancel_order', {
      account: 'paper',
      symbol: 'BTC/USDT',
      clientOrderId: 'demo-1',
    });
    expect(squat.status).toBe('failed');
    const early = await broker.execute(alice, 'cancel_order', {
      account: 'paper',
      symbol: 'BTC/USDT',
      clientOrderId: 'demo-1',
    });
    expect(early.status).toBe('failed');

    expect((await broker.execute(alice, 'place_order', BUY)).status).toBe('executed');
    const cancel = await broker.execute(alice, 'cancel_order', {
      account: 'paper',
      symbol: 'BTC/USDT',
      clientOrderId: 'demo-1',
    });
    expect(cancel).toMatchObject({ status: 'executed', result: { order: { status: 'canceled' } } });

    // Bob's place with Alice's clientOrderId is his own request: it gets none of Alice's answer.
    const bobs: ActionResponse = await broker.execute(bob, 'place_order', BUY);
    expect(bobs.replayed).toBeUndefined();
    expect(venue.placed).toHaveLength(2);
  });
});

describe('credentials that cannot be read', () => {
  it('tell the agent the account is unavailable, and the operator why', async () => {
    venue.script = [{ kind: 'fail', code: 'COFRE_CREDENTIALS_UNAVAILABLE', sent: false }];
    const answer = await broker.execute(alice, 'place_order', BUY);
    expect(answer).toMatchObject({ status: 'failed', error: { code: 'COFRE_CREDENTIALS_UNAVAILABLE' } });
    expect(JSON.stringify(answer)).not.toContain('exchanges/paper');
    expect(logLines.join('\n')).toContain('secret local:exchanges/paper#apiKey does not exist');
  });
});

describe('accounts', () => {
  // Regression: an unknown account answered COFRE_INTERNAL; it must say "no such account" to an agent allowed every
  // account, and reveal nothing to others.
  it('tells an agent allowed every account that an account does not exist, and no one else', async () => {
    const roamer = { id: 'roamer', policy: 'anywhere' };
    const ghost = await broker.execute(roamer, 'get_balance', { account: 'ghost' });
    expect(ghost).toMatchObject({ status: 'failed', error: { code: 'COFRE_ACCOUNT_NOT_FOUND' } });
    expect(ghost.error?.message).toContain('no such account "ghost"');
    expect(await broker.execute(roamer, 'list_accounts', {})).toMatchObject({
      result: { accounts: [{ account: 'paper' }, { account: 'other' }] },
    });

    const unknown = await broker.execute(reader, 'get_balance', { account: 'ghost' });
    const existing = await broker.execute(reader, 'get_balance', { account: 'other' });
    expect(unknown.status).toBe('denied');
    expect(existing.status).toBe('denied');
    expect(unknown.reason?.replace('ghost', 'X')).toBe(existing.reason?.replace('other', 'X'));
    expect(venueOpens).toBe(0);
  });
});

describe('audit', () => {
  it('records the intent before the venue and the outcome after', async () => {
    const answer = await broker.execute(alice, 'place_order', BUY);
    await audit.close();
    const lines = (await readFile(join(dir, 'audit.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; requestId: string });
    expect(lines.map((l) => [l.kind, l.requestId])).toEqual([
      ['intent', answer.requestId],
      ['outcome', answer.requestId],
    ]);
  });
});
