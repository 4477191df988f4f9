/**
 * ccxt's errors turned into CofreErrors, without carrying anything secret across.
 *
 * SECURITY: a ccxt error message is built from the request: the full URL with its query string (for a signed GET,
 * every parameter plus `timestamp` and `signature`), the response body, sometimes the request headers and body (with
 * `X-MBX-APIKEY`). None of that may reach a CofreError: it goes to callers, logs and the audit trail. So the message
 * is rebuilt from scratch out of the ccxt class name, the HTTP status and the venue's own error code, all cofre's
 * words. The ccxt error is not attached as `cause`; only its class name is kept.
 *
 * The venue's own free text (Binance's `msg` in `{ "code": -2010, "msg": "..." }`) is not part of the message. It
 * travels only in `details.venueText` ({@link VenueErrorDetails}), cleaned ({@link cleanVenueText}) and at most
 * {@link VENUE_TEXT_MAX} characters, so that a surface can hand it to an agent as what it is: untrusted text from a
 * third party, never cofre's own statement (an agent is an LLM; a venue's text is a prompt-injection channel as much
 * as a leak channel). {@link venueTextOf} reads it back.
 *
 * Mapping:
 * - `AuthenticationError` (and `PermissionDenied`, `AccountSuspended`, ...) → `COFRE_VENUE_AUTH_FAILED`; so is any
 *   `OperationFailed` answered with HTTP 401 (ccxt's binance calls a -2015 a temporary ban once it has authenticated);
 * - `NotSupported`, `ArgumentsRequired` → `COFRE_VENUE_UNSUPPORTED`;
 * - every other `ExchangeError` (`InsufficientFunds`, `InvalidOrder`, `OrderNotFound`, `BadSymbol`, `BadRequest`,
 *   `OperationRejected`, and the plain `ExchangeError` ccxt raises for codes it does not know) →
 *   `COFRE_VENUE_REJECTED`: the venue answered and said no. Category `invalid`, not `denied`: `denied` is what cofre's
 *   own policy says, and an agent must be able to tell "cofre would not let me" from "the venue refused the order";
 * - `OperationFailed` (`NetworkError`, `RequestTimeout`, `ExchangeNotAvailable`, `DDoSProtection`,
 *   `RateLimitExceeded`, `InvalidNonce`, `BadResponse`, `CancelPending`):
 *   - reads → `COFRE_VENUE_UNAVAILABLE` (retryable);
 *   - writes that never left the process → `COFRE_VENUE_UNAVAILABLE`;
 *   - writes that were sent and got a 4xx answer other than 408 (rate limit 429/418, timestamp outside recvWindow):
 *     the venue refused before acting (Binance: "4XX return codes are used for malformed requests; the issue is on
 *     the sender's side") → `COFRE_VENUE_UNAVAILABLE`;
 *   - any other write that was sent (dropped connection, timeout, 5xx: Binance: "the execution status is UNKNOWN and
 *     could have been a success") → `COFRE_VENUE_OUTCOME_UNKNOWN`, never retried;
 * - anything else (a bug, a ccxt parsing failure): reads → `COFRE_INTERNAL`; writes that were sent →
 *   `COFRE_VENUE_OUTCOME_UNKNOWN`.
 *
 * Binance's error codes: https://github.com/binance/binance-spot-api-docs/blob/master/errors.md
 */
import type * as Ccxt from 'ccxt';

import { CofreError, type ErrorCode, isCofreError } from '../errors.js';
import { SecretMatcher, VENUE_TEXT_RULES } from '../secrets/secret-matcher.js';
import type { SecretValue } from '../secrets/secret-value.js';

/** Longest venue text handed on, in characters (UTF-16 code units), ellipsis included. */
export const VENUE_TEXT_MAX = 160;
/** Longest venue error code handed on. */
const VENUE_CODE_MAX = 16;

/** The `details` of a CofreError made by {@link toVenueError} (a type, so that it fits `ErrorDetails`). */
export type VenueErrorDetails = {
  readonly account: string;
  readonly venue: string;
  readonly operation: string;
  /** Class name of the ccxt error. */
  readonly error: string;
  readonly httpStatus?: number;
  /** The venue's error code, cleaned like the text, at most 16 characters. */
  readonly venueCode?: string;
  /**
   * SECURITY: the venue's own error text: untrusted, cleaned ({@link cleanVenueText}), at most
   * {@link VENUE_TEXT_MAX} characters. Absent when the venue sent none or it held (a run of) a credential.
   */
  readonly venueText?: string;
};

