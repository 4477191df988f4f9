/**
 * Which hosts a venue account may talk to, decided from its mode before its first request.
 *
 * ccxt keeps an exchange's REST endpoints in `urls.api` (a string or a nested object of strings, one per API
 * section: binance has `public`, `private`, `v1`, `sapi`, `fapiPublic`, ...) and its test endpoints, when the
 * exchange has any, in `urls.test`. `setSandboxMode(true)` is supposed to swap the two, but it does not always:
 * the base class throws `NotSupported` when there is no `urls.test`, and some exchanges override it to do something
 * else entirely (bitget only sets an option that adds a demo-trading header, and keeps sending to production
 * hosts). So the mode is checked here, on the URLs themselves, rather than trusted to ccxt:
 *
 * - `live`: the production URLs ccxt ships in `urls.api`, all `https:`; no `baseUrl`.
 * - `sandbox`: the exchange must have `urls.test`; after `setSandboxMode(true)` every URL in `urls.api` must be one
 *   of the `urls.test` URLs (nothing still points at production); no `baseUrl`.
 * - `paper`: a `baseUrl` is required, and every URL in `urls.api` is rewritten to it, keeping each URL's path
 *   (binance's `https://api.binance.com/api/v3` becomes `<baseUrl>/api/v3`, its `sapi`, `fapi`, ... sections alike).
 *
 * The result is the set of origins (`scheme://host:port`) the account's request guard lets through.
 */
import type { AccountMode } from '../config/config-schema.js';
import { CofreError } from '../errors.js';

/** The part of a ccxt exchange instance the host check reads and changes. */
export interface CcxtUrlsHolder {
  readonly id: string;
  urls: { api: unknown; test?: unknown; [key: string]: unknown };
  setSandboxMode(enabled: boolean): void;
  implodeHostname(url: string): string;
}

/** What the host check needs to know about the account. */
export interface HostCheckAccount {
  readonly id: string;
  readonly mode: AccountMode;
  readonly baseUrl?: string | undefined;
}

/**
 * Puts `exchange` into the account's mode (sandbox switch, paper rewrite) and returns the origins its requests may
 * go to. Throws `COFRE_VENUE_SANDBOX_UNSUPPORTED` or `COFRE_VENUE_HOST_REFUSED`; sends nothing.
 */
export function applyAccountMode(exchange: CcxtUrlsHolder, account: HostCheckAccount): ReadonlySet<string> {
  const where = `account "${account.id}" (${exchange.id}, ${account.mode})`;
  if (account.mode !== 'paper' && account.baseUrl !== undefined) {
    // SECURITY: the config schema refuses this too; checked again because a baseUrl would receive live keys.
    throw refused(
      `${where}: baseUrl is only allowed in paper mode; live and sandbox use the venue's own hosts`,
    );
  }
  switch (account.mode) {
    case 'live':
      return liveOrigins(exchange, where);
    case 'sandbox':
      return sandboxOrigins(exchange, where);
    case 'paper':
      return paperOrigins(exchange, account.baseUrl, where);
  }
}

/** Every string leaf of a ccxt `urls.api` / `urls.test` value, in a stable order. */
export function urlLeaves(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value !== 'object' || value === null) return [];
  return Object.values(value).flatMap(urlLeaves);
}

/** `scheme://host[:port]` of a URL, or undefined when it does not parse. */
export function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

function liveOrigins(exchange: CcxtUrlsHolder, where: string): ReadonlySet<string> {
  const urls = urlLeaves(exchange.urls.api).map((u) => exchange.implodeHostname(u));
  if (urls.length === 0) throw refused(`${where}: ccxt lists no API URL for this venue`);
  return originsOf(urls, where, { httpsOnly: true });
}

function sandboxOrigins(exchange: CcxtUrlsHolder, where: string): ReadonlySet<string> {
  const test = urlLeaves(exchange.urls.test).map((u) => exchange.implodeHostname(u));
  if (test.length === 0) {
    throw new CofreError(
      'COFRE_VENUE_SANDBOX_UNSUPPORTED',
      `${where}: ccxt knows no test endpoints for ${exchange.id}, so sandbox mode would trade on production; use paper mode or another venue`,
      { details: { venue: exchange.id } },
    );
  }
  try {
    exchange.setSandboxMode(true);
  } catch {
    throw new CofreError(
      'COFRE_VENUE_SANDBOX_UNSUPPORTED',
      `${where}: ccxt refused to switch ${exchange.id} to its sandbox`,
      { details: { venue: exchange.id } },
    );
  }
  const allowed = new Set(test);
  const api = urlLeaves(exchange.urls.api).map((u) => exchange.implodeHostname(u));
  const stray = api.filter((u) => !allowed.has(u));
  if (api.length === 0 || stray.length > 0) {
    const hosts = [...new Set(stray.map((u) => originOf(u) ?? 'an unparsable URL'))].join(', ');
    throw new CofreError(
      'COFRE_VENUE_SANDBOX_UNSUPPORTED',
      `${where}: after switching to the sandbox, ccxt still points at ${hosts || 'no URL'}; refusing rather than risk production`,
      { details: { venue: exchange.id } },
    );
  }
  return originsOf(test, where, { httpsOnly: true });
}

function paperOrigins(
  exchange: CcxtUrlsHolder,
  baseUrl: string | undefined,
  where: string,
): ReadonlySet<string> {
  if (baseUrl === undefined) {
    throw refused(`${where}: paper mode needs a baseUrl (the paper exchange's address)`);
  }
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    throw refused(`${where}: baseUrl is not a URL`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw refused(`${where}: baseUrl must be http or https`);
  }
  if (base.username !== '' || base.password !== '' || base.search !== '' || base.hash !== '') {
    throw refused(`${where}: baseUrl must not carry user info, a query or a fragment`);
  }
  const prefix = base.origin + base.pathname.replace(/\/+$/, '');
  const rewrite = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const url = new URL(exchange.implodeHostname(value));
      return prefix + url.pathname.replace(/\/+$/, '') + url.search;
    }
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, rewrite(inner)]));
    }
    return value;
  };
  if (urlLeaves(exchange.urls.api).length === 0)
    throw refused(`${where}: ccxt lists no API URL for this venue`);
  exchange.urls.api = rewrite(exchange.urls.api);
  return new Set([base.origin]);
}

function originsOf(
  urls: readonly string[],
  where: string,
  rule: { httpsOnly: boolean },
): ReadonlySet<string> {
  const origins = new Set<string>();
  for (const url of urls) {
    const origin = originOf(url);
    if (origin === undefined || (rule.httpsOnly && !origin.startsWith('https://'))) {
      throw refused(`${where}: ccxt lists an API URL that is not https (${origin ?? 'unparsable'})`);
    }
    origins.add(origin);
  }
  return origins;
}

function refused(message: string): CofreError {
  return new CofreError('COFRE_VENUE_HOST_REFUSED', message);
}
