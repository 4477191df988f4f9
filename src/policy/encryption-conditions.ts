import type { RuleConfig } from '../config/policy-config.js';
import { compileSymbolGlob } from './glob.js';
import type { Condition } from './rule-conditions.js';

/** In a rule's `keys`: every configured encryption key. */
const ANY_KEY = '*';

const list = (items: readonly string[]): string => items.join(', ');

/**
 * Issue 19: the conditions of a rule on encryption actions — `keys` (names of `encryptionKeys`, or `*`) and
 * `purposes` (labels, exact or globs with `*` and `?`) — on `question.encryption`. A request that is not an
 * encryption action never meets either (a `deny` with `keys` does not deny an order). Pure.
 */
export function compileEncryptionConditions(rule: RuleConfig): readonly Condition[] {
  const out: Condition[] = [];
  if (rule.keys !== undefined) out.push(keysCondition(rule.keys));
  if (rule.purposes !== undefined) out.push(purposesCondition(rule.purposes));
  return out;
}

function keysCondition(keys: readonly string[]): Condition {
  const any = keys.includes(ANY_KEY);
  const set = new Set(keys);
  const want = any ? 'only with an encryption key' : `only with encryption keys ${list(keys)}`;
  return {
    key: 'keys',
    onAccount: false,
    want,
    check: ({ question: { encryption } }) => {
      if (encryption !== undefined && (any || set.has(encryption.key))) return undefined;
      return {
        want,
        got:
          encryption === undefined
            ? 'this request is not an encryption action'
            : `not with key "${encryption.key}"`,
      };
    },
  };
}

function purposesCondition(patterns: readonly string[]): Condition {
  // Purpose labels hold no "/", so the symbol glob's rule that wildcards stop at a slash never bites here.
  const tests = patterns.map(compileSymbolGlob);
  const want = `only for purposes ${list(patterns)}`;
  return {
    key: 'purposes',
    onAccount: false,
    want,
    check: ({ question: { encryption } }) => {
      if (encryption !== undefined && tests.some((t) => t(encryption.purpose))) return undefined;
      return {
        want,
        got:
          encryption === undefined
            ? 'this request is not an encryption action'
            : `not for purpose "${encryption.purpose}"`,
      };
    },
  };
}
