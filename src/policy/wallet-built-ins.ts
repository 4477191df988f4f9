import { isDecimal } from '../venues/decimal.js';
import type { PolicyQuestion } from './policy-types.js';

/** Issue 19, built in: an approval of at least 2^255 base units (or `type(uint256).max`) is always denied. */
export const UNLIMITED_APPROVAL = 'unlimited-approval';
/** Issue 19, built in: typed data of a kind cofre cannot read (not Permit or Permit2) is always denied. */
export const TYPED_DATA_UNKNOWN = 'typed-data-unknown';
/** Issue 19, built in: an amount policy cannot compare exactly (over 30 integer or 18 fraction digits) is denied. */
export const AMOUNT_UNMEASURABLE = 'amount-unmeasurable';

/**
 * Issue 19: the denials no rule can override, decided before any rule (the decision names them like
 * `default-deny`). SECURITY: each guards a way around limits —
 * - an unlimited allowance lets the spender take everything later, outside every cap;
 * - typed data cofre cannot read could authorise anything (an order on another protocol), so what it moves cannot
 *   be judged;
 * - an amount finer than 18 decimal places (a token with more decimals) or beyond 30 integer digits cannot be
 *   compared or counted exactly, and rounding it either way could let it past a cap.
 * Pure; undefined when none applies.
 */
export function builtInDenial(question: PolicyQuestion): { rule: string; reason: string } | undefined {
  const transaction = question.transaction;
  if (transaction === undefined) return undefined;
  const { action } = question;
  if (transaction.kind === 'typed-data-unknown') {
    return {
      rule: TYPED_DATA_UNKNOWN,
      reason: `${action} is denied (${TYPED_DATA_UNKNOWN}): cofre signs only typed data it can read (EIP-2612 Permit, Permit2 PermitSingle and PermitTransferFrom), since other typed data could authorise anything`,
    };
  }
  if (transaction.unlimitedApproval) {
    const approval = transaction.moves.find((m) => m.kind === 'approval');
    const what = approval === undefined ? '' : ` of ${approval.asset} to "${approval.to}"`;
    return {
      rule: UNLIMITED_APPROVAL,
      reason: `${action} is denied (${UNLIMITED_APPROVAL}): an unlimited approval${what} is never allowed; approve only the amount needed`,
    };
  }
  const odd = transaction.moves.find((m) => !isDecimal(m.amount));
  const notional = transaction.notional?.amount;
  if (odd !== undefined || (notional !== undefined && !isDecimal(notional))) {
    const what = odd === undefined ? `its value ${notional ?? ''}` : `${odd.amount} ${odd.asset}`;
    return {
      rule: AMOUNT_UNMEASURABLE,
      reason: `${action} is denied (${AMOUNT_UNMEASURABLE}): ${what} cannot be judged exactly; use at most 18 decimal places and 30 integer digits`,
    };
  }
  if (transaction.gas !== undefined && !isDecimal(transaction.gas.maxFeePerGasGwei)) {
    return {
      rule: AMOUNT_UNMEASURABLE,
      reason: `${action} is denied (${AMOUNT_UNMEASURABLE}): the fee per gas ${transaction.gas.maxFeePerGasGwei} gwei cannot be judged exactly`,
    };
  }
  return undefined;
}
