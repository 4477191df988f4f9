import { randomBytes } from 'node:crypto';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { encodedVariants, fragmentsOf, leaks } from '../../test/invariants/canary.js';
import { isCofreError } from '../errors.js';
import { SecretMatcher, VENUE_TEXT_RULES } from '../secrets/secret-matcher.js';
import { SecretValue } from '../secrets/secret-value.js';
import { MatcherCache, scrubSecrets, scrubValue } from './scrub.js';

/** A Binance-style API key: 64 letters and digits. */
function apiKey(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(64)].map((b) => alphabet[b % alphabet.length]).join('');
}

const SECRETS = {
  'an API key of letters and digits': apiKey(),
  'a secret with JSON, URL and base64 specials': `p@ss/word+"quoted"\\ & spaces=!*'()~${randomBytes(6).toString('hex')}`,
  'a secret with non-ASCII characters': `clé-sécrète-🔑-${randomBytes(6).toString('hex')}`,
};

/** Every run of 8 characters (16 for hex forms, the response rule) of one encoded form. */
function runsOf(form: string, name: string): string[] {
  const n = /^hex$/i.test(name) ? 16 : 8;
  return Array.from({ length: Math.max(0, form.length - n + 1) }, (_, i) => form.slice(i, i + n));
}

describe('scrubSecrets', () => {
  for (const [what, secret] of Object.entries(SECRETS)) {
    describe(what, () => {
      for (const [name, form] of Object.entries(encodedVariants(secret))) {
        it(`removes it ${name}`, () => {
          const text = `{"msg":"venue says ${form} and more","ok":true}`;
          const out = scrubSecrets(text, [SecretValue.fromText(secret)]);
          expect(out).toContain('[REDACTED]');
          expect(out.startsWith('{"msg":"venue says ')).toBe(true);
          expect(out.endsWith(' and more","ok":true}')).toBe(true);
          expect(leaks(out, fragmentsOf(secret))).toEqual([]);
          // A standalone form leaves not even a run of itself; a blob keeps only its random neighbours.
          if (!name.includes('offset')) expect(leaks(out, runsOf(form, name))).toEqual([]);
        });
      }
    });
  }

  // Regression: base64 of a key at byte offset 1 or 2 inside a longer blob encodes differently and went through.
  it('finds a key inside a base64 blob at every byte offset', () => {
    const key = apiKey();
    for (let offset = 0; offset < 6; offset++) {
      for (const encoding of ['base64', 'base64url'] as const) {
        const blob = Buffer.concat([randomBytes(offset), Buffer.from(key), randomBytes(offset)]).toString(
          encoding,
        );
        const out = scrubSecrets(`token=${blob};`, [SecretValue.fromText(key)]);
        expect(leaks(out, fragmentsOf(key))).toEqual([]);
      }
    }
  });

  // Regression: lower-case %xx escapes were not recognised.
  it('finds URL encoding with lower-case and mixed-case escapes', () => {
    const secret = 'a/b+c d=e&f?g#h';
    for (const form of [
      'a%2fb%2bc%20d%3de%26f%3fg%23h',
      'a%2Fb%2bC%20d%3De%26f%3Fg%23h',
      'a%2Fb%2Bc+d%3De%26f%3Fg%23h',
    ]) {
      expect(scrubSecrets(`q=${form}&x=1`, [SecretValue.fromText(secret)])).toBe('q=[REDACTED]&x=1');
    }
  });

  // Regression (issue 8, item 20): a venue echoed the API key in 20-character chunks, and the chunks got through.
  it('removes every run of 8 or more characters of a key: 20-character chunks, and an 8-character one', () => {
    const key = apiKey();
    const chunks = [key.slice(0, 20), key.slice(20, 40), key.slice(40, 60)];
    const text = `key chunks: ${chunks.join(' | ')} | ${key.slice(60)} / tail ${key.slice(30, 38)}.`;
    const out = scrubSecrets(text, [SecretValue.fromText(key)]);
    expect(leaks(out, fragmentsOf(key))).toEqual([]);
    // The last 4 characters stay: below the rule (venue text that holds any hit is dropped whole, tail and all).
    expect(out).toBe(
      `key chunks: [REDACTED] | [REDACTED] | [REDACTED] | ${key.slice(60)} / tail [REDACTED].`,
    );
  });

  it('keeps a run of 7 characters of a key: the rule is 8, and shorter runs occur by chance', () => {
    const key = apiKey();
    const text = `id ${key.slice(10, 17)} ok`;
    expect(scrubSecrets(text, [SecretValue.fromText(key)])).toBe(text);
  });

  it('removes fragments of the hex and base64 forms as well', () => {
    const key = apiKey();
    const hex = Buffer.from(key).toString('hex');
    const b64 = Buffer.from(key).toString('base64');
    const text = `h=${hex.slice(5, 25)} H=${hex.slice(40, 58).toUpperCase()} b=${b64.slice(9, 19)}`;
    expect(scrubSecrets(text, [SecretValue.fromText(key)])).toBe('h=[REDACTED] H=[REDACTED] b=[REDACTED]');
  });

  it('leaves decimal numbers that happen to be 8 hex digits of the key in responses, not in venue text', () => {
    // 'ABCD' is 41424344 in hex: all decimal digits, as a third of a typical key's 8-digit hex windows are.
    const key = `ABCD${apiKey().slice(4)}`;
    const response = '{"order":{"id":"7741424344","amount":"0.41424344"}}';
    expect(scrubSecrets(response, [SecretValue.fromText(key)])).toBe(response);
    const matcher = SecretMatcher.of([SecretValue.fromText(key)], VENUE_TEXT_RULES);
    expect(matcher.redact('Order 7741424344 does not exist')).toBe('Order 77[REDACTED] does not exist');
    matcher.dispose();
  });

  it('removes each of several secrets, and leaves text without them unchanged (the same string)', () => {
    const key = apiKey();
    const secret = apiKey();
    const values = [SecretValue.fromText(key), SecretValue.fromText(secret)];
    expect(scrubSecrets(`${secret} and ${Buffer.from(key).toString('hex')}`, values)).toBe(
      '[REDACTED] and [REDACTED]',
    );
    const clean = '{"requestId":"req_abc","status":"executed","result":{"balance":{"assets":{}}}}';
    expect(scrubSecrets(clean, values)).toBe(clean);
  });

  it('does not change or zero the secret values it is given', () => {
    const key = apiKey();
    const value = SecretValue.fromText(key);
    scrubSecrets(`x ${key} y`, [value]);
    expect(value.zeroed).toBe(false);
    expect(value.text()).toBe(key);
  });

  it('refuses to be used after dispose(), which zeroes what it holds', () => {
    const matcher = SecretMatcher.of([SecretValue.fromText(apiKey())], VENUE_TEXT_RULES);
    matcher.dispose();
    matcher.dispose();
    expect(() => matcher.find('x')).toThrow(/after dispose/);
  });

  it('fails, rather than passing text through, when a secret was already zeroed', () => {
    const value = SecretValue.fromText(apiKey());
    value.zero();
    let caught: unknown;
    try {
      scrubSecrets('anything', [value]);
    } catch (err) {
      caught = err;
    }
    expect(isCofreError(caught, 'COFRE_SECRET_ZEROED')).toBe(true);
  });

  describe('a secret shorter than 8 bytes', () => {
    const uid = SecretValue.fromText('123456');
    const pass = SecretValue.fromText('hunter2');

    // Regression: values shorter than 8 bytes were skipped entirely, so a 7-character passphrase went out as is.
    it('is removed where it stands as a whole value, in any encoding', () => {
      expect(scrubSecrets('{"uid":"123456","note":"passphrase hunter2."}', [uid, pass])).toBe(
        '{"uid":"[REDACTED]","note":"passphrase [REDACTED]."}',
      );
      expect(scrubSecrets('b64=aHVudGVyMg== hex=68756E74657232 url=hunter2', [pass])).toBe(
        'b64=[REDACTED] hex=[REDACTED] url=[REDACTED]',
      );
    });

    it('is left alone inside a longer token, where it is indistinguishable from ordinary data', () => {
      const text = '{"price":"0.1234567","id":"91234567","tag":"hunter22","v":"1.123456","w":"hunter2-b"}';
      expect(scrubSecrets(text, [uid, pass])).toBe(text);
    });
  });
});

