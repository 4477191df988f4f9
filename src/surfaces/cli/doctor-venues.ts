import type { AccountConfig } from '../../config/config-schema.js';
import { isCofreError } from '../../errors.js';
import type { SecretResolver } from '../../secrets/secret-resolver.js';
import type { SecretValue } from '../../secrets/secret-value.js';
import { type ApiKeyDescription, apiKeyLabel, describeApiSecret } from '../../venues/api-secret.js';
import { checkKeyScope, leastPrivilegeRequired } from '../../venues/check-key-scope.js';
import type { VenueAccount, VenueCredentials } from '../../venues/venue-account.js';
import type { DoctorCheck, DoctorContext, DoctorFinding } from './doctor-checks.js';

/**
 * Clock skew bounds, in ms, as `local clock − venue clock` (positive: this host is ahead). From Binance's rule for
 * signed requests, the strictest of the reviewed venues: "process if timestamp < serverTime + 1000 && serverTime −
 * timestamp <= recvWindow".
 * - Ahead by 1 s or more: every signed request is refused (-1021): fail. Ahead by more than 0.5 s: warn (half the
 *   margin is gone, and the measurement is only as good as half the round trip).
 * - Behind by more than 5 s: fail. ccxt sends binance a recvWindow of 10 s, so requests still pass up to about 10 s
 *   minus the network delay, but 5 s is Binance's default window (what other clients of the same key get) and half
 *   of ccxt's: a clock that far off is broken, and drifting. Behind by more than 1 s: warn.
 */
export const CLOCK_SKEW = {
  aheadWarnMs: 500,
  aheadFailMs: 1_000,
  behindWarnMs: 1_000,
  behindFailMs: 5_000,
} as const;

/** Options of {@link venueDoctorChecksWith}. */
export interface VenueDoctorOptions {
  /** This host's clock (ms since the epoch) for the skew; default `Date.now`. */
  readonly clock?: () => number;
  /**
   * Opens an account; default `openVenueAccount` (ccxt) with the credentials resolved through the doctor's resolver
   * on each call (fresh values the account zeroes after the call).
   */
  readonly open?: (
    id: string,
    account: AccountConfig,
    credentials: () => Promise<VenueCredentials>,
  ) => Promise<VenueAccount>;
}

/**
 * `cofre doctor`'s venue checks (issue 12), for every account at once: `key-scope` (what the key may do, judged by
 * `judgeKeyScope` as `cofre serve` judges it at start: ok, warn for problems that only warn, fail when serve would
 * refuse the account or the venue refuses the key; warn when the venue cannot be reached now) and `clock` (skew against the venue's server time, see
 * {@link CLOCK_SKEW}). Venues that report no key permissions get an `ok` finding that says so.
 *
 * SECURITY: findings carry account ids, error codes and the permissions the venue reported; never a credential
 * (venue errors name none, see `venue-error.ts`).
 */
export function venueDoctorChecksWith(options: VenueDoctorOptions = {}): DoctorCheck {
  const clock = options.clock ?? Date.now;
  return async (ctx) => {
    const open = options.open ?? (await defaultOpener());
    const perAccount = await Promise.all(
      Object.entries(ctx.config.accounts).map(async ([id, account]) => {
        let venue: VenueAccount;
        // What the API secret is (HMAC, Ed25519, RSA), learnt when the account's first call reads it.
        let keyType: ApiKeyDescription | undefined;
        const credentials = async (): Promise<VenueCredentials> => {
          const values = await resolveCredentials(ctx.resolver, account);
          try {
            keyType = describeApiSecret(values.secret, id);
          } catch {
            // The call that reads them refuses the secret with the same error, which the finding reports.
          }
          return values;
        };
        try {
          venue = await open(id, account, credentials);
        } catch (err) {
          const why = failure(err);
          return [
            finding('key-scope', id, why.status, `could not open the account: ${why.text}`, why.details),
            finding('clock', id, why.status, `could not open the account: ${why.text}`, why.details),
          ];
        }
        try {
          const [scope, skew] = await Promise.all([
            keyScopeFinding(ctx, id, venue),
            clockFinding(id, venue, clock),
          ]);
          return [withKeyType(scope, keyType), skew];
        } finally {
          await venue.close().catch(() => undefined);
        }
      }),
    );
    return perAccount.flat();
  };
}

/** {@link venueDoctorChecksWith} with the defaults: what `cofre doctor` runs. */
export const venueDoctorChecks: DoctorCheck = venueDoctorChecksWith();

async function defaultOpener(): Promise<NonNullable<VenueDoctorOptions['open']>> {
  // Lazily: ccxt takes about a second to load, and `cofre doctor --help` should not wait for it.
  const { openVenueAccount } = await import('../../venues/ccxt-venue-account.js');
  return (id, account, credentials) => openVenueAccount(id, account, credentials);
}

