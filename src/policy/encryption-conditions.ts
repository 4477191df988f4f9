import type { RuleConfig } from '../config/policy-config.js';
import type { Condition } from './rule-conditions.js';

/**
 * Issue 19: the conditions of a rule on encryption actions — `keys` (names of `encryptionKeys`, or `*`) and
 * `purposes` (labels, exact or globs) — on `question.encryption`.
 *
 * CONTRACT STUB (h-crypt implements). Until then a rule with either key throws when compiled.
 */
export function compileEncryptionConditions(rule: RuleConfig): readonly Condition[] {
  if (rule.keys !== undefined || rule.purposes !== undefined)
    throw new Error('encryption conditions: not implemented yet (issue 19, h-crypt)');
  return [];
}
