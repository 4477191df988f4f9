/**
 * A bounded priority queue in front of one venue account: the fix for one agent's reads starving another agent's
 * cancel (issue 8, item 17).
 *
 * Why it is needed: ccxt paces requests with its own rate limiter (`rateLimiterAlgorithm: 'rollingWindow'` in
 * `ccxt-venue-account.ts`), whose queue is unbounded and strictly first-in first-out. 200 weight-heavy reads
 * (`get_open_orders` without a symbol costs 16 of binance's 1200 per minute) filled that queue, and a cancel sent
 * after them waited two minutes behind them inside ccxt. So this queue decides what enters ccxt, and lets only a
 * little in at a time:
 *
 * - at most `concurrency` calls of the account run at once (so at most that many wait inside ccxt's limiter), and
 *   reads never take more than `readConcurrency` of those slots, so a slot is always left for orders and cancels;
 * - reads enter only while ccxt's rolling window is less than `readRateShare` full (when the account can say, see
 *   {@link RateWindowSource}), so reads cannot use up the venue's rate limit and make a cancel wait for the window;
 * - waiting calls go in priority order: cancels (one or all), then new orders and withdrawals, then reads (the priority of the agent request a
 *   call belongs to: a ticker read inside a `place_order` goes at `write`);
 * - at most `maxQueued` calls wait; past that a read is refused at once with `COFRE_ACCOUNT_BUSY` (retryable), and
 *   an order or cancel takes the place of the newest waiting read, which is refused instead;
 * - a call that has not started by its request's deadline is refused with `COFRE_REQUEST_DEADLINE_EXCEEDED`: nothing
 *   was sent, so a write may safely be sent again.
 *
 * Every refusal here happens before the call reaches ccxt, so nothing was sent; the errors carry `details.sent =
 * false`. Safe to call concurrently (single-threaded bookkeeping, no awaits between a check and its update).
 */
import { AsyncResource } from 'node:async_hooks';

import { CofreError } from '../errors.js';
import { currentRequestContext, priorityRank, type VenuePriority } from './request-context.js';
import type {
  Balance,
  KeyScope,
  MarketRules,
  Order,
  OrderRef,
  OrderRequest,
  Ticker,
  VenueAccount,
  VenueCallRecord,
  Withdrawal,
  WithdrawalRequest,
} from './venue-account.js';

/** How much of a venue's rate-limit window is spoken for. */
export interface RateWindow {
  /** Cost of the requests in the current window, plus those waiting to enter it. */
  readonly used: number;
  /** Cost the window allows. */
  readonly limit: number;
  /** Epoch ms when the oldest counted request leaves the window, if any does. */
  readonly freesAt: number | undefined;
}

/** A venue account that can report its rate-limit window (the ccxt account can, from ccxt's throttler). */
export interface RateWindowSource {
  rateWindow(): RateWindow | undefined;
}

/** Limits of one account's queue (`accounts.<id>.queue` in the config). */
export interface AccountQueueLimits {
  /** Calls of the account in flight at once, all kinds. */
  readonly concurrency: number;
  /** Of those, reads at most; less than `concurrency` keeps a slot for orders and cancels. */
  readonly readConcurrency: number;
  /** Calls that may wait for a slot; beyond, reads are refused at once. */
  readonly maxQueued: number;
  /** Fraction (0–1] of the venue's rate-limit window reads may fill; the rest is kept for orders and cancels. */
  readonly readRateShare: number;
}

/** Defaults, the same as the config schema's. */
export const DEFAULT_ACCOUNT_QUEUE_LIMITS: AccountQueueLimits = {
  concurrency: 4,
  readConcurrency: 3,
  maxQueued: 64,
  readRateShare: 0.75,
};

interface Waiting {
  readonly rank: number;
  readonly seq: number;
  readonly read: boolean;
  readonly operation: string;
  readonly start: () => void;
  readonly refuse: (err: CofreError) => void;
  timer: NodeJS.Timeout | undefined;
}

/** When the rate window says nothing about when it frees, look again after this long. */
const WINDOW_RECHECK_MS = 250;

/**
 * {@link VenueAccount} behind a bounded priority queue; see the module comment. `inner` is closed with it.
 */
