import { closest } from './closest-word.js';

/**
 * The ccxt venues cofre has reviewed for how they hold credentials, and will trade on.
 *
 * Why a list: cofre hands ccxt the keys of one call at a time and wipes them afterwards (see
 * `venues/ccxt-venue-account.ts`). That holds only for venues whose ccxt code signs each request from the keys
 * alone. Some venues log in instead and keep what the login returns on the shared exchange instance, usually in
 * `exchange.options`: ndax a `sessionToken`, paradex an `authToken` (a JWT), grvt a session cookie, bullish a JWT
 * in `this.token`. Such material outlives the call, survives a key rotation (the old key's session keeps working
 * until it expires), and lets one call act with another call's session. Clearing it after each call would race
 * with concurrent calls on the same instance, so the conservative choice for a broker holding real money is to
 * refuse every venue until its ccxt code has been read, and to list here only those that passed.
 *
 * To add a venue: read its `sign()` and every method a private call goes through in
 * `node_modules/ccxt/js/src/<venue>.js` at the pinned ccxt version; confirm it signs per request from `apiKey`,
 * `secret`, `password`, `uid` only and stores nothing derived from them or returned by a login on the instance;
 * add it with a one-line reason, and add it to the checks in `venues/reviewed-venues.test.ts`.
 *
 * Reviewed against ccxt 4.5.84.
 */
export const REVIEWED_VENUES: Readonly<Record<string, string>> = Object.freeze({
  binance:
    'HMAC-SHA256 of each request (query + timestamp) with `secret`, key in X-MBX-APIKEY; stores only a "has authenticated" flag in options, no credential or token.',
  binanceus: 'binance subclass: the same signing code.',
  kraken:
    'HMAC-SHA512 of each request (path + SHA-256 of nonce and body) with the base64 `secret`; writes no options during a private call.',
  okx: 'HMAC-SHA256 of each request (timestamp, method, path, body) with `secret`; passphrase sent per request; writes no options during a private call.',
});

/** Whether cofre trades on `venue` (a ccxt exchange id). */
export function isReviewedVenue(venue: string): boolean {
  return Object.hasOwn(REVIEWED_VENUES, venue);
}

/** The message for a venue that is not reviewed, naming what to do; a likely typo of a reviewed one says so. */
export function unreviewedVenueMessage(venue: string): string {
  const typo = closest(venue, Object.keys(REVIEWED_VENUES));
  if (typo !== undefined) return `venue "${venue}" is not a venue cofre trades on; did you mean "${typo}"?`;
  return `venue "${venue}" is not one cofre has reviewed for how ccxt holds its credentials (some venues keep session tokens between calls, which cofre cannot wipe or rotate); reviewed: ${Object.keys(REVIEWED_VENUES).join(', ')}. See the README section "Venues"`;
}
