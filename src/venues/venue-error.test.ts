import * as ccxt from 'ccxt';
import { describe, expect, it } from 'vitest';

import { encodedVariants } from '../../test/invariants/canary.js';
import { CofreError } from '../errors.js';
import { SecretValue } from '../secrets/secret-value.js';
import { cleanVenueText, type FailedCall, toVenueError, VENUE_TEXT_MAX, venueTextOf } from './venue-error.js';

const KEY = 'vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A';
const SIGNATURE = 'c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71';

function call(overrides: Partial<FailedCall> = {}): FailedCall {
  return {
    accountId: 'main',
    venue: 'binance',
    operation: 'placeOrder',
    write: true,
    sent: true,
    httpStatus: undefined,
    venueCode: undefined,
    venueMessage: undefined,
    secrets: [SecretValue.fromText(KEY)],
    ...overrides,
  };
}

// What ccxt's own messages look like: the URL with query string and signature, the body, sometimes headers.
const LEAKY = `binance GET https://api.binance.com/api/v3/account?timestamp=1&signature=${SIGNATURE} {"X-MBX-APIKEY":"${KEY}"}`;

describe('toVenueError', () => {
  it.each([
    [new ccxt.InsufficientFunds(LEAKY), 'COFRE_VENUE_REJECTED'],
    [new ccxt.InvalidOrder(LEAKY), 'COFRE_VENUE_REJECTED'],
    [new ccxt.OrderNotFound(LEAKY), 'COFRE_VENUE_REJECTED'],
    [new ccxt.BadSymbol(LEAKY), 'COFRE_VENUE_REJECTED'],
    [new ccxt.BadRequest(LEAKY), 'COFRE_VENUE_REJECTED'],
    [new ccxt.ExchangeError(LEAKY), 'COFRE_VENUE_REJECTED'],
    [new ccxt.AuthenticationError(LEAKY), 'COFRE_VENUE_AUTH_FAILED'],
    [new ccxt.PermissionDenied(LEAKY), 'COFRE_VENUE_AUTH_FAILED'],
    [new ccxt.NotSupported(LEAKY), 'COFRE_VENUE_UNSUPPORTED'],
    [new ccxt.ArgumentsRequired(LEAKY), 'COFRE_VENUE_UNSUPPORTED'],
  ] as const)('maps %o to %s, keeping only the class name', (err, code) => {
    const mapped = toVenueError(err, call(), ccxt);
    expect(mapped.code).toBe(code);
    expect(mapped.cause).toBeUndefined();
    expect(mapped.details).toMatchObject({ error: err.constructor.name });
    expect(mapped.message).not.toContain(KEY);
    expect(mapped.message).not.toContain(SIGNATURE);
    expect(mapped.message).not.toContain('api.binance.com');
  });

  it.each([
    new ccxt.NetworkError(LEAKY),
    new ccxt.RequestTimeout(LEAKY),
    new ccxt.ExchangeNotAvailable(LEAKY),
    new ccxt.DDoSProtection(LEAKY),
    new ccxt.RateLimitExceeded(LEAKY),
  ])('a read failing with %o is COFRE_VENUE_UNAVAILABLE and retryable', (err) => {
    const mapped = toVenueError(err, call({ write: false, operation: 'fetchBalance' }), ccxt);
    expect(mapped.code).toBe('COFRE_VENUE_UNAVAILABLE');
    expect(mapped.retryable).toBe(true);
    expect(mapped.message).not.toContain(SIGNATURE);
  });

  it.each([
    new ccxt.NetworkError(LEAKY),
    new ccxt.RequestTimeout(LEAKY),
    new ccxt.ExchangeNotAvailable(LEAKY),
  ])('a sent write failing with %o (no answer, or 5xx) is COFRE_VENUE_OUTCOME_UNKNOWN', (err) => {
    for (const httpStatus of [undefined, 500, 503, 408]) {
      const mapped = toVenueError(err, call({ httpStatus }), ccxt);
      expect(mapped.code).toBe('COFRE_VENUE_OUTCOME_UNKNOWN');
      expect(mapped.retryable).toBe(false);
    }
  });

  it('a write refused with a 4xx before acting (rate limit, clock skew) is COFRE_VENUE_UNAVAILABLE', () => {
    const rateLimited = toVenueError(new ccxt.DDoSProtection(LEAKY), call({ httpStatus: 429 }), ccxt);
    expect(rateLimited.code).toBe('COFRE_VENUE_UNAVAILABLE');
    const skewed = toVenueError(
      new ccxt.InvalidNonce(LEAKY),
      call({
        httpStatus: 400,
        venueCode: '-1021',
        venueMessage: 'Timestamp for this request is outside of the recvWindow.',
      }),
      ccxt,
    );
    expect(skewed.code).toBe('COFRE_VENUE_UNAVAILABLE');
    expect(skewed.message).toContain('-1021');
  });

  it('an answer of HTTP 401 is COFRE_VENUE_AUTH_FAILED even when ccxt calls it a ban (binance -2015 after a rotation)', () => {
    for (const write of [true, false]) {
      const mapped = toVenueError(
        new ccxt.DDoSProtection(LEAKY),
        call({
          write,
          httpStatus: 401,
          venueCode: '-2015',
          venueMessage: 'Invalid API-key, IP, or permissions for action.',
        }),
        ccxt,
      );
      expect([mapped.code, mapped.retryable]).toEqual(['COFRE_VENUE_AUTH_FAILED', false]);
      expect(mapped.message).toContain('-2015');
      expect(mapped.message).not.toContain(KEY);
    }
  });

  it('a write that failed before sending is COFRE_VENUE_UNAVAILABLE, not unknown', () => {
    expect(toVenueError(new ccxt.NetworkError(LEAKY), call({ sent: false }), ccxt).code).toBe(
      'COFRE_VENUE_UNAVAILABLE',
    );
  });

  it('an unexpected error is COFRE_INTERNAL for a read and COFRE_VENUE_OUTCOME_UNKNOWN for a sent write', () => {
    const bug = new TypeError(`cannot read ${KEY}`);
    const read = toVenueError(bug, call({ write: false }), ccxt);
    expect(read.code).toBe('COFRE_INTERNAL');
    expect(read.message).not.toContain(KEY);
    expect(toVenueError(bug, call(), ccxt).code).toBe('COFRE_VENUE_OUTCOME_UNKNOWN');
  });

  it("passes cofre's own errors through, except an unreadable answer to a sent write", () => {
    const refused = new CofreError('COFRE_VENUE_HOST_REFUSED', 'no');
    expect(toVenueError(refused, call(), ccxt)).toBe(refused);
    const unreadable = new CofreError(
      'COFRE_VENUE_RESPONSE_INVALID',
      'the venue answered with an order without an id',
    );
    expect(toVenueError(unreadable, call({ write: false }), ccxt)).toBe(unreadable);
    expect(toVenueError(unreadable, call(), ccxt).code).toBe('COFRE_VENUE_OUTCOME_UNKNOWN');
  });

  it("keeps the venue's code in the message and its text only in the bounded details.venueText field", () => {
    const venueMessage = 'Account has insufficient balance for requested action.';
    const mapped = toVenueError(
      new ccxt.InsufficientFunds(LEAKY),
      call({ httpStatus: 400, venueCode: '-2010', venueMessage }),
      ccxt,
    );
    expect(mapped.message).toBe(
      'binance placeOrder for account "main": the venue refused (InsufficientFunds, HTTP 400, venue code -2010)',
    );
    expect(mapped.details).toMatchObject({ venueCode: '-2010', httpStatus: 400, venueText: venueMessage });
    expect(venueTextOf(mapped)).toBe(venueMessage);
    expect(venueTextOf(new CofreError('COFRE_INTERNAL', 'x'))).toBeUndefined();

    const long = toVenueError(
      new ccxt.ExchangeError(LEAKY),
      call({ venueMessage: 'word '.repeat(100) }),
      ccxt,
    );
    expect(venueTextOf(long)).toHaveLength(VENUE_TEXT_MAX);
  });

  // Regression (issue 8, item 20): a venue echoed the API key in 20-character chunks, and they reached the agent.
  it('drops venue text and code that hold any run of 8 characters of a credential, in any encoding', () => {
    const chunks = KEY.match(/.{1,20}/g)?.join(' ') ?? '';
    for (const venueMessage of [
      `Invalid API-key ${chunks}`,
      `key ends ${KEY.slice(-8)}`,
      ...Object.values(encodedVariants(KEY)).map((form) => `echo: ${form.slice(3, 20)}`),
    ]) {
      const mapped = toVenueError(
        new ccxt.AuthenticationError(LEAKY),
        call({ httpStatus: 401, venueCode: KEY.slice(0, 12), venueMessage }),
        ccxt,
      );
      expect(venueTextOf(mapped)).toBeUndefined();
      expect(mapped.details).not.toHaveProperty('venueCode');
      expect(JSON.stringify(mapped.details)).not.toContain(KEY.slice(0, 8));
      expect(mapped.message).not.toContain(KEY.slice(0, 8));
      expect(mapped.message).not.toContain(venueMessage.slice(-8));
    }
  });
});

