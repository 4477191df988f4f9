import { addDecimal } from '../venues/decimal.js';
import type { PolicyQuestion } from './policy-types.js';
import type { CompiledLimit } from './rule-limits.js';

/**
 * Issue 19: what a transaction or typed data uses of a `transfers` limit: the summed amount of the limit's asset
 * across its moves (native value, token transfers, approvals and permits alike — an allowance counts like the transfer
 * it lets the spender make), undefined when it moves none of it (or the request is no transaction).
 */
export function transferMeasure(limit: CompiledLimit, question: PolicyQuestion): string | undefined {
  const asset = limit.units?.[0];
  const moves = question.transaction?.moves;
  if (asset === undefined || moves === undefined) return undefined;
  let sum: string | undefined;
  for (const move of moves) {
    if (move.asset === asset) sum = sum === undefined ? move.amount : addDecimal(sum, move.amount);
  }
  return sum;
}

/**
 * Issue 19: what a transaction or typed data uses of a `notional` limit: its value in the chain's quote, when that
 * quote is one the limit counts. Otherwise it cannot be measured and is denied (fail closed, as an order in another
 * quote is): a transaction on a chain without `prices` would otherwise escape the cap. Undefined for no transaction.
 */
export function transactionNotional(
  limit: CompiledLimit,
  question: PolicyQuestion,
): string | { readonly reason: string } | undefined {
  const transaction = question.transaction;
  if (transaction === undefined) return undefined;
  const quotes = (limit.units ?? []).join(', ');
  const notional = transaction.notional;
  if (notional === undefined)
    return {
      reason: `${limit.label} counts value in ${quotes}; this transaction has no value (chain "${transaction.chain}" has no price for what it moves), so it cannot be measured against it`,
    };
  if (limit.units?.includes(notional.quote) !== true)
    return {
      reason: `${limit.label} counts value in ${quotes}; a transaction valued in ${notional.quote} cannot be measured against it`,
    };
  return notional.amount;
}
