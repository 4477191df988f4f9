import type { LimitConfig, LimitScope } from '../config/policy-config.js';
import type { LimitCheck, LimitMeasure, LimitView, PolicyQuestion } from './policy-types.js';
import { transactionNotional, transferMeasure } from './wallet-limits.js';

/** One limit of a policy, ready to measure requests. */
export interface CompiledLimit {
  /** `policies.<p>.limits[<i>]`, or its `name:`. */
  readonly label: string;
  readonly per: LimitScope;
  readonly measure: LimitMeasure;
  readonly cap: string;
  readonly windowMs: number | undefined;
  /** Quote assets (notional, counted 1:1, sorted) or the asset (withdrawals); undefined for counts. */
  readonly units: readonly string[] | undefined;
  /** Only requests on these accounts count; undefined: every account. */
  readonly accounts: ReadonlySet<string> | undefined;
  /** Issue 19: only requests on these wallets count; undefined: every wallet. */
  readonly wallets: ReadonlySet<string> | undefined;
}

export function compileLimit(policy: string, index: number, limit: LimitConfig): CompiledLimit {
  const measure: LimitMeasure =
    limit.notional !== undefined
      ? 'notional'
      : limit.orders !== undefined
        ? 'orders'
        : limit.openOrders !== undefined
          ? 'openOrders'
          : limit.transfers !== undefined
            ? 'transfers'
            : 'withdrawals';
  const cap = String(
    limit.notional ?? limit.orders ?? limit.openOrders ?? limit.transfers ?? limit.withdrawals ?? '0',
  );
  const quote =
    limit.quote === undefined ? undefined : typeof limit.quote === 'string' ? [limit.quote] : limit.quote;
  return {
    label: limit.name ?? `policies.${policy}.limits[${index}]`,
    per: limit.per,
    measure,
    cap,
    windowMs: limit.window,
    units: quote !== undefined ? [...quote].sort() : limit.asset !== undefined ? [limit.asset] : undefined,
    accounts: limit.accounts === undefined ? undefined : new Set(limit.accounts),
    wallets: limit.wallets === undefined ? undefined : new Set(limit.wallets),
  };
}

/**
 * The counter a limit draws on: `<scope>|<measure>|<unit>|<windowMs>`, e.g. `agent:bot-1|notional|USDT|86400000`.
 * Several quotes counted together are joined with `+` (`USDC+USDT`); counts have unit `count`; `openOrders` has no
 * window (`-`). Requests with the same key share one budget.
 */
export function limitKey(scope: string, limit: CompiledLimit): string {
  const unit = limit.units === undefined ? 'count' : limit.units.join('+');
  return `${scope}|${limit.measure}|${unit}|${limit.windowMs === undefined ? '-' : String(limit.windowMs)}`;
}

/** The scope key of a limit for one agent and account; undefined when it needs an account and there is none. */
export function scopeKey(
  per: LimitScope,
  agentId: string,
  account: string | undefined,
  wallet?: string,
): string | undefined {
  switch (per) {
    case 'wallet':
      // Issue 19: shared by every agent sending from the wallet.
      return wallet === undefined ? undefined : `wallet:${wallet}`;
    case 'global':
      return 'global';
    case 'agent':
      return `agent:${agentId}`;
    case 'account':
      return account === undefined ? undefined : `account:${account}`;
    case 'agent-account':
      return account === undefined ? undefined : `agent-account:${agentId}:${account}`;
  }
}

/** The account a scope of {@link scopeKey} is about, or undefined for `global`, `agent` and `wallet` scopes. */
export function accountOfScope(scope: string): string | undefined {
  if (scope.startsWith('account:')) return scope.slice('account:'.length);
  // `agent-account:<agent>:<account>`: agent ids hold no ":", account ids may not either (config names).
  if (scope.startsWith('agent-account:')) return scope.slice(scope.lastIndexOf(':') + 1);
  return undefined;
}