describe('scrubSecrets on JSON text', () => {
  // Regression: redacting half of a backslash escape (`\\"`, `\\u00e9`) or a string's own quote broke the JSON.
  it('keeps JSON text parseable when secrets full of quotes, backslashes and escapes are echoed in pieces', () => {
    const char = fc.constantFrom(
      'a',
      'b',
      'x',
      '1',
      '"',
      '\\',
      '/',
      '\n',
      '\u0001',
      'é',
      '🔑',
      '%',
      '+',
      ' ',
      '=',
    );
    fc.assert(
      fc.property(
        fc.array(char, { minLength: 8, maxLength: 24 }).map((cs) => cs.join('')),
        fc.nat(),
        fc.nat(),
        (secret, a, b) => {
          const from = a % secret.length;
          const echo = secret.slice(from, from + (b % (secret.length - from + 1)));
          const text = JSON.stringify({
            msg: `x${echo}y`,
            whole: secret,
            other: `q"${secret.slice(0, 3)}\\`,
          });
          const out = scrubSecrets(text, [SecretValue.fromText(secret)]);
          const parsed = JSON.parse(out) as { whole: string };
          expect(parsed.whole).not.toContain(secret.slice(0, 8));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('scrubValue', () => {
  it('scrubs every string, key and matching number, and keeps the structure', () => {
    const key = apiKey();
    const value = {
      requestId: 'req_1',
      result: {
        order: { id: key, clientOrderId: `c-${key.slice(0, 20)}`, amount: '0.001' },
        list: [Buffer.from(key).toString('base64'), 42],
        [key]: 'asset named after the key',
      },
      uid: 123456,
    };
    const out = scrubValue(value, [SecretValue.fromText(key), SecretValue.fromText('123456')]);
    expect(out).toEqual({
      requestId: 'req_1',
      result: {
        order: { id: '[REDACTED]', clientOrderId: 'c-[REDACTED]', amount: '0.001' },
        list: ['[REDACTED]', 42],
        '[REDACTED]': 'asset named after the key',
      },
      uid: '[REDACTED]',
    });
    expect(value.result.order.id).toBe(key); // a copy, the input is untouched
  });

  it('keeps a key named __proto__ as a plain key', () => {
    const parsed = JSON.parse('{"__proto__":{"x":"y"}}') as unknown;
    const out = scrubValue(parsed, [SecretValue.fromText(apiKey())]);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe('{"__proto__":{"x":"y"}}');
  });
});

describe('MatcherCache', () => {
  const value = (): SecretValue => SecretValue.fromText(apiKey());

  it('builds one matcher per set of values and hands it out again for equal values', () => {
    const cache = new MatcherCache();
    const key = apiKey();
    const first = cache.get([SecretValue.fromText(key)], 0);
    expect(cache.get([SecretValue.fromText(key)], 1)).toBe(first);
    expect(cache.get([value()], 2)).not.toBe(first);
  });

  it('disposes (zeroes) the least recently used matcher past 32, and any unused for ten minutes', () => {
    const cache = new MatcherCache();
    const kept = [value()];
    const old = cache.get(kept, 0);
    const idle = cache.get([value()], 0);
    for (let i = 1; i <= 31; i++) {
      cache.get([value()], i);
      cache.get(kept, i); // used again: stays
    }
    expect(() => idle.find('text')).toThrow(); // the least recently used, evicted
    expect(cache.get(kept, 100)).toBe(old);
    cache.get([value()], 100 + 10 * 60_000);
    expect(() => old.find('text')).toThrow(); // unused for ten minutes
  });
});
