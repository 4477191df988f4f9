import type { CofreConfig } from '../config/config-schema.js';
import { CofreError } from '../errors.js';
import { parseSecretReference } from '../secrets/secret-reference.js';

/** ccxt's per-request timeout for venue calls (`ccxt-venue-account.ts`): the longest a request holds its key. */
const VENUE_TIMEOUT_MS = 10_000;

/**
 * How long after a promotion the old key of `account` may still be used, so it must keep working at the venue
 * (issue 12's overlap window): a running broker that has not polled yet (`rotation.pollInterval`), plus a cached
 * value served to its TTL and past it while the backend fails (`cache.ttl + cache.staleIfError`, the largest of the
 * account's backends), plus the longest request that read the old key just before (`agents.requestDeadline` to get
 * a venue slot, then the venue's timeout). The operator revokes the old key at the venue only after this window.
 *
 * An upper bound, not a tight one: with the backend answering, a running broker drops the old value at its next
 * poll (`secrets/current-version-watcher.ts`) or when its TTL ends, whichever is first; only while the backend
 * fails does the cached value outlive its TTL. The resolver counts the TTL from when it asked the backend, so a
 * slow read just before the promotion does not stretch it. References pinned to a version or stage never follow a
 * promotion and are not bounded by this window. `COFRE_ACCOUNT_NOT_FOUND` for an account not configured.
 */
export function overlapWindowMs(config: CofreConfig, account: string): number {
  // A window computed without the account's backends would be too short to revoke after: refuse instead.
  const credentials = config.accounts[account]?.credentials;
  if (credentials === undefined) {
    throw new CofreError('COFRE_ACCOUNT_NOT_FOUND', `no account "${account}" is configured`, {
      details: { account },
    });
  }
  let cached = 0;
  for (const reference of Object.values(credentials)) {
    if (typeof reference !== 'string') continue;
    const cache = config.backends[parseSecretReference(reference).backend]?.cache;
    if (cache !== undefined) cached = Math.max(cached, cache.ttl + cache.staleIfError);
  }
  return config.rotation.pollInterval + cached + config.agents.requestDeadline + VENUE_TIMEOUT_MS;
}
