/**
 * A fault mode of the paper exchange: it echoes the caller's API key back, as careless or hostile venues do, so
 * that tests can prove cofre passes none of it on (to the agent, the state DB, the audit log or the logs).
 *
 * Each mode applies to SIGNED requests only, after the key and signature were verified (an echo needs a known
 * account, and public endpoints such as `exchangeInfo` keep working so ccxt can load markets):
 * - `error-*`: the request is refused with Binance's -2015 (HTTP 401) and a `msg` that carries the key: whole, in
 *   20-character chunks, as base64 at an odd byte offset inside a longer blob, as upper-case hex, or URL-encoded
 *   with every byte as a lower-case `%xx`;
 * - `result-*`: the request is served, and every `clientOrderId` in the answer is replaced by the key (whole) or
 *   by its first 20 characters.
 *
 * No real Binance message carries a key; the shapes are what the issue that asked for this fault saw from a venue
 * (cofre issue 8, item 20).
 */
import { BinanceApiError } from './binance-error.js';

/** The ways the paper exchange can echo a key; see the module comment. */
export const ECHO_KEY_MODES = [
  'error-whole',
  'error-fragments',
  'error-base64-odd',
  'error-hex',
  'error-url',
  'result-whole',
  'result-fragment',
] as const;

export type EchoKeyMode = (typeof ECHO_KEY_MODES)[number];

/** True for a mode that is answered with an error rather than a served request. */
export function isErrorEcho(mode: EchoKeyMode): boolean {
  return mode.startsWith('error-');
}

/** The error an `error-*` mode answers with, its message carrying `apiKey`. */
export function echoKeyError(mode: EchoKeyMode, apiKey: string): BinanceApiError {
  const key = Buffer.from(apiKey, 'utf8');
  const echoes: Record<EchoKeyMode, () => string> = {
    'error-whole': () => `API-key ${apiKey} is not valid for this action`,
    'error-fragments': () => `API-key chunks: ${(apiKey.match(/.{1,20}/g) ?? []).join(' ')}`,
    // One byte before the key: its base64 starts mid-group, so it shares no characters with base64(key).
    'error-base64-odd': () =>
      `token ${Buffer.concat([Buffer.from('!'), key, Buffer.from('#')]).toString('base64')}`,
    'error-hex': () => `key id 0x${key.toString('hex').toUpperCase()}`,
    'error-url': () => `key=${[...key].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}`,
    'result-whole': () => '',
    'result-fragment': () => '',
  };
  return new BinanceApiError(-2015, `Invalid API-key, IP, or permissions for action. ${echoes[mode]()}`, 401);
}

/** `body` with every `clientOrderId` (at the top level, or in a list of objects) replaced by the key's echo. */
export function echoKeyInResult(mode: EchoKeyMode, apiKey: string, body: unknown): unknown {
  const echo = mode === 'result-fragment' ? apiKey.slice(0, 20) : apiKey;
  const rewrite = (value: unknown): unknown =>
    typeof value === 'object' && value !== null && !Array.isArray(value) && 'clientOrderId' in value
      ? { ...value, clientOrderId: echo }
      : value;
  return Array.isArray(body) ? body.map(rewrite) : rewrite(body);
}
