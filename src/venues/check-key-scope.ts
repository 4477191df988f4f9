import type { CofreConfig } from '../config/config-schema.js';
import { withdrawNeeded } from '../policy/withdraw-needed.js';
import { judgeKeyScope, type KeyScopeJudgement } from './key-scope.js';
import type { KeyScope, VenueAccount } from './venue-account.js';

/**
 * Issue 12, least privilege: reads what `venue`'s key may do (an authenticated read) and judges it against what the
 * policies of `config` need from `accountId`. A venue that cannot tell (no `keyScope`, or it answers undefined) gives
 * no problems: there is nothing to judge.
 *
 * Placeholder by h-rotate until h-scope's version lands (same signature); the rotation's test step calls it.
 */
export async function checkKeyScope(
  config: CofreConfig,
  accountId: string,
  venue: VenueAccount,
): Promise<{ scope: KeyScope | undefined; judgement: KeyScopeJudgement }> {
  const scope = await venue.keyScope?.();
  const account = config.accounts[accountId];
  if (scope === undefined || account === undefined)
    return { scope, judgement: { problems: [], refuse: false } };
  const judgement = judgeKeyScope({
    account: accountId,
    mode: account.mode,
    requireLeastPrivilege: account.requireLeastPrivilege,
    withdrawNeeded: withdrawNeeded(config, accountId),
    scope,
  });
  return { scope, judgement };
}
