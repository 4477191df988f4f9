import type { AccountConfig } from '../config/config-schema.js';
import type { RuleConfig } from '../config/policy-config.js';
import { compareDecimal, multiplyDecimal } from '../venues/decimal.js';
import { compileEncryptionConditions } from './encryption-conditions.js';
import { compileSymbolGlob } from './glob.js';
import { compilePathGlob } from './path-glob.js';
import type { PolicyQuestion } from './policy-types.js';
import { type LocalTime, TimeWindow } from './time-window.js';
import { compileWalletConditions } from './wallet-conditions.js';

/** In a rule's `accounts`: every configured account. */
export const ANY_ACCOUNT = '*';

/** What one question looks like to conditions, with what is costly to work out computed once, on first use. */
export class QuestionView {
  readonly question: PolicyQuestion;
  readonly #accounts: Readonly<Record<string, AccountConfig>>;
  readonly #now: () => Date;
  readonly #walletChains: Readonly<Record<string, string>>;
  #at: Date | undefined;
  #local: Map<string, LocalTime> | undefined;

  /** `walletChains`: each configured wallet's chain (issue 19), for `chains` on actions without a transaction. */
  constructor(
    question: PolicyQuestion,
    accounts: Readonly<Record<string, AccountConfig>>,
    now: () => Date,
    walletChains: Readonly<Record<string, string>> = {},
  ) {
    this.question = question;
    this.#accounts = accounts;
    this.#now = now;
    this.#walletChains = walletChains;
  }

