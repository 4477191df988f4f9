// The account queue's rules, one by one, over a scripted account whose calls finish when the test says.
import { describe, expect, it } from 'vitest';

import { cofreConfigSchema } from '../config/config-schema.js';
import { CofreError, isCofreError } from '../errors.js';
import {
  type AccountQueueLimits,
  DEFAULT_ACCOUNT_QUEUE_LIMITS,
  QueuedVenueAccount,
  type RateWindow,
} from './account-queue.js';
import {
  currentRequestContext,
  currentRequestIdentity,
  runInRequestContext,
  runWithRequestId,
  type VenuePriority,
} from './request-context.js';
import type {
  Order,
  OrderRequest,
  VenueAccount,
  VenueCallRecord,
  Withdrawal,
  WithdrawalRequest,
} from './venue-account.js';

const ORDER: Order = {
  id: '1',
  clientOrderId: 'c',
  symbol: 'BTC/USDT',
  side: 'buy',
  type: 'limit',
  status: 'open',
  amount: '1',
  filled: '0',
  price: '1',
  average: undefined,
  timestamp: undefined,
};

const WITHDRAWAL: Withdrawal = {
  id: 'w1',
  asset: 'USDT',
  amount: '10',
  network: 'TRX',
  status: 'pending',
  timestamp: undefined,
};

const WITHDRAW: WithdrawalRequest = {
  asset: 'USDT',
  amount: '10',
  address: 'TAddressForTests1',
  network: 'TRX',
  memo: undefined,
};

/** An account whose calls stay pending until `finish(label)`; `started` lists the calls that reached it, in order. */
function scriptedAccount(window?: { current: RateWindow | undefined }) {
  const started: string[] = [];
  const pending = new Map<string, () => void>();
  const records = new Map<string, VenueCallRecord | undefined>();
  const hold = <T>(label: string, value: T): Promise<T> => {
    started.push(label);
    return new Promise<T>((resolve) =>
      pending.set(label, () => {
        resolve(value);
      }),
    );
  };
  const account: VenueAccount & { rateWindow?: () => RateWindow | undefined } = {
    id: 'acct',
    venue: 'binance',
    mode: 'paper',
    market: (symbol) => hold(`market ${symbol}`, {} as never),
    fetchBalance: () => hold('balance', { assets: {} }),
    fetchTicker: (symbol) => hold(`ticker ${symbol}`, {} as never),
    fetchOpenOrders: (symbol) => hold(`open ${symbol ?? '*'}`, []),
    fetchOrder: (symbol) => hold(`order ${symbol}`, ORDER),
    placeOrder: (o) => hold(`place ${o.clientOrderId}`, ORDER),
    cancelOrder: (symbol) => hold(`cancel ${symbol}`, ORDER),
    cancelAllOrders: (symbol, record) => {
      records.set(`cancel-all ${symbol ?? '*'}`, record);
      return hold(`cancel-all ${symbol ?? '*'}`, [ORDER]);
    },
    fetchWithdrawal: (ref, record) => {
      records.set(`find ${ref.clientWithdrawId}`, record);
      return hold(`find ${ref.clientWithdrawId}`, undefined);
    },
    withdraw: (w, record) => {
      records.set(`withdraw ${w.asset}`, record);
      return hold(`withdraw ${w.asset}`, WITHDRAWAL);
    },
    close: () => Promise.resolve(),
  };
  if (window !== undefined) account.rateWindow = () => window.current;
  return {
    account,
    started,
    records,
    finish(label: string) {
      const done = pending.get(label);
      if (done === undefined) throw new Error(`${label} is not running`);
      pending.delete(label);
      done();
    },
  };
}

const request = (clientOrderId: string): OrderRequest => ({
  symbol: 'BTC/USDT',
  side: 'buy',
  type: 'limit',
  amount: '1',
  price: '1',
  clientOrderId,
});
const limits = (l: Partial<AccountQueueLimits>): AccountQueueLimits => ({
  ...DEFAULT_ACCOUNT_QUEUE_LIMITS,
  ...l,
});
const tick = () => new Promise((resolve) => setImmediate(resolve));

