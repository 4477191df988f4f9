import type { RuleConfig } from '../config/policy-config.js';
import type { Condition } from './rule-conditions.js';

/**
 * Issue 19: the conditions of a rule on wallet actions — `wallets`, `chains`, `contracts`, `functions`, `selectors`,
 * `maxGas`, `maxGasPrice` — and the wallet side of `destinations`, `assets`, `minAmount`/`maxAmount` and
 * `maxNotional` on a resolved transaction (`question.transaction`).
 *
 * CONTRACT STUB (h-policy implements). Until then a rule with any of these keys throws when compiled.
 */
export function compileWalletConditions(rule: RuleConfig): readonly Condition[] {
  const keys = ['wallets', 'chains', 'contracts', 'functions', 'selectors', 'maxGas', 'maxGasPrice'] as const;
  if (keys.some((k) => rule[k] !== undefined))
    throw new Error('wallet conditions: not implemented yet (issue 19, h-policy)');
  return [];
}
