// The venues on config/reviewed-venues.ts keep holding no session: their ccxt code still signs each private request
// from the call's keys alone, leaves nothing derived from them on the instance, and writes no option beyond those
// seen at review time. A ccxt upgrade that changes any of this fails here and asks for a new review.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as ccxt from 'ccxt';
import { describe, expect, it } from 'vitest';

import { REVIEWED_VENUES } from '../config/reviewed-venues.js';

const CCXT_SRC = join(dirname(fileURLToPath(import.meta.resolve('ccxt'))), 'src');

/** Per reviewed venue: a private endpoint to sign, the ccxt source files it runs, and the options it may write. */
const REVIEW: Readonly<
  Record<
    string,
    {
      readonly sign: readonly [path: string, api: string, method: string];
      readonly sources: readonly string[];
      readonly optionWrites: readonly string[];
    }
  >
> = {
  binance: {
    sign: ['account', 'private', 'GET'],
    sources: ['binance'],
    optionWrites: [
      'crossMarginPairsData',
      'enableDemoTrading',
      'hasAlreadyAuthenticatedSuccessfully',
      'isolatedMarginPairsData',
      'leverageBrackets',
      'sandboxMode',
    ],
  },
  binanceus: {
    sign: ['account', 'private', 'GET'],
    sources: ['binanceus', 'binance'],
    optionWrites: [
      'crossMarginPairsData',
      'enableDemoTrading',
      'hasAlreadyAuthenticatedSuccessfully',
      'isolatedMarginPairsData',
      'leverageBrackets',
      'sandboxMode',
    ],
  },
  kraken: { sign: ['Balance', 'private', 'POST'], sources: ['kraken'], optionWrites: ['marketsByAltname'] },
  okx: { sign: ['account/balance', 'private', 'GET'], sources: ['okx'], optionWrites: ['sandboxMode'] },
};

/** Every string reachable from `value` (own enumerable properties, a few levels deep, cycles skipped). */
function strings(value: unknown, depth = 4, seen = new Set<unknown>()): string[] {
  if (typeof value === 'string') return [value];
  if (depth === 0 || typeof value !== 'object' || value === null || seen.has(value)) return [];
  seen.add(value);
  return Object.values(value).flatMap((v) => strings(v, depth - 1, seen));
}

describe('reviewed venues', () => {
  it('every reviewed venue has a review record here, and the other way round', () => {
    expect(Object.keys(REVIEW).sort()).toEqual(Object.keys(REVIEWED_VENUES).sort());
  });

  it.each(Object.keys(REVIEWED_VENUES))(
    '%s signs a private request without leaving state on the instance',
    (venue) => {
      const review = REVIEW[venue]!;
      const apiKey = `key${randomBytes(16).toString('hex')}`;
      const secret = randomBytes(48).toString('base64'); // kraken wants a base64 secret
      const password = `pass${randomBytes(8).toString('hex')}`;
      const classes = ccxt.exchanges as unknown as Record<string, new (config: object) => ccxt.Exchange>;
      const exchange = new classes[venue]!({ apiKey, secret, password });
      const credentialFields = new Set(['apiKey', 'secret', 'password']);
      const before = JSON.stringify(exchange.options);
      const keysBefore = Object.keys(exchange).sort();

      const [path, api, method] = review.sign;
      const signed = exchange.sign(path, api, method, {}) as {
        url: string;
        headers?: unknown;
        body?: unknown;
      };
      // Not vacuous: the private branch ran and used the key.
      expect(strings(signed).join('\n')).toContain(apiKey);

      expect(JSON.stringify(exchange.options)).toBe(before);
      expect(Object.keys(exchange).sort()).toEqual(keysBefore);
      const held = Object.entries(exchange)
        .filter(([key]) => !credentialFields.has(key))
        .flatMap(([, value]) => strings(value));
      for (const secretText of [apiKey, secret, password]) {
        expect(held.filter((text) => text.includes(secretText))).toEqual([]);
      }
    },
  );

  it.each(Object.keys(REVIEWED_VENUES))(
    '%s writes no ccxt option beyond those seen at review time',
    (venue) => {
      const review = REVIEW[venue]!;
      const written = new Set<string>();
      for (const file of review.sources) {
        const source = readFileSync(join(CCXT_SRC, `${file}.js`), 'utf8');
        for (const match of source.matchAll(/this\.options\[['"]([A-Za-z0-9_]+)['"]\]\s*=(?!=)/g)) {
          written.add(match[1]!);
        }
        // Login material cached elsewhere on the instance.
        expect(source).not.toMatch(/this\.(token|accessToken|sessionToken|authToken|jwt)\s*=(?!=)/);
      }
      expect([...written].sort()).toEqual([...review.optionWrites].sort());
    },
  );
});