/** What the account knew about the call when it failed. */
export interface FailedCall {
  readonly accountId: string;
  readonly venue: string;
  /** The VenueAccount method, e.g. `placeOrder`. */
  readonly operation: string;
  /** Writes change state at the venue (new order, cancel); they are never retried. */
  readonly write: boolean;
  /** True once a request of this call was handed to the HTTP client. */
  readonly sent: boolean;
  /** HTTP status of the last response this call received, if any. */
  readonly httpStatus: number | undefined;
  /** Error code and text from the venue's last error response, before cleaning. */
  readonly venueCode: string | undefined;
  readonly venueMessage: string | undefined;
  /** The call's credentials, to make sure none is echoed back. */
  readonly secrets: readonly SecretValue[];
}

/** The ccxt error classes the mapping tells apart (the loaded module's own, for `instanceof`). */
export type CcxtErrorClasses = Pick<
  typeof Ccxt,
  | 'BaseError'
  | 'ExchangeError'
  | 'AuthenticationError'
  | 'NotSupported'
  | 'ArgumentsRequired'
  | 'OperationFailed'
>;

/** The CofreError to throw for `err`, raised by ccxt or by cofre during `call`. */
export function toVenueError(err: unknown, call: FailedCall, classes: CcxtErrorClasses): CofreError {
  const what = `${call.venue} ${call.operation} for account "${call.accountId}"`;
  const kind = errorKind(err, classes);
  const answer = cleanVenueAnswer(call);
  const venueSays = describeVenueAnswer(call.httpStatus, answer.code);
  const details: VenueErrorDetails = {
    account: call.accountId,
    venue: call.venue,
    operation: call.operation,
    error: kind,
    ...(call.httpStatus === undefined ? {} : { httpStatus: call.httpStatus }),
    ...(answer.code === undefined ? {} : { venueCode: answer.code }),
    ...(answer.text === undefined ? {} : { venueText: answer.text }),
  };
  const make = (code: ErrorCode, message: string): CofreError => new CofreError(code, message, { details });

  if (isCofreError(err)) {
    // Raised by cofre itself (host guard, credentials, response shapes): already safe. A write whose answer cofre
    // could not read did reach the venue, so its outcome is unknown.
    if (call.write && call.sent && err.code === 'COFRE_VENUE_RESPONSE_INVALID') {
      return make(
        'COFRE_VENUE_OUTCOME_UNKNOWN',
        `${what}: sent, but the answer was not understood (${err.message})`,
      );
    }
    return err;
  }
  if (err instanceof classes.AuthenticationError) {
    return make(
      'COFRE_VENUE_AUTH_FAILED',
      `${what}: the venue refused the credentials (${kind}${venueSays})`,
    );
  }
  // HTTP 401 is the venue refusing the credentials, whatever class ccxt gave it. ccxt's binance raises -2015 ("Invalid
  // API-key, IP, or permissions for action", 401) as DDoSProtection once the instance has authenticated once, taking
  // it for a temporary ban (Binance bans with 418/429); after a key rotation that is a revoked old key, not a ban.
  if (call.httpStatus === 401 && err instanceof classes.OperationFailed) {
    return make(
      'COFRE_VENUE_AUTH_FAILED',
      `${what}: the venue refused the credentials (HTTP 401, ${kind}${venueSays})`,
    );
  }
  if (err instanceof classes.NotSupported || err instanceof classes.ArgumentsRequired) {
    return make(
      'COFRE_VENUE_UNSUPPORTED',
      `${what}: not supported by ccxt for this venue as asked (${kind})`,
    );
  }
  if (err instanceof classes.ExchangeError) {
    return make('COFRE_VENUE_REJECTED', `${what}: the venue refused (${kind}${venueSays})`);
  }
  if (err instanceof classes.OperationFailed) {
    if (!call.write || !call.sent) {
      return make('COFRE_VENUE_UNAVAILABLE', `${what}: venue unavailable (${kind}${venueSays}); retry later`);
    }
    const status = call.httpStatus;
    if (status !== undefined && status >= 400 && status < 500 && status !== 408) {
      return make(
        'COFRE_VENUE_UNAVAILABLE',
        `${what}: the venue refused before acting (${kind}${venueSays}); it may be retried later`,
      );
    }
    return outcomeUnknown(make, call.operation, what, `${kind}${venueSays}`);
  }
  if (call.write && call.sent) return outcomeUnknown(make, call.operation, what, `${kind}${venueSays}`);
  return make('COFRE_INTERNAL', `${what}: unexpected ${kind}`);
}

