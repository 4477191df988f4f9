import { CofreError } from '../errors.js';
import type { KeyScope } from './venue-account.js';

/**
 * Binance's answer to `GET /sapi/v1/account/apiRestrictions` ("Get API Key Permission (USER_DATA)") as a
 * {@link KeyScope}. Binance documents `ipRestrict`, `createTime`, `enableWithdrawals` and `enableSpotAndMarginTrading`
 * among others; a field missing or of another type is reported as unknown (`undefined`), never guessed: an unknown
 * field is no excess for `judgeKeyScope`, while a wrong `false` would hide one.
 *
 * Throws `COFRE_VENUE_RESPONSE_INVALID` when the answer is not an object at all.
 */
export function keyScopeFromApiRestrictions(answer: unknown): KeyScope {
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) {
    throw new CofreError(
      'COFRE_VENUE_RESPONSE_INVALID',
      "binance's answer to GET /sapi/v1/account/apiRestrictions is not an object",
    );
  }
  const fields = answer as Record<string, unknown>;
  const flag = (name: string): boolean | undefined => {
    const value = fields[name];
    return typeof value === 'boolean' ? value : undefined;
  };
  const created = fields['createTime'];
  return {
    canTrade: flag('enableSpotAndMarginTrading'),
    canWithdraw: flag('enableWithdrawals'),
    ipRestricted: flag('ipRestrict'),
    createdAt:
      typeof created === 'number' && Number.isFinite(created) && created > 0 ? new Date(created) : undefined,
  };
}