  /** The chain of the question's wallet: the transaction's, else the configured one; undefined for none. */
  get walletChain(): string | undefined {
    const { transaction, wallet } = this.question;
    if (transaction !== undefined) return transaction.chain;
    return wallet === undefined || !Object.hasOwn(this.#walletChains, wallet)
      ? undefined
      : this.#walletChains[wallet];
  }

  /** The account's config; undefined for an unknown account (or none). */
  get account(): AccountConfig | undefined {
    const id = this.question.account;
    return id === undefined || !Object.hasOwn(this.#accounts, id) ? undefined : this.#accounts[id];
  }

  get symbol(): string | undefined {
    return this.question.order?.symbol ?? this.question.symbol;
  }

  /** The clock, read once per question so every rule sees the same instant. */
  get at(): Date {
    this.#at ??= this.#now();
    return this.#at;
  }

  /** The local time in `window`'s zone, worked out once per zone per question (Intl formatting dominates). */
  localIn(window: TimeWindow): LocalTime {
    let local = this.#local?.get(window.zone);
    if (local === undefined) {
      local = window.local(this.at);
      (this.#local ??= new Map()).set(window.zone, local);
    }
    return local;
  }
}

/** Why a condition did not hold: what the rule wants and what this request is, in words an agent can act on. */
export interface Miss {
  readonly want: string;
  readonly got: string;
}

/** One compiled condition of a rule. `check` is pure and returns undefined when the condition holds. */
export interface Condition {
  readonly key: string;
  /** `accounts`, `venues` and `modes`: the conditions an unknown account must give the same answer for. */
  readonly onAccount: boolean;
  /**
   * Issue 19: a built-in gate (raw calldata, approvals) rather than a condition the operator wrote. A rule failing it
   * is never offered as the nearest miss: no change to the request would make that rule permit it.
   */
  readonly gate?: boolean | undefined;
  /** What the condition asks for, e.g. `up to maxNotional 500`. */
  readonly want: string;
  check(view: QuestionView): Miss | undefined;
}

const list = (items: readonly string[]): string => items.join(', ');

/**
 * Compiles the conditions of one rule, in a fixed order (cheap and account-related first). `accounts` expands `*`.
 *
 * A condition on something the question does not carry (`symbols` for `list_accounts`, `destinations` for an
 * order) does not hold, whatever the effect: a `deny` with `symbols` does not deny `get_balance`. The exception is
 * `accounts`, `venues` and `modes` on actions not tied to one account (`list_accounts`, `get_limits`): they hold,
 * since those answers are themselves limited to the accounts the policy allows.
 */
export function compileConditions(rule: RuleConfig): readonly Condition[] {
  const out: Condition[] = [];
  if (rule.accounts !== undefined) out.push(accountsCondition(rule.accounts));
  if (rule.venues !== undefined) out.push(accountFieldCondition('venues', rule.venues, (a) => a.venue));
  if (rule.modes !== undefined) out.push(accountFieldCondition('modes', rule.modes, (a) => a.mode));
  if (rule.symbols !== undefined) out.push(symbolsCondition(rule.symbols));
  if (rule.sides !== undefined) out.push(orderFieldCondition('sides', rule.sides, (o) => o.side));
  if (rule.types !== undefined) out.push(orderFieldCondition('types', rule.types, (o) => o.type));
  // Issue 19: a transaction moves several assets to several recipients. A rule that permits must hold for every one
  // of them; a `deny` rule holds when any one of them matches (else a harmless move beside a denied one would slip
  // it past the deny).
  const each: Quantifier = rule.deny === undefined ? 'every' : 'some';
  if (rule.assets !== undefined) out.push(assetsCondition(rule.assets, each));
  if (rule.destinations !== undefined) out.push(destinationsCondition(rule.destinations, each));
  if (rule.minNotional !== undefined) out.push(notionalCondition('minNotional', rule.minNotional));
  if (rule.maxNotional !== undefined) out.push(notionalCondition('maxNotional', rule.maxNotional));
  if (rule.minAmount !== undefined) out.push(amountCondition('minAmount', rule.minAmount, each));
  if (rule.maxAmount !== undefined) out.push(amountCondition('maxAmount', rule.maxAmount, each));
  if (rule.priceBand !== undefined) out.push(priceBandCondition(rule.priceBand));
  if (rule.services !== undefined) out.push(servicesCondition(rule.services));
  if (rule.methods !== undefined) out.push(methodsCondition(rule.methods));
  if (rule.paths !== undefined) out.push(pathsCondition(rule.paths));
  if (rule.hours !== undefined) out.push(hoursCondition(new TimeWindow(rule.hours)));
  if (rule.databases !== undefined) out.push(databasesCondition(rule.databases));
  // Issue 19: wallets, transactions and typed data; encryption keys and purposes.
  out.push(...compileWalletConditions(rule), ...compileEncryptionConditions(rule));
  return out;
}

function accountsCondition(accounts: readonly string[]): Condition {
  const any = accounts.includes(ANY_ACCOUNT);
  const set = new Set(accounts);
  return {
    key: 'accounts',
    onAccount: true,
    want: `only on accounts ${list(accounts)}`,
    check: ({ question }) => {
      // SECURITY: decided on the id alone, so an account that exists and one that does not get the same answer.
      if (question.account === undefined || any || set.has(question.account)) return undefined;
      return { want: `only on accounts ${list(accounts)}`, got: `not on account "${question.account}"` };
    },
  };
}

function accountFieldCondition(
  key: 'venues' | 'modes',
  values: readonly string[],
  field: (account: AccountConfig) => string,
): Condition {
  const set = new Set(values);
  const want = `only on ${key} ${list(values)}`;
  return {
    key,
    onAccount: true,
    want,
    check: (view) => {
      if (view.question.account === undefined) return undefined;
      const account = view.account;
      if (account !== undefined && set.has(field(account))) return undefined;
      // SECURITY: the same words for an unknown account as for one on another venue or mode.
      return { want, got: `account "${view.question.account}" is not on one of them` };
    },
  };
}

function symbolsCondition(patterns: readonly string[]): Condition {
  const tests = patterns.map(compileSymbolGlob);
  const want = `only for symbols ${list(patterns)}`;
  return {
    key: 'symbols',
    onAccount: false,
    want,
    check: (view) => {
      const symbol = view.symbol;
      if (symbol !== undefined && tests.some((t) => t(symbol))) return undefined;
      return { want, got: symbol === undefined ? 'this request names no symbol' : `not for ${symbol}` };
    },
  };
}

function orderFieldCondition(
  key: 'sides' | 'types',
  values: readonly string[],
  field: (order: NonNullable<PolicyQuestion['order']>) => string,
): Condition {
  const set = new Set(values);
  const want = `only for ${key} ${list(values)}`;
  return {
    key,
    onAccount: false,
    want,
    check: ({ question: { order } }) => {
      if (order !== undefined && set.has(field(order))) return undefined;
      return {
        want,
        got: order === undefined ? 'this request is not an order' : `this order is ${field(order)}`,
      };
    },
  };
}

/** How a condition on a transaction's moves or recipients holds: for every one (permitting rules) or some (deny). */
type Quantifier = 'every' | 'some';

/** The first item of `items` that decides `holds` under `each`: for `every`, one that fails; for `some`, none. */
function failing<T>(items: readonly T[], each: Quantifier, holds: (item: T) => boolean): T | undefined {
  if (each === 'every') return items.find((item) => !holds(item));
  return items.some(holds) ? undefined : items[0];
}

function assetsCondition(assets: readonly string[], each: Quantifier): Condition {
  const set = new Set(assets);
  const want = `only for assets ${list(assets)}`;
  return {
    key: 'assets',
    onAccount: false,
    want,
    check: ({ question: { order, withdrawal, transaction } }) => {
      if (order !== undefined && (set.has(order.base) || set.has(order.quote))) return undefined;
      if (withdrawal !== undefined && set.has(withdrawal.asset)) return undefined;
      // Issue 19: every asset the transaction moves or authorises must be listed.
      if (transaction !== undefined) {
        if (transaction.moves.length === 0) return { want, got: 'this transaction moves no known asset' };
        const other = failing(transaction.moves, each, (m) => set.has(m.asset));
        return other === undefined ? undefined : { want, got: `this transaction moves ${other.asset}` };
      }
      const got =
        order !== undefined
          ? `this order is in ${order.base} and ${order.quote}`
          : withdrawal !== undefined
            ? `this withdrawal is of ${withdrawal.asset}`
            : 'this request names no asset';
      return { want, got };
    },
  };
}

function destinationsCondition(labels: readonly string[], each: Quantifier): Condition {
  const set = new Set(labels);
  const want = `only to destinations ${list(labels)}`;
  return {
    key: 'destinations',
    onAccount: false,
    want,
    check: ({ question: { withdrawal, transaction } }) => {
      if (withdrawal !== undefined && set.has(withdrawal.destination)) return undefined;
      // Issue 19: every label and contract the transaction sends to or authorises must be listed.
      if (transaction !== undefined) {
        if (transaction.recipients.length === 0)
          return { want, got: 'this transaction names no destination' };
        const other = failing(transaction.recipients, each, (r) => set.has(r));
        return other === undefined ? undefined : { want, got: `not to "${other}"` };
      }
      return {
        want,
        got:
          withdrawal === undefined
            ? 'this request is not a withdrawal or transaction'
            : `not to "${withdrawal.destination}"`,
      };
    },
  };
}

function notionalCondition(key: 'minNotional' | 'maxNotional', bound: string): Condition {
  const max = key === 'maxNotional';
  const want = `${max ? 'up to' : 'from'} ${key} ${bound}`;
  return {
    key,
    onAccount: false,
    want,
    check: ({ question: { order, transaction } }) => {
      const within = (value: string): boolean => {
        const c = compareDecimal(value, bound);
        return max ? c <= 0 : c >= 0;
      };
      if (order !== undefined) {
        if (within(order.notional)) return undefined;
        return { want: `${want} ${order.quote}`, got: `this order is ${order.notional} ${order.quote}` };
      }
      if (transaction !== undefined) {
        const notional = transaction.notional;
        // An unpriced transaction has no value to compare: it does not satisfy the bound, either way.
        if (notional === undefined)
          return {
            want,
            got: `this transaction has no value: chain "${transaction.chain}" has no price for what it moves`,
          };
        if (within(notional.amount)) return undefined;
        return {
          want: `${want} ${notional.quote}`,
          got: `this transaction is worth ${notional.amount} ${notional.quote}`,
        };
      }
      return { want, got: 'this request is not an order or transaction' };
    },
  };
}

function amountCondition(key: 'minAmount' | 'maxAmount', bound: string, each: Quantifier): Condition {
  const max = key === 'maxAmount';
  const want = `${max ? 'up to' : 'from'} ${key} ${bound}`;
  const within = (amount: string): boolean => {
    const c = compareDecimal(amount, bound);
    return max ? c <= 0 : c >= 0;
  };
  return {
    key,
    onAccount: false,
    want,
    check: ({ question: { order, withdrawal, transaction } }) => {
      // Issue 19: every move (for an approval, the allowance) must be within the bound.
      if (transaction !== undefined) {
        if (transaction.moves.length === 0) return { want, got: 'this transaction moves no known amount' };
        const out = failing(transaction.moves, each, (m) => within(m.amount));
        if (out === undefined) return undefined;
        const what = out.kind === 'approval' ? 'approves' : 'moves';
        return { want: `${want} ${out.asset}`, got: `this transaction ${what} ${out.amount} ${out.asset}` };
      }
      const amount = order?.amount ?? withdrawal?.amount;
      const unit = order?.base ?? withdrawal?.asset ?? '';
      if (amount === undefined) return { want, got: 'this request has no amount' };
      if (within(amount)) return undefined;
      return {
        want: `${want} ${unit}`,
        got: `this ${order === undefined ? 'withdrawal' : 'order'} is ${amount} ${unit}`,
      };
    },
  };
}

/** `"2%"` → the factors 0.98 and 1.02 as exact decimal text (the band has at most 6 fraction digits). */
export function bandFactors(band: string): { readonly low: string; readonly high: string } {
  const [whole = '0', fraction = ''] = band.slice(0, -1).split('.');
  const percent = BigInt(whole) * 1_000_000n + BigInt(fraction.padEnd(6, '0')); // in millionths of a percent
  const hundred = 100n * 1_000_000n;
  const text = (v: bigint): string => `${v / hundred}.${(v % hundred).toString().padStart(8, '0')}`;
  return { low: text(hundred - percent), high: text(hundred + percent) };
}

function priceBandCondition(band: string): Condition {
  const { low, high } = bandFactors(band);
  const want = `within priceBand ${band} of the reference price`;
  return {
    key: 'priceBand',
    onAccount: false,
    want,
    check: ({ question: { order } }) => {
      if (order === undefined) return { want, got: 'this request is not an order' };
      const reference = order.referencePrice;
      // A market order's price is whatever the book gives; without a reference price nothing bounds it.
      if (reference === undefined) return { want, got: 'there is no reference price for this market now' };
      if (order.price === undefined) return undefined;
      const lower = multiplyDecimal(reference, low);
      const upper = multiplyDecimal(reference, high);
      if (compareDecimal(order.price, lower) >= 0 && compareDecimal(order.price, upper) <= 0)
        return undefined;
      return {
        want: `${want} ${reference} (${lower} to ${upper})`,
        got: `the limit price is ${order.price}`,
      };
    },
  };
}

function hoursCondition(window: TimeWindow): Condition {
  const want = `only at ${window.description}`;
  return {
    key: 'hours',
    onAccount: false,
    want,
    check: (view) => {
      const local = view.localIn(window);
      return window.contains(local) ? undefined : { want, got: `it is ${local.text} now` };
    },
  };
}

/** In a rule's `services`: every configured service. */
export const ANY_SERVICE = '*';

function servicesCondition(services: readonly string[]): Condition {
  const any = services.includes(ANY_SERVICE);
  const set = new Set(services);
  const want = `only to services ${list(services)}`;
  return {
    key: 'services',
    onAccount: false,
    want,
    check: ({ question: { http } }) => {
      // SECURITY: decided on the name alone, so a service that exists and one that does not get the same answer.
      if (http !== undefined && (any || set.has(http.service))) return undefined;
      return {
        want,
        got: http === undefined ? 'this request is not an http_request' : `not to "${http.service}"`,
      };
    },
  };
}

function methodsCondition(methods: readonly string[]): Condition {
  const set = new Set(methods);
  const want = `only with methods ${list(methods)}`;
  return {
    key: 'methods',
    onAccount: false,
    want,
    check: ({ question: { http } }) => {
      if (http !== undefined && set.has(http.method)) return undefined;
      return {
        want,
        got: http === undefined ? 'this request is not an http_request' : `not with ${http.method}`,
      };
    },
  };
}

function pathsCondition(patterns: readonly string[]): Condition {
  const tests = patterns.map(compilePathGlob);
  const want = `only to paths ${list(patterns)}`;
  return {
    key: 'paths',
    onAccount: false,
    want,
    check: ({ question: { http } }) => {
      if (http !== undefined && tests.some((t) => t(http.path))) return undefined;
      return {
        want,
        got: http === undefined ? 'this request is not an http_request' : `not to ${http.path}`,
      };
    },
  };
}

/** `databases` (issue 15): the database a `connect_database` names is one of them; `*` is every one. */
function databasesCondition(names: readonly string[]): Condition {
  const any = names.includes('*');
  const set = new Set(names);
  const want = `only to databases ${list(names)}`;
  return {
    key: 'databases',
    onAccount: false,
    want,
    check: ({ question: { database } }) => {
      if (database !== undefined && (any || set.has(database))) return undefined;
      return {
        want,
        got: database === undefined ? 'this request names no database' : `not to "${database}"`,
      };
    },
  };
}
