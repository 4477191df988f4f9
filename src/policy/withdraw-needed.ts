import type { CofreConfig } from '../config/config-schema.js';
import type { RuleConfig } from '../config/policy-config.js';

const GRANTING_EFFECTS = ['allow', 'approve', 'confirm'] as const;

/**
 * Conditions a withdrawal never satisfies: it carries no symbol, side, type, notional or price, and a condition on
 * something the request lacks does not hold (rule-conditions.ts). A rule listing `withdraw` with one of them (legal
 * when it lists an order action too) never lets a withdrawal through, and a `deny` with one never stops one.
 */
const NEVER_ON_WITHDRAW = ['symbols', 'sides', 'types', 'minNotional', 'maxNotional', 'priceBand'] as const;

/**
 * Conditions on the withdrawal itself or on the time: each may hold for some request, so a granting rule with them
 * counts as able to grant, and a `deny` with them as unable to deny every withdrawal.
 */
const REQUEST_CONDITIONS = ['assets', 'destinations', 'minAmount', 'maxAmount', 'hours'] as const;

/**
 * Whether any policy can let `withdraw` through on `account` (allowed, approved or confirmed), from the config alone.
 * Least privilege (issue 12) says a key that can withdraw needs such a policy.
 *
 * A policy can when one of its enforced `allow`/`approve`/`confirm` rules lists `withdraw`, its `accounts`, `venues`
 * and `modes` admit the account, and it has no condition a withdrawal never satisfies (`symbols`, `sides`, ...);
 * conditions on the request (amounts, destinations, assets, hours) may hold some time, so they count as admitting.
 * Unless an enforced `deny` of the same policy takes `withdraw` away on that account for every request (no request
 * condition): deny wins over everything within a policy. The shorthand `{ accounts, actions }` is one allow rule.
 * `shadow` rules decide nothing, so they count for neither side.
 *
 * Conservative where it cannot know: it never answers false for an account some agent could withdraw from (which
 * would refuse an account that needs its key's withdraw permission); it may answer true for a policy no agent uses.
 */
export function withdrawNeeded(config: Pick<CofreConfig, 'accounts' | 'policies'>, account: string): boolean {
  const target = config.accounts[account];
  if (target === undefined) return false;
  const on = { id: account, venue: target.venue, mode: target.mode };
  return Object.values(config.policies).some((policy) => {
    if (policy.rules === undefined) {
      return policy.actions?.includes('withdraw') === true && admitsAccount(policy.accounts, account);
    }
    const enforced = policy.rules.filter((rule) => rule.mode !== 'shadow' && appliesTo(rule, on));
    const grants = enforced.some((rule) =>
      GRANTING_EFFECTS.some((effect) => rule[effect]?.includes('withdraw') === true),
    );
    const deniesAll = enforced.some(
      (rule) =>
        rule.deny?.includes('withdraw') === true &&
        REQUEST_CONDITIONS.every((key) => rule[key] === undefined),
    );
    return grants && !deniesAll;
  });
}

/** Whether `rule` can ever match a withdrawal on the account: its account conditions admit it, none rules it out. */
function appliesTo(
  rule: RuleConfig,
  on: { readonly id: string; readonly venue: string; readonly mode: string },
): boolean {
  if (NEVER_ON_WITHDRAW.some((key) => rule[key] !== undefined)) return false;
  if (!admitsAccount(rule.accounts, on.id)) return false;
  if (rule.venues !== undefined && !rule.venues.includes(on.venue)) return false;
  return rule.modes === undefined || (rule.modes as readonly string[]).includes(on.mode);
}

function admitsAccount(accounts: readonly string[] | undefined, account: string): boolean {
  return accounts === undefined || accounts.includes('*') || accounts.includes(account);
}