describe('cleanVenueText', () => {
  const secrets = [SecretValue.fromText(KEY)];

  it('keeps ordinary venue messages', () => {
    expect(cleanVenueText('Unknown order sent.', secrets, 160)).toBe('Unknown order sent.');
  });

  it('drops a message that echoes a credential', () => {
    expect(cleanVenueText(`API-key ${KEY} is invalid`, secrets, 160)).toBeUndefined();
  });

  it('drops 8 hex digits of a credential in venue text (in responses, 16 are needed)', () => {
    const hex = Buffer.from(KEY).toString('hex');
    expect(cleanVenueText(`sig over ${hex.slice(2, 10)}`, secrets, 160)).toBeUndefined();
    expect(cleanVenueText(`sig over ${hex.slice(2, 9)}`, secrets, 160)).toBe(`sig over ${hex.slice(2, 9)}`);
  });

  it('drops a short credential standing as a word, and keeps it inside a longer token', () => {
    const uid = [SecretValue.fromText('4711')];
    expect(cleanVenueText('uid 4711 not allowed', uid, 160)).toBeUndefined();
    expect(cleanVenueText('price 0.4711 too low', uid, 160)).toBe('price 0.4711 too low');
  });

  it('masks long opaque tokens in any encoding, and control characters', () => {
    const b64 = Buffer.from('some-other-secret-value-123').toString('base64');
    expect(cleanVenueText(`bad sig ${SIGNATURE} and ${b64}\r\nInjected: yes`, secrets, 160)).toBe(
      'bad sig … and … Injected: yes',
    );
  });

  it('caps the length', () => {
    expect(cleanVenueText('word '.repeat(100), secrets, 20)).toHaveLength(20);
  });
});