function asRequest<T>(
  priority: VenuePriority,
  fn: () => Promise<T>,
  deadline = Date.now() + 60_000,
): Promise<T> {
  return runInRequestContext({ deadline, priority }, fn);
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return isCofreError(err) ? err.code : 'other';
  }
}

describe('QueuedVenueAccount', () => {
  it('starts a waiting call in its own request context, not in that of the call that freed its slot', async () => {
    const script = scriptedAccount();
    const seen: { label: string; requestId: string | undefined; deadline: number | undefined }[] = [];
    const inner = script.account;
    const account: VenueAccount = {
      ...inner,
      placeOrder: (o, record) => {
        seen.push({
          label: o.clientOrderId,
          requestId: currentRequestIdentity()?.requestId,
          deadline: currentRequestContext()?.deadline,
        });
        return inner.placeOrder(o, record);
      },
    };
    const queue = new QueuedVenueAccount(account, limits({ concurrency: 1, readConcurrency: 1 }));
    const inRequest = (id: string, deadline: number) =>
      asRequest('write', () => runWithRequestId(id, 'agent', () => queue.placeOrder(request(id))), deadline);
    const now = Date.now();
    const a = inRequest('req-a', now + 60_000);
    await tick();
    const b = inRequest('req-b', now + 70_000);
    await tick();
    script.finish('place req-a'); // frees the slot: req-b starts from req-a's continuation
    await tick();
    script.finish('place req-b');
    await Promise.all([a, b]);
    expect(seen).toEqual([
      { label: 'req-a', requestId: 'req-a', deadline: now + 60_000 },
      { label: 'req-b', requestId: 'req-b', deadline: now + 70_000 },
    ]);
  });

  it('has the config schema defaults', () => {
    const queue = cofreConfigSchema.shape.accounts.parse({
      a: { venue: 'binance', mode: 'live', credentials: { apiKey: 'l:k', secret: 'l:s' }, queue: {} },
    })['a']?.queue;
    expect(queue).toEqual(DEFAULT_ACCOUNT_QUEUE_LIMITS);
  });

  it('starts waiting calls in priority order: cancels, then orders, then reads', async () => {
    const s = scriptedAccount();
    const q = new QueuedVenueAccount(s.account, limits({ concurrency: 1, readConcurrency: 1 }));
    const first = q.fetchBalance();
    const read = q.fetchOpenOrders(undefined);
    const write = q.placeOrder(request('w'));
    const cancel = q.cancelOrder('X', { orderId: '1' });
    expect(s.started).toEqual(['balance']);
    s.finish('balance');
    await first;
    await tick();
    expect(s.started).toEqual(['balance', 'cancel X']);
    s.finish('cancel X');
    await cancel;
    await tick();
    s.finish('place w');
    await write;
    await tick();
    s.finish('open *');
    await read;
    expect(s.started).toEqual(['balance', 'cancel X', 'place w', 'open *']);
  });

  it('runs cancel-all at cancel priority and a withdrawal at order priority, passing on their records', async () => {
    const s = scriptedAccount();
    const q = new QueuedVenueAccount(s.account, limits({ concurrency: 1, readConcurrency: 1 }));
    const first = q.fetchBalance();
    const read = q.fetchTicker('A');
    const withdrawRecord: VenueCallRecord = { held: [], writeSent: false };
    const cancelRecord: VenueCallRecord = { held: [], writeSent: false };
    const withdrawal = q.withdraw(WITHDRAW, withdrawRecord);
    const cancelAll = q.cancelAllOrders(undefined, cancelRecord);
    s.finish('balance');
    await first;
    await tick();
    expect(s.started).toEqual(['balance', 'cancel-all *']);
    s.finish('cancel-all *');
    expect(await cancelAll).toEqual([ORDER]);
    await tick();
    s.finish('withdraw USDT');
    expect(await withdrawal).toEqual(WITHDRAWAL);
    await tick();
    s.finish('ticker A');
    await read;
    expect(s.started).toEqual(['balance', 'cancel-all *', 'withdraw USDT', 'ticker A']);
    expect(s.records.get('cancel-all *')).toBe(cancelRecord);
    expect(s.records.get('withdraw USDT')).toBe(withdrawRecord);
    const lookupRecord: VenueCallRecord = { held: [], writeSent: false };
    const lookup = q.fetchWithdrawal({ asset: 'USDT', clientWithdrawId: 'w-1' }, lookupRecord);
    s.finish('find w-1');
    expect(await lookup).toBeUndefined();
    expect(s.records.get('find w-1')).toBe(lookupRecord);
  });

  it('calls beforeWrite when a new order or withdrawal gets its slot, and sends nothing when it throws', async () => {
    const s = scriptedAccount();
    const q = new QueuedVenueAccount(s.account, limits({ concurrency: 1, readConcurrency: 1 }));
    const first = q.fetchBalance();
    const checked: string[] = [];
    let halted = false;
    const gate = (label: string): VenueCallRecord => ({
      held: [],
      writeSent: false,
      beforeWrite: () => {
        checked.push(label);
        if (halted) throw new CofreError('COFRE_HALTED', 'halted');
      },
    });
    const order = q.placeOrder(request('late'), gate('order'));
    const withdrawal = q.withdraw(WITHDRAW, gate('withdrawal'));
    expect(checked).toEqual([]); // waiting, not yet checked
    halted = true;
    s.finish('balance');
    await first;
    expect(await codeOf(order)).toBe('COFRE_HALTED');
    expect(await codeOf(withdrawal)).toBe('COFRE_HALTED');
    expect(checked).toEqual(['order', 'withdrawal']);
    expect(s.started).toEqual(['balance']);
    // The slots were given back: the next call runs.
    const next = q.placeOrder(request('next'));
    expect(s.started).toEqual(['balance', 'place next']);
    s.finish('place next');
    await next;
  });

  it("keeps a slot free of reads, and reads inside an order request go at the order's priority", () => {
    const s = scriptedAccount();
    const q = new QueuedVenueAccount(s.account, limits({ concurrency: 2, readConcurrency: 1 }));
    void q.fetchBalance();
    void q.fetchTicker('A');
    expect(s.started).toEqual(['balance']);
    // A ticker read made while placing an order is not held behind the reads.
    void asRequest('write', () => q.fetchTicker('B'));
    expect(s.started).toEqual(['balance', 'ticker B']);
  });

  it('refuses a read at once when the queue is full, and a cancel takes the place of the newest read', async () => {
    const s = scriptedAccount();
    const q = new QueuedVenueAccount(s.account, limits({ concurrency: 1, readConcurrency: 1, maxQueued: 2 }));
    void q.fetchBalance();
    const older = q.fetchTicker('A');
    const newer = q.fetchTicker('B');
    expect(await codeOf(q.fetchTicker('C'))).toBe('COFRE_ACCOUNT_BUSY');
    const cancel = q.cancelOrder('X', { orderId: '1' });
    expect(await codeOf(newer)).toBe('COFRE_ACCOUNT_BUSY');
    s.finish('balance');
    await tick();
    expect(s.started).toEqual(['balance', 'cancel X']);
    s.finish('cancel X');
    await cancel;
    await tick();
    s.finish('ticker A');
    expect(await codeOf(older)).toBe('ok');
    expect(q.load).toEqual({ waiting: 0, inFlight: 0, readsInFlight: 0 });
  });

  it('refuses a call that cannot start before its deadline, without calling the account', async () => {
    const s = scriptedAccount();
    const q = new QueuedVenueAccount(s.account, limits({ concurrency: 1, readConcurrency: 1 }));
    void q.fetchBalance();
    const late = asRequest('write', () => q.placeOrder(request('late')), Date.now() + 20);
    const err = await late.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isCofreError(err, 'COFRE_REQUEST_DEADLINE_EXCEEDED')).toBe(true);
    expect((err as Error).message).toMatch(/nothing was sent/);
    expect(isCofreError(err) && err.retryable).toBe(true);
    const expired = asRequest('cancel', () => q.cancelOrder('X', { orderId: '1' }), Date.now() - 1);
    expect(await codeOf(expired)).toBe('COFRE_REQUEST_DEADLINE_EXCEEDED');
    expect(s.started).toEqual(['balance']);
  });

  it("holds reads while the venue's rate window is past the reads' share, but not cancels", async () => {
    const window = {
      current: { used: 900, limit: 1000, freesAt: Date.now() + 30 } as RateWindow | undefined,
    };
    const s = scriptedAccount(window);
    const q = new QueuedVenueAccount(s.account, limits({ readRateShare: 0.75 }));
    const read = q.fetchOpenOrders(undefined);
    void q.cancelOrder('X', { orderId: '1' });
    expect(s.started).toEqual(['cancel X']);
    // The window frees: the held read starts without any other call finishing.
    window.current = { used: 0, limit: 1000, freesAt: undefined };
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(s.started).toEqual(['cancel X', 'open *']);
    s.finish('open *');
    expect(await codeOf(read)).toBe('ok');
  });

  it('reads market rules at once, even while every slot is taken by orders at a slow venue', async () => {
    // Regression: `market` was queued as a read, so during a burst every new order waited for a slot just to read the
    // loaded markets, behind the orders already held at the venue, before it was even priced.
    const s = scriptedAccount();
    const q = new QueuedVenueAccount(s.account, limits({ concurrency: 1, readConcurrency: 1 }));
    const write = q.placeOrder(request('w'));
    const rules = asRequest('write', () => q.market('BTC/USDT'));
    expect(s.started).toEqual(['place w', 'market BTC/USDT']);
    s.finish('market BTC/USDT');
    await rules;
    s.finish('place w');
    await write;
    await q.close();
    expect(await codeOf(q.market('BTC/USDT'))).toBe('COFRE_VENUE_CLOSED');
  });

  it('refuses waiting calls when closed', async () => {
    const s = scriptedAccount();
    const q = new QueuedVenueAccount(s.account, limits({ concurrency: 1, readConcurrency: 1 }));
    void q.fetchBalance();
    const waiting = q.fetchTicker('A');
    await q.close();
    expect(await codeOf(waiting)).toBe('COFRE_VENUE_CLOSED');
    expect(await codeOf(q.fetchTicker('B'))).toBe('COFRE_VENUE_CLOSED');
  });

  it('queues keyScope and serverTime as reads, behind orders and cancels, passing the record on', async () => {
    const s = scriptedAccount();
    const scope = { canTrade: true, canWithdraw: false, ipRestricted: true, createdAt: undefined };
    const seenRecords: (VenueCallRecord | undefined)[] = [];
    const hold = new Map<string, () => void>();
    const held = <T>(label: string, value: T) =>
      new Promise<T>((resolve) => {
        s.started.push(label);
        hold.set(label, () => {
          resolve(value);
        });
      });
    const inner: VenueAccount = {
      ...s.account,
      keyScope: (record) => {
        seenRecords.push(record);
        return held('keyScope', scope);
      },
      serverTime: () => held('serverTime', 1_700_000_000_000),
    };
    const q = new QueuedVenueAccount(inner, limits({ concurrency: 1, readConcurrency: 1 }));
    const first = q.fetchBalance();
    const record: VenueCallRecord = { held: [], writeSent: false };
    const scopeRead = q.keyScope?.(record);
    const timeRead = q.serverTime?.();
    const write = q.placeOrder(request('w'));
    s.finish('balance');
    await first;
    await tick();
    s.finish('place w');
    await write;
    await tick();
    hold.get('keyScope')?.();
    expect(await scopeRead).toEqual(scope);
    await tick();
    hold.get('serverTime')?.();
    expect(await timeRead).toBe(1_700_000_000_000);
    expect(s.started).toEqual(['balance', 'place w', 'keyScope', 'serverTime']);
    expect(seenRecords).toEqual([record]);
  });

  it('has no keyScope or serverTime when the account behind it has none (its venue cannot tell)', () => {
    const q = new QueuedVenueAccount(scriptedAccount().account, DEFAULT_ACCOUNT_QUEUE_LIMITS);
    expect(q.keyScope).toBeUndefined();
    expect(q.serverTime).toBeUndefined();
  });
});