export class QueuedVenueAccount implements VenueAccount {
  readonly id: string;
  readonly venue: string;
  readonly mode: VenueAccount['mode'];
  /** The inner account's, queued as a read; absent when the inner account has none (its venue cannot tell). */
  readonly keyScope?: (record?: VenueCallRecord) => Promise<KeyScope | undefined>;
  /** The inner account's, queued as a read (a public one); absent when the inner account has none. */
  readonly serverTime?: () => Promise<number>;
  readonly #inner: VenueAccount;
  readonly #limits: AccountQueueLimits;
  readonly #now: () => number;
  readonly #waiting: Waiting[] = [];
  #seq = 0;
  #inFlight = 0;
  #readsInFlight = 0;
  #windowTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(inner: VenueAccount, limits: AccountQueueLimits, options: { now?: () => number } = {}) {
    checkLimits(inner.id, limits);
    this.id = inner.id;
    this.venue = inner.venue;
    this.mode = inner.mode;
    this.#inner = inner;
    this.#limits = limits;
    this.#now = options.now ?? Date.now;
    // Issue 12: passed through only where the inner account has them, so a caller can still tell "cannot tell".
    if (inner.keyScope !== undefined) {
      const keyScope = inner.keyScope.bind(inner);
      this.keyScope = (record) => this.#run('keyScope', 'read', () => keyScope(record));
    }
    if (inner.serverTime !== undefined) {
      const serverTime = inner.serverTime.bind(inner);
      this.serverTime = () => this.#run('serverTime', 'read', serverTime);
    }
  }

  /** Calls waiting and running now; for logs and tests. */
  get load(): { readonly waiting: number; readonly inFlight: number; readonly readsInFlight: number } {
    return { waiting: this.#waiting.length, inFlight: this.#inFlight, readsInFlight: this.#readsInFlight };
  }

  /**
   * Not queued: a market's rules are read from the markets the account loaded once (one request, single-flight, for
   * all callers), so there is nothing to pace. Queued, every new order waited for a slot just to read them, behind
   * the orders already at a slow venue, before it was even priced.
   */
  market(symbol: string): Promise<MarketRules> {
    if (this.#closed) return Promise.reject(this.#closedError());
    return this.#inner.market(symbol);
  }
  fetchBalance(record?: VenueCallRecord): Promise<Balance> {
    return this.#run('fetchBalance', 'read', () => this.#inner.fetchBalance(record));
  }
  fetchTicker(symbol: string, record?: VenueCallRecord): Promise<Ticker> {
    return this.#run('fetchTicker', 'read', () => this.#inner.fetchTicker(symbol, record));
  }
  fetchOpenOrders(symbol: string | undefined, record?: VenueCallRecord): Promise<readonly Order[]> {
    return this.#run('fetchOpenOrders', 'read', () => this.#inner.fetchOpenOrders(symbol, record));
  }
  fetchOrder(symbol: string, ref: OrderRef, record?: VenueCallRecord): Promise<Order> {
    return this.#run('fetchOrder', 'read', () => this.#inner.fetchOrder(symbol, ref, record));
  }
  placeOrder(order: OrderRequest, record?: VenueCallRecord): Promise<Order> {
    return this.#run('placeOrder', 'write', () => {
      record?.beforeWrite?.();
      return this.#inner.placeOrder(order, record);
    });
  }
  cancelOrder(symbol: string, ref: OrderRef, record?: VenueCallRecord): Promise<Order> {
    return this.#run('cancelOrder', 'cancel', () => this.#inner.cancelOrder(symbol, ref, record));
  }
  cancelAllOrders(symbol: string | undefined, record?: VenueCallRecord): Promise<readonly Order[]> {
    return this.#run('cancelAllOrders', 'cancel', () => this.#inner.cancelAllOrders(symbol, record));
  }
  fetchWithdrawal(
    ref: { readonly asset: string; readonly clientWithdrawId: string },
    record?: VenueCallRecord,
  ): Promise<Withdrawal | undefined> {
    return this.#run('fetchWithdrawal', 'read', () => this.#inner.fetchWithdrawal(ref, record));
  }
  /** A withdrawal waits like a new order: ahead of reads, behind cancels. */
  withdraw(request: WithdrawalRequest, record?: VenueCallRecord): Promise<Withdrawal> {
    return this.#run('withdraw', 'write', () => {
      record?.beforeWrite?.();
      return this.#inner.withdraw(request, record);
    });
  }

  /** Refuses every waiting call (`COFRE_VENUE_CLOSED`), then closes the account. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#windowTimer !== undefined) clearTimeout(this.#windowTimer);
    for (const w of this.#waiting.splice(0)) {
      if (w.timer !== undefined) clearTimeout(w.timer);
      w.refuse(new CofreError('COFRE_VENUE_CLOSED', `account "${this.id}" was closed`));
    }
    await this.#inner.close();
  }

  /** Runs `call` now if a slot is free and nothing more urgent waits, else queues it (bounded, with a deadline). */
  #run<T>(operation: string, own: VenuePriority, call: () => Promise<T>): Promise<T> {
    if (this.#closed) {
      return Promise.reject(this.#closedError());
    }
    const context = currentRequestContext();
    // The more urgent of the call's own kind and its request's: a cancel is a cancel, a read inside an order is not.
    const rank = Math.min(priorityRank(own), context === undefined ? 2 : priorityRank(context.priority));
    const read = rank === priorityRank('read');
    const deadline = context?.deadline;
    if (deadline !== undefined && this.#now() >= deadline) {
      return Promise.reject(this.#deadlineError(operation));
    }
    if (this.#waiting.length === 0 && this.#canStart(read)) return this.#started(read, call);

    return new Promise<T>((resolve, reject) => {
      const entry: Waiting = {
        rank,
        seq: this.#seq++,
        read,
        operation,
        // SECURITY: bound to the caller's async context. A waiting call is started by whichever call frees its
        // slot; unbound, it ran in THAT call's context: its deadline, and the request its credential reads were
        // recorded under (and, with credentials read ahead of the intent, the credentials themselves).
        start: AsyncResource.bind(() => {
          this.#started(read, call).then(resolve, reject);
        }),
        refuse: reject,
        timer: undefined,
      };
      if (!this.#makeRoom(entry)) {
        reject(this.#busyError(operation));
        return;
      }
      if (deadline !== undefined) {
        entry.timer = setTimeout(() => {
          if (this.#remove(entry)) entry.refuse(this.#deadlineError(operation));
        }, deadline - this.#now());
        entry.timer.unref();
      }
      this.#insert(entry);
      this.#pump();
    });
  }

  async #started<T>(read: boolean, call: () => Promise<T>): Promise<T> {
    this.#inFlight++;
    if (read) this.#readsInFlight++;
    try {
      return await call();
    } finally {
      this.#inFlight--;
      if (read) this.#readsInFlight--;
      this.#pump();
    }
  }

  /** Starts waiting calls in priority order while they may start; stops at the first that may not (no overtaking). */
  #pump(): void {
    while (this.#waiting.length > 0) {
      const next = this.#waiting[0];
      if (next === undefined || !this.#canStart(next.read)) break;
      this.#waiting.shift();
      if (next.timer !== undefined) clearTimeout(next.timer);
      next.start();
    }
    const head = this.#waiting[0];
    if (head?.read === true && this.#inFlight < this.#limits.concurrency) this.#recheckWindowLater();
  }

  #canStart(read: boolean): boolean {
    if (this.#inFlight >= this.#limits.concurrency) return false;
    if (!read) return true;
    if (this.#readsInFlight >= this.#limits.readConcurrency) return false;
    const window = this.#rateWindow();
    return window === undefined || window.used < window.limit * this.#limits.readRateShare;
  }

  /** Reads wait for the rate window and no call may end to wake them: look again when the window frees. */
  #recheckWindowLater(): void {
    if (this.#windowTimer !== undefined) return;
    const freesAt = this.#rateWindow()?.freesAt;
    const delay =
      freesAt === undefined ? WINDOW_RECHECK_MS : Math.min(Math.max(freesAt - this.#now(), 1), 60_000);
    this.#windowTimer = setTimeout(() => {
      this.#windowTimer = undefined;
      this.#pump();
    }, delay);
    this.#windowTimer.unref();
  }

  #rateWindow(): RateWindow | undefined {
    const source = this.#inner as Partial<RateWindowSource>;
    return typeof source.rateWindow === 'function' ? source.rateWindow() : undefined;
  }

  /** True if `entry` fits: the queue has room, or a less urgent waiting call gives up its place. */
  #makeRoom(entry: Waiting): boolean {
    if (this.#waiting.length < this.#limits.maxQueued) return true;
    let victim: Waiting | undefined;
    for (const w of this.#waiting) {
      // The newest of the least urgent: it has waited least.
      if (w.rank <= entry.rank) continue;
      if (victim === undefined || w.rank > victim.rank || (w.rank === victim.rank && w.seq > victim.seq)) {
        victim = w;
      }
    }
    if (victim === undefined) return false;
    this.#remove(victim);
    if (victim.timer !== undefined) clearTimeout(victim.timer);
    victim.refuse(this.#busyError(victim.operation));
    return true;
  }

  #insert(entry: Waiting): void {
    const at = this.#waiting.findIndex((w) => w.rank > entry.rank);
    if (at === -1) this.#waiting.push(entry);
    else this.#waiting.splice(at, 0, entry);
  }

  #remove(entry: Waiting): boolean {
    const at = this.#waiting.indexOf(entry);
    if (at === -1) return false;
    this.#waiting.splice(at, 1);
    return true;
  }

  #busyError(operation: string): CofreError {
    return new CofreError(
      'COFRE_ACCOUNT_BUSY',
      `account "${this.id}" is busy: ${this.#limits.maxQueued} calls already wait for ${this.venue}; ${operation} was refused and nothing was sent; retry shortly`,
      { details: { account: this.id, operation, sent: false } },
    );
  }

  #closedError(): CofreError {
    return new CofreError('COFRE_VENUE_CLOSED', `account "${this.id}" was used after it was closed`);
  }

  #deadlineError(operation: string): CofreError {
    return new CofreError(
      'COFRE_REQUEST_DEADLINE_EXCEEDED',
      `account "${this.id}": ${operation} could not start before the request's deadline because the account was busy; nothing was sent to ${this.venue}, so it is safe to send again`,
      { details: { account: this.id, operation, sent: false } },
    );
  }
}

function checkLimits(id: string, limits: AccountQueueLimits): void {
  const positive = (n: number) => Number.isInteger(n) && n >= 1;
  if (
    !positive(limits.concurrency) ||
    !positive(limits.readConcurrency) ||
    limits.readConcurrency > limits.concurrency ||
    !Number.isInteger(limits.maxQueued) ||
    limits.maxQueued < 0 ||
    !(limits.readRateShare > 0 && limits.readRateShare <= 1)
  ) {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      `account "${id}": queue limits must be whole numbers, 1 <= readConcurrency <= concurrency, maxQueued >= 0, 0 < readRateShare <= 1`,
    );
  }
}
