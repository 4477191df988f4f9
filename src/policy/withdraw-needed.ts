import type { CofreConfig } from '../config/config-schema.js';

const GRANTING_EFFECTS = ['allow', 'approve', 'confirm'] as const;

/**
 * Whether any policy can let `withdraw` through on `account` (allowed, approved or confirmed), from the config alone:
 * a rule of an enforced effect that lists `withdraw` and whose `accounts`, `venues` and `modes` conditions admit the
 * account (conditions on the request itself, such as amounts or destinations, may still hold some time, so they
 * count as admitting). Least privilege (issue 12) says a key that can withdraw needs such a rule.
 */
export function withdrawNeeded(config: CofreConfig, account: string): boolean {
  const target = config.accounts[account];
  if (target === undefined) return false;
  for (const policy of Object.values(config.policies)) {
    if (policy.rules === undefined) {
      if (policy.actions?.includes('withdraw') === true && admits(policy.accounts, account)) return true;
      continue;
    }
    for (const rule of policy.rules) {
      if (rule.mode === 'shadow') continue;
      const granted = GRANTING_EFFECTS.some((effect) => rule[effect]?.includes('withdraw') === true);
      if (!granted) continue;
      if (!admits(rule.accounts, account)) continue;
      if (rule.venues !== undefined && !rule.venues.includes(target.venue)) continue;
      if (rule.modes !== undefined && !rule.modes.includes(target.mode)) continue;
      return true;
    }
  }
  return false;
}

function admits(accounts: readonly string[] | undefined, account: string): boolean {
  return accounts === undefined || accounts.includes('*') || accounts.includes(account);
}
