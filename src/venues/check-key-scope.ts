import type { CofreConfig } from '../config/config-schema.js';
import { CofreError } from '../errors.js';
import { withdrawNeeded } from '../policy/withdraw-needed.js';
import { judgeKeyScope, type KeyScopeJudgement } from './key-scope.js';
import type { KeyScope, VenueAccount, VenueCallRecord } from './venue-account.js';

/** What {@link checkKeyScope} found. */
export interface KeyScopeCheck {
  /** What the key may do, as the venue reported it; undefined where the venue cannot tell (nothing was judged). */
  readonly scope: KeyScope | undefined;
  /** No problems and no refusal when the venue cannot tell. */
  readonly judgement: KeyScopeJudgement;
}

const NOT_TOLD: KeyScopeJudgement = { problems: [], refuse: false };

/**
 * Issue 12, least privilege for one account: reads its key's scope from `venue` (an authenticated read; the key
 * `venue` signs with is the one judged, so the rotation engine can pass an account opened on a pending key) and
 * judges it with `judgeKeyScope` against what the config's policies need (`withdrawNeeded`) and
 * `accounts.<id>.requireLeastPrivilege`.
 *
 * Throws `COFRE_ACCOUNT_NOT_FOUND` for an account the config lacks, and the venue's errors as they are
 * (`COFRE_VENUE_UNAVAILABLE`, `COFRE_CREDENTIALS_UNAVAILABLE`, ...): whether an unreadable scope refuses the account
 * is the caller's choice.
 */
export async function checkKeyScope(
  config: Pick<CofreConfig, 'accounts' | 'policies'>,
  accountId: string,
  venue: VenueAccount,
  record?: VenueCallRecord,
): Promise<KeyScopeCheck> {
  const account = config.accounts[accountId];
  if (account === undefined) {
    throw new CofreError('COFRE_ACCOUNT_NOT_FOUND', `no account "${accountId}" is configured`, {
      details: { account: accountId },
    });
  }
  const scope = venue.keyScope === undefined ? undefined : await venue.keyScope(record);
  if (scope === undefined) return { scope, judgement: NOT_TOLD };
  const judgement = judgeKeyScope({
    account: accountId,
    mode: account.mode,
    requireLeastPrivilege: account.requireLeastPrivilege,
    withdrawNeeded: withdrawNeeded(config, accountId),
    scope,
  });
  return { scope, judgement };
}

/** Whether `accounts.<id>.requireLeastPrivilege` (default: true for `live`) makes problems refuse the account. */
export function leastPrivilegeRequired(config: Pick<CofreConfig, 'accounts'>, accountId: string): boolean {
  const account = config.accounts[accountId];
  return account !== undefined && (account.requireLeastPrivilege ?? account.mode === 'live');
}
