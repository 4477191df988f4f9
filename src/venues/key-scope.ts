import type { AccountMode } from '../config/config-schema.js';
import type { KeyScope } from './venue-account.js';

/**
 * Issue 12, least privilege: judges what an account's key may do (as its venue reports it) against what cofre's
 * policies need from that account.
 */
export interface KeyScopeJudgement {
  /** One line per excess, e.g. `the key can withdraw, but no policy allows withdraw on account "main"`. */
  readonly problems: readonly string[];
  /** True when the account must not be served: problems found and least privilege required. */
  readonly refuse: boolean;
}

/** What {@link judgeKeyScope} weighs. */
export interface KeyScopeQuestion {
  readonly account: string;
  readonly mode: AccountMode;
  /** `accounts.<id>.requireLeastPrivilege` as configured (undefined: true for live, false otherwise). */
  readonly requireLeastPrivilege: boolean | undefined;
  /** True when some policy can allow (or approve, or confirm) `withdraw` on this account. */
  readonly withdrawNeeded: boolean;
  readonly scope: KeyScope;
}

/**
 * The excesses of a key: it can withdraw while no policy needs withdrawals, or, on a live account, it works from
 * any IP address. An unknown field (`undefined`) is no excess: the venue did not say.
 */
export function judgeKeyScope(q: KeyScopeQuestion): KeyScopeJudgement {
  const problems: string[] = [];
  if (q.scope.canWithdraw === true && !q.withdrawNeeded) {
    problems.push(`the key can withdraw, but no policy allows withdraw on account "${q.account}"`);
  }
  if (q.mode === 'live' && q.scope.ipRestricted === false) {
    problems.push(`the key of live account "${q.account}" has no IP restriction`);
  }
  const required = q.requireLeastPrivilege ?? q.mode === 'live';
  return { problems, refuse: required && problems.length > 0 };
}
