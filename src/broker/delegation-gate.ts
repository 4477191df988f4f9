import { describeLimit } from '../identity/delegation.js';
import type { DelegationGrant, DelegationLimit } from '../identity/delegation-types.js';
import type {
  LimitCheck,
  LimitView,
  PolicyDecision,
  PolicyEngine,
  PolicyQuestion,
} from '../policy/policy-types.js';
import type { ActionName } from './actions.js';
import type { AuthenticatedAgent } from './agent-tokens.js';

// Issue 17: a delegated agent's request must fit every grant of its chain, on top of the root's policy (asked for
// the principal, so agent-scoped limits are the root's budget the whole chain draws from). Each grant's own limits
// are reserved with the policy's, atomically: a child's order counts against its own budget, its parent's and the
// root's.

/** Actions about one market: a grant with `symbols` allows them only on a market it names. */
const MARKET_ACTIONS: ReadonlySet<ActionName> = new Set<ActionName>([
  'get_ticker',
  'get_open_orders',
  'get_order',
  'preview_order',
  'place_order',
  'cancel_order',
  'cancel_all_orders',
]);

/** The rule a request refused by a grant is recorded under. */
export const DELEGATION_RULE = 'delegation';

/**
 * The policy's decision on `question` for `agent`, narrowed by its delegation grants: denied (rule `delegation`,
 * with a reason naming what the token lacks) when a grant does not allow the action, account or market, or when a
 * grant's notional limit cannot measure the order; otherwise the policy's decision with each grant's limits added as
 * checks. An agent without grants gets the policy's decision unchanged. Pure.
 */
export function decideFor(
  policy: Pick<PolicyEngine, 'decide'>,
  agent: AuthenticatedAgent,
  question: PolicyQuestion,
): PolicyDecision {
  const grants = agent.grants ?? [];
  const refusal = grantRefusalFor(agent, question);
  const decision = policy.decide(question);
  if (refusal !== undefined) {
    return {
      ...decision,
      decision: 'deny',
      rule: DELEGATION_RULE,
      reason: refusal,
      approvers: undefined,
      limits: [],
    };
  }
  if (decision.decision === 'deny' || grants.length === 0) return decision;
  const checks: LimitCheck[] = [];
  for (const [i, grant] of grants.entries()) {
    for (const [j, limit] of (grant.limits ?? []).entries()) {
      const amount = measureOf(limit, question);
      if (amount === undefined) continue;
      if (typeof amount === 'object') {
        return { ...decision, decision: 'deny', rule: DELEGATION_RULE, reason: amount.reason, limits: [] };
      }
      checks.push({ ...checkOf(grant, i, j, limit), amount });
    }
  }
  return { ...decision, limits: [...decision.limits, ...checks] };
}

/**
 * Why `agent`'s grants refuse the question, in words an agent can act on; undefined when every grant allows it (or
 * it has none). The resolve step asks it first, so a request outside the grants makes cofre ask no venue anything.
 */
export function grantRefusalFor(agent: AuthenticatedAgent, question: PolicyQuestion): string | undefined {
  const grants = agent.grants ?? [];
  return grants.length === 0 ? undefined : grantRefusal(grants, question);
}

function grantRefusal(grants: readonly DelegationGrant[], question: PolicyQuestion): string | undefined {
  const action = question.action as ActionName;
  const symbol = question.order?.symbol ?? question.symbol;
  for (const grant of grants) {
    if (grant.actions !== undefined && !grant.actions.includes(action))
      return `your delegated token may not ask for ${action} (it may: ${listed(grant.actions)})`;
    if (
      question.account !== undefined &&
      grant.accounts !== undefined &&
      !grant.accounts.includes(question.account)
    )
      return `your delegated token may not use account "${question.account}" (it may: ${listed(grant.accounts)})`;
    if (grant.symbols !== undefined && MARKET_ACTIONS.has(action)) {
      if (symbol === undefined)
        return `your delegated token is held to ${listed(grant.symbols)}: name one of those markets in symbol`;
      if (!grant.symbols.includes(symbol))
        return `your delegated token may not use market ${symbol} (it may: ${listed(grant.symbols)})`;
    }
  }
  return undefined;
}

/** What the request uses of a grant's limit; undefined when the limit does not count it. */
function measureOf(
  limit: DelegationLimit,
  question: PolicyQuestion,
): string | { reason: string } | undefined {
  const { order, withdrawal } = question;
  switch (limit.measure) {
    case 'notional':
      if (order === undefined) return undefined;
      // Fail closed, as policy limits do: an order in another quote would otherwise escape the cap.
      if (order.quote !== limit.unit)
        return {
          reason: `your delegated token's limit counts order value in ${limit.unit ?? '?'}; an order in ${order.quote} cannot be measured against it`,
        };
      return order.notional;
    case 'orders':
      return order === undefined ? undefined : '1';
    case 'withdrawals':
      return withdrawal !== undefined && withdrawal.asset === limit.unit ? withdrawal.amount : undefined;
  }
}

/** The counter a grant's limit draws on, keyed by the delegated token: `delegation:<tokenId>|notional|USDT|<ms>`. */
function checkOf(
  grant: DelegationGrant,
  i: number,
  j: number,
  limit: DelegationLimit,
): Omit<LimitCheck, 'amount'> {
  return {
    limit: `delegation grants[${i}].limits[${j}] (${describeLimit(limit)})`,
    key: `delegation:${grant.tokenId}|${limit.measure}|${limit.unit ?? 'count'}|${limit.windowMs}`,
    measure: limit.measure,
    windowMs: limit.windowMs,
    cap: limit.cap,
  };
}

/** The grants' limits as `get_limits` shows them (usage is filled in by the caller). */
export function grantLimitViews(agent: AuthenticatedAgent): LimitView[] {
  return (agent.grants ?? []).flatMap((grant, i) =>
    (grant.limits ?? []).map((limit, j) => ({
      ...checkOf(grant, i, j, limit),
      scope: `delegation:${grant.tokenId}`,
      unit: limit.unit,
    })),
  );
}

function listed(values: readonly string[]): string {
  return values.length === 0 ? 'nothing' : values.join(', ');
}