/** A notional limit that cannot measure an order (its quote is not among the limit's): the request is denied. */
export interface Unmeasurable {
  readonly limit: CompiledLimit;
  readonly reason: string;
}

/**
 * The checks a request draws on under `limits`, or the first limit that cannot measure it (fail closed: an order
 * in a quote a notional limit does not count would otherwise escape the cap). Orders (`place_order`,
 * `preview_order`) count for notional, orders and openOrders; withdrawals of the limit's asset for withdrawals.
 */
export function limitChecks(
  limits: readonly CompiledLimit[],
  question: PolicyQuestion,
): { readonly checks: readonly LimitCheck[] } | Unmeasurable {
  const checks: LimitCheck[] = [];
  for (const limit of limits) {
    if (
      limit.accounts !== undefined &&
      (question.account === undefined || !limit.accounts.has(question.account))
    )
      continue;
    if (limit.wallets !== undefined && (question.wallet === undefined || !limit.wallets.has(question.wallet)))
      continue;
    // Scope first: a limit whose scope the request lacks (an account budget, for a transaction) does not apply, so
    // it cannot refuse what it could not measure either.
    const scope = scopeKey(limit.per, question.agentId, question.account, question.wallet);
    if (scope === undefined) continue;
    const amount = measureOf(limit, question);
    if (amount === undefined) continue;
    if (typeof amount === 'object') return { limit, reason: amount.reason };
    checks.push({
      limit: limit.label,
      key: limitKey(scope, limit),
      measure: limit.measure,
      windowMs: limit.windowMs,
      cap: limit.cap,
      amount,
    });
  }
  return { checks };
}

function measureOf(limit: CompiledLimit, question: PolicyQuestion): string | { reason: string } | undefined {
  const { order, withdrawal } = question;
  switch (limit.measure) {
    case 'notional':
      // Issue 19: transactions and typed data count in their chain's quote (src/policy/wallet-limits.ts).
      if (order === undefined) return transactionNotional(limit, question);
      if (limit.units?.includes(order.quote) !== true)
        return {
          reason: `${limit.label} counts order value in ${(limit.units ?? []).join(', ')}; an order in ${order.quote} cannot be measured against it`,
        };
      return order.notional;
    case 'orders':
    case 'openOrders':
      return order === undefined ? undefined : '1';
    case 'withdrawals':
      return withdrawal !== undefined && limit.units?.includes(withdrawal.asset) === true
        ? withdrawal.amount
        : undefined;
    case 'transfers':
      // Issue 19: what transactions and typed data move of the limit's asset (wallet-limits.ts).
      return transferMeasure(limit, question);
  }
}

/**
 * Every limit for an agent, with account-scoped ones expanded over `accounts` (those it may use) and wallet-scoped
 * ones over `wallets` (issue 19: those it may use, within the limit's `wallets:`).
 */
export function limitViews(
  limits: readonly CompiledLimit[],
  agentId: string,
  accounts: readonly string[],
  wallets: readonly string[] = [],
): LimitView[] {
  const views: LimitView[] = [];
  for (const limit of limits) {
    const perAccount = limit.per === 'account' || limit.per === 'agent-account';
    const over = perAccount ? accounts.filter((a) => limit.accounts?.has(a) ?? true) : [undefined];
    const overWallets =
      limit.per === 'wallet' ? wallets.filter((w) => limit.wallets?.has(w) ?? true) : [undefined];
    for (const [account, wallet] of over.flatMap((a) => overWallets.map((w) => [a, w] as const))) {
      const scope = scopeKey(limit.per, agentId, account, wallet);
      if (scope === undefined) continue;
      views.push({
        limit: limit.label,
        key: limitKey(scope, limit),
        measure: limit.measure,
        scope,
        windowMs: limit.windowMs,
        cap: limit.cap,
        unit: limit.units?.join('+'),
      });
    }
  }
  return views;
}
