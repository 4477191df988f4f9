import type { PolicyQuestion } from './policy-types.js';
import type { CompiledLimit } from './rule-limits.js';

/**
 * Issue 19: what a transaction or typed data uses of a `transfers` limit (the summed amount of the limit's asset it
 * moves or authorises), undefined when it moves none of it.
 *
 * CONTRACT STUB (h-policy implements): must count every move of the limit's asset of `question.transaction`.
 */
export function transferMeasure(_limit: CompiledLimit, _question: PolicyQuestion): string | undefined {
  throw new Error('transferMeasure: not implemented yet (issue 19, h-policy)');
}
