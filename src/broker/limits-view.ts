import { rightsOf } from '../identity/delegation.js';
import type { LimitView, PolicyEngine } from '../policy/policy-types.js';
import { accountOfScope } from '../policy/rule-limits.js';
import type { LimitLedger } from '../state/limit-ledger.js';
import { compareDecimal, subtractDecimal } from '../venues/decimal.js';
import type { Decimal } from '../venues/venue-account.js';
import { type AuthenticatedAgent, principalOf } from './agent-tokens.js';
import { grantLimitViews } from './delegation-gate.js';

/** One limit as `get_limits` answers it: what it is, how much of it is used now, and what remains. */
export interface LimitUsage extends LimitView {
  readonly used: Decimal;
  readonly remaining: Decimal;
}

/**
 * Every limit that applies to an agent with its usage at `at` (committed within the window plus reserved), for
 * `get_limits` and `cofre policy explain`.
 */
export async function limitsView(
  policy: PolicyEngine,
  ledger: Pick<LimitLedger, 'usage'>,
  agent: AuthenticatedAgent,
  at: Date,
): Promise<readonly LimitUsage[]> {
  // Issue 17: a delegated agent's policy limits are its principal's (the budget its chain draws from), then its
  // grants' own.
  // Per-account limits of accounts its grants exclude are not its concern (nor its business to see).
  const accounts = agent.grants === undefined ? undefined : new Set(rightsOf(agent, policy).accounts);
  const policyViews = policy.limitsFor(principalOf(agent), agent.policy).filter((view) => {
    const account = accountOfScope(view.scope);
    return accounts === undefined || account === undefined || accounts.has(account);
  });
  const views = [...policyViews, ...grantLimitViews(agent)];
  const usage = await ledger.usage(views, at);
  return views.map((view) => {
    const used = usage.get(view.key) ?? '0';
    const remaining = compareDecimal(used, view.cap) >= 0 ? '0' : subtractDecimal(view.cap, used);
    return { ...view, used, remaining };
  });
}