/** What a caller must do about a write whose answer was lost, per operation. */
const LOST_ANSWER_ADVICE: Readonly<Record<string, string>> = {
  withdraw:
    "the withdrawal may or may not exist; look it up in the venue's withdrawal history (by its client withdrawal id) before asking again",
  cancelAllOrders: 'some orders may have been cancelled; list the open orders before cancelling again',
};

/** What to tell the caller of a write (`operation`, a VenueAccount method) whose outcome is unknown. */
export function lostAnswerAdvice(operation: string): string {
  return LOST_ANSWER_ADVICE[operation] ?? 'the order may or may not exist, look it up by its client order id';
}

function outcomeUnknown(
  make: (code: ErrorCode, message: string) => CofreError,
  operation: string,
  what: string,
  why: string,
): CofreError {
  return make(
    'COFRE_VENUE_OUTCOME_UNKNOWN',
    `${what}: sent, but the answer was lost (${why}); ${lostAnswerAdvice(operation)}`,
  );
}

/** The class name of a ccxt error (or of any error), never its message. */
function errorKind(err: unknown, classes: CcxtErrorClasses): string {
  if (err instanceof classes.BaseError || err instanceof Error) {
    const name = err.constructor.name;
    return /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(name) ? name : 'Error';
  }
  return typeof err;
}

/**
 * The venue's code and text, cleaned with one matcher of the call's credentials. Without credentials (public calls,
 * market loading) nothing secret can be echoed, so only the generic cleaning applies.
 */
function cleanVenueAnswer(call: FailedCall): { code: string | undefined; text: string | undefined } {
  if (call.venueCode === undefined && call.venueMessage === undefined)
    return { code: undefined, text: undefined };
  const matcher = SecretMatcher.of(call.secrets, VENUE_TEXT_RULES);
  try {
    return {
      code: call.venueCode === undefined ? undefined : cleanWith(call.venueCode, matcher, VENUE_CODE_MAX),
      text:
        call.venueMessage === undefined ? undefined : cleanWith(call.venueMessage, matcher, VENUE_TEXT_MAX),
    };
  } finally {
    matcher.dispose();
  }
}

function describeVenueAnswer(httpStatus: number | undefined, code: string | undefined): string {
  const parts: string[] = [];
  if (httpStatus !== undefined && httpStatus >= 400) parts.push(`HTTP ${httpStatus}`);
  if (code !== undefined) parts.push(`venue code ${code}`);
  return parts.length === 0 ? '' : `, ${parts.join(', ')}`;
}

/** The venue's own text of an error made by {@link toVenueError}, if any (see {@link VenueErrorDetails}). */
export function venueTextOf(err: unknown): string | undefined {
  if (!isCofreError(err)) return undefined;
  const text = err.details?.['venueText'];
  return typeof text === 'string' ? text : undefined;
}

/**
 * A venue's error text, made safe to show: dropped entirely if it holds any trace of one of the call's credentials
 * (a run of 8 or more characters in any encoding, or a short credential as a whole token; see `SecretMatcher` and
 * {@link VENUE_TEXT_RULES}), then control characters removed, long opaque tokens (which could be a signature, a
 * listen key or another account's key, in any encoding) replaced by `…`, and the length capped at `max`.
 *
 * SECURITY: dropping rather than redacting: a text that echoes part of a key may echo the rest in pieces below the
 * threshold (a 4-character tail after 20-character chunks). The credential check compares bytes, so no extra copy
 * of a secret is made as a string.
 */
export function cleanVenueText(
  text: string,
  secrets: readonly SecretValue[],
  max: number,
): string | undefined {
  const matcher = SecretMatcher.of(secrets, VENUE_TEXT_RULES);
  try {
    return cleanWith(text, matcher, max);
  } finally {
    matcher.dispose();
  }
}

function cleanWith(text: string, matcher: SecretMatcher, max: number): string | undefined {
  if (matcher.matches(text)) return undefined;
  // eslint-disable-next-line no-control-regex -- control characters are what is being removed
  let clean = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
  clean = clean.replace(/[A-Za-z0-9+/=_%.-]{24,}/g, '…').trim();
  if (clean === '') return undefined;
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