async function keyScopeFinding(ctx: DoctorContext, id: string, venue: VenueAccount): Promise<DoctorFinding> {
  let checked;
  try {
    checked = await checkKeyScope(ctx.config, id, venue);
  } catch (err) {
    const why = failure(err);
    return finding(
      'key-scope',
      id,
      why.status,
      `could not read the key's permissions: ${why.text}`,
      why.details,
    );
  }
  const { scope, judgement } = checked;
  const required = leastPrivilegeRequired(ctx.config, id);
  if (scope === undefined) {
    return finding('key-scope', id, 'ok', `${venue.venue} does not report key permissions; not checked`, {
      reported: false,
    });
  }
  const details = {
    reported: true,
    required,
    canTrade: scope.canTrade ?? null,
    canWithdraw: scope.canWithdraw ?? null,
    ipRestricted: scope.ipRestricted ?? null,
    createdAt: scope.createdAt?.toISOString() ?? null,
  };
  if (judgement.refuse) {
    const fix = `narrow the key at the venue, or set accounts.${id}.requireLeastPrivilege: false`;
    return finding(
      'key-scope',
      id,
      'fail',
      `cofre serve refuses it: ${judgement.problems.join('; ')}; ${fix}`,
      details,
    );
  }
  if (judgement.problems.length > 0) {
    const why = 'a warning only: least privilege is not required of this account';
    return finding('key-scope', id, 'warn', `${judgement.problems.join('; ')} (${why})`, details);
  }
  return finding('key-scope', id, 'ok', 'the key can do no more than the policies need', details);
}

async function clockFinding(id: string, venue: VenueAccount, clock: () => number): Promise<DoctorFinding> {
  if (venue.serverTime === undefined) {
    return finding('clock', id, 'warn', `${venue.venue} does not report its server time; skew not checked`);
  }
  let server: number;
  const sent = clock();
  try {
    server = await venue.serverTime();
  } catch (err) {
    const why = failure(err);
    return finding(
      'clock',
      id,
      why.status,
      `could not read ${venue.venue}'s server time: ${why.text}`,
      why.details,
    );
  }
  const received = clock();
  // The venue read its clock somewhere during the round trip: the middle is the best guess, within half of it.
  const skewMs = Math.round((sent + received) / 2 - server);
  const details = { skewMs, roundTripMs: received - sent, venue: venue.venue };
  const ahead = skewMs > 0;
  const size = Math.abs(skewMs);
  const where = `this host's clock is ${size} ms ${ahead ? 'ahead of' : 'behind'} ${venue.venue}'s`;
  const fail = ahead ? size >= CLOCK_SKEW.aheadFailMs : size > CLOCK_SKEW.behindFailMs;
  const warn = ahead ? size > CLOCK_SKEW.aheadWarnMs : size > CLOCK_SKEW.behindWarnMs;
  if (fail) {
    const fix = 'signed requests will be refused; synchronise the clock (NTP: chrony or systemd-timesyncd)';
    return finding('clock', id, 'fail', `${where}: ${fix}`, details);
  }
  if (warn) return finding('clock', id, 'warn', `${where}; synchronise the clock (NTP)`, details);
  return finding('clock', id, 'ok', where, details);
}

/** Each credential reference of the account resolved; all or nothing (what was read is zeroed on a failure). */
async function resolveCredentials(
  resolver: SecretResolver,
  account: AccountConfig,
): Promise<VenueCredentials> {
  const refs = account.credentials;
  const settled = await Promise.allSettled(
    [refs.apiKey, refs.secret, refs.password, refs.uid].map((ref) =>
      ref === undefined ? Promise.resolve(undefined) : resolver.resolve(ref),
    ),
  );
  const values = settled.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
  const failed = settled.find((s) => s.status === 'rejected');
  const [apiKey, secret, password, uid] = values;
  if (failed !== undefined || apiKey === undefined || secret === undefined) {
    for (const value of values) value?.zero();
    throw failed?.reason ?? new Error('the account has no apiKey or secret reference');
  }
  return { apiKey, secret, ...optional('password', password), ...optional('uid', uid) };
}

function optional<K extends string>(key: K, value: SecretValue | undefined): Partial<Record<K, SecretValue>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, SecretValue>);
}

/**
 * Failures that do not fail these checks: a venue that cannot be reached now (`cofre serve` too serves such an
 * account and judges it once the venue answers), and credentials that cannot be read (the `references` check fails
 * for them already). A venue that refuses the key, or anything else, fails.
 */
const WARN_ONLY: ReadonlySet<string> = new Set(['COFRE_VENUE_UNAVAILABLE', 'COFRE_CREDENTIALS_UNAVAILABLE']);

/** A failure as a finding tells it: the error code and cofre's own message (which names no credential). */
function failure(err: unknown): {
  text: string;
  status: DoctorFinding['status'];
  details: Record<string, string>;
} {
  if (!isCofreError(err)) {
    return { text: 'unexpected error (see the log)', status: 'fail', details: { code: 'COFRE_INTERNAL' } };
  }
  const status = WARN_ONLY.has(err.code) ? 'warn' : 'fail';
  return { text: `${err.code}: ${err.message}`, status, details: { code: err.code } };
}

/**
 * The key-scope finding with the API key's type once it is known: in `details.keyType` always, and in the message
 * for a key pair (`Ed25519 key: …`, `RSA 2048 key: …`); an HMAC secret, the usual case, is not named there.
 */
function withKeyType(found: DoctorFinding, keyType: ApiKeyDescription | undefined): DoctorFinding {
  if (keyType === undefined) return found;
  return {
    ...found,
    message: keyType.type === 'hmac' ? found.message : `${apiKeyLabel(keyType)} key: ${found.message}`,
    details: {
      ...found.details,
      keyType: keyType.type,
      ...(keyType.bits === undefined ? {} : { keyBits: keyType.bits }),
    },
  };
}

function finding(
  check: 'key-scope' | 'clock',
  subject: string,
  status: DoctorFinding['status'],
  message: string,
  details?: DoctorFinding['details'],
): DoctorFinding {
  return { check, subject, status, message, ...(details === undefined ? {} : { details }) };
}
