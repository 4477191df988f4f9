/**
 * The reference price an order is judged against (issue 9: price bands, the notional of a market order): the venue's
 * last price from its ticker, through a short per-account, per-symbol cache so that a burst of orders does not cost
 * one ticker request each.
 *
 * - Fresh for `maxAgeMs` (config `orders.referencePriceMaxAge`, default 1 s). The age is counted from when the ticker
 *   request was *sent*, not when its answer arrived, so it never understates how old the venue's price may be: a
 *   price handed out is at most `maxAgeMs` older than the moment the venue was asked.
 * - Single-flight: concurrent lookups of one account and symbol that miss share one ticker request and its answer.
 * - Failures are not cached: the lookups that shared the failed request get its error; the next lookup asks again.
 * - A ticker without a last price is an answer, cached like any other (`price` undefined).
 *
 * What it trusts: the account's `fetchTicker`, which checks the symbol and maps venue errors. Callers should pass
 * the unified symbol (`MarketRules.symbol`), so that one market has one entry. Entries are kept per account and
 * symbol actually looked up (bounded by the venue's markets); nothing is evicted but replaced when stale.
 *
 * Safe to call concurrently (single-threaded bookkeeping, no await between a check and its update).
 */
import { CofreError } from '../errors.js';
import type { Decimal, Ticker, VenueAccount, VenueCallRecord } from './venue-account.js';

/** A reference price as handed out. */
export interface ReferencePrice {
  /** The venue's last price; undefined when its ticker carried none. */
  readonly price: Decimal | undefined;
  /** The whole ticker the price came from (bid and ask, the venue's own timestamp). */
  readonly ticker: Ticker;
  /** Epoch ms (the injected clock) when the ticker request was sent. */
  readonly fetchedAt: number;
  /** Milliseconds from `fetchedAt` to this lookup: how stale the price may be, at most `maxAgeMs`. */
  readonly ageMs: number;
}

/** Options of {@link ReferencePrices}. */
export interface ReferencePricesOptions {
  /** How long a price is used before the venue is asked again, in ms; 0 caches nothing beyond one flight. */
  readonly maxAgeMs: number;
  /** Clock in epoch ms; default `Date.now`. */
  readonly now?: () => number;
}

interface Entry {
  readonly ticker: Ticker;
  readonly fetchedAt: number;
}

/** The reference-price cache of one broker; see the module comment. */
export class ReferencePrices {
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #fresh = new Map<string, Entry>();
  readonly #flights = new Map<string, Promise<Entry>>();

  constructor(options: ReferencePricesOptions) {
    if (!Number.isSafeInteger(options.maxAgeMs) || options.maxAgeMs < 0) {
      throw new CofreError('COFRE_INPUT_INVALID', 'reference price maxAgeMs must be a whole number >= 0');
    }
    this.#maxAgeMs = options.maxAgeMs;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The reference price of `symbol` at `account`: the cached one while fresh, else the answer of a ticker request
   * (shared with concurrent lookups). `record` goes to the ticker request this lookup starts, if it starts one (a
   * ticker is public: no credentials are used). Rejects with the account's error when the request fails.
   */
  async get(account: VenueAccount, symbol: string, record?: VenueCallRecord): Promise<ReferencePrice> {
    const key = `${account.id}\u0000${symbol}`;
    const cached = this.#fresh.get(key);
    if (cached !== undefined && this.#now() - cached.fetchedAt <= this.#maxAgeMs)
      return this.#handOut(cached);
    let flight = this.#flights.get(key);
    if (flight === undefined) {
      flight = this.#fetch(key, account, symbol, record);
      this.#flights.set(key, flight);
    }
    return this.#handOut(await flight);
  }

  /** Forgets every cached price (not the requests in flight). */
  clear(): void {
    this.#fresh.clear();
  }

  async #fetch(key: string, account: VenueAccount, symbol: string, record?: VenueCallRecord): Promise<Entry> {
    const fetchedAt = this.#now();
    try {
      const entry: Entry = { ticker: await account.fetchTicker(symbol, record), fetchedAt };
      this.#fresh.set(key, entry);
      return entry;
    } finally {
      // Success or failure, the next miss starts a new request; a failure leaves the older entry (stale) unused.
      this.#flights.delete(key);
    }
  }

  #handOut(entry: Entry): ReferencePrice {
    return {
      price: entry.ticker.last,
      ticker: entry.ticker,
      fetchedAt: entry.fetchedAt,
      ageMs: Math.max(0, this.#now() - entry.fetchedAt),
    };
  }
}
