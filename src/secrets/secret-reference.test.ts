import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { CofreError } from '../errors.js';
import {
  formatSecretReference,
  looksLikeLiteralSecret,
  parseSecretReference,
  type SecretReference,
} from './secret-reference.js';

function parseError(input: string): CofreError {
  try {
    parseSecretReference(input);
  } catch (err) {
    if (err instanceof CofreError) return err;
    throw err;
  }
  throw new Error(`expected ${input} to be rejected`);
}

describe('parseSecretReference', () => {
  it.each<[string, Partial<SecretReference>]>([
    [
      'local:exchanges/binance',
      { backend: 'local', path: 'exchanges/binance', field: undefined, selector: { kind: 'latest' } },
    ],
    ['local:exchanges/binance#secret', { path: 'exchanges/binance', field: 'secret' }],
    [
      'vault:secret/exchanges/binance#api_key@3',
      { backend: 'vault', field: 'api_key', selector: { kind: 'version', version: '3' } },
    ],
    [
      'aws:prod/binance#apiKey@stage=pending',
      { backend: 'aws', selector: { kind: 'stage', stage: 'pending' } },
    ],
    ['azure:binance-secret@0123456789abcdef0123456789abcdef', { path: 'binance-secret' }],
    [
      'aws:arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/x-AbCdEf#k',
      { path: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/x-AbCdEf' },
    ],
    ['aws:team%40example/key', { path: 'team@example/key' }],
  ])('parses %s', (input, expected) => {
    expect(parseSecretReference(input)).toMatchObject(expected);
  });

  it.each([
    ['', 1, /empty/],
    ['Local:x', 1, /lowercase letter/],
    ['local', 6, /expected ":"/],
    ['local:', 7, /empty path/],
    ['local:exch!/x', 11, /unexpected "!"/],
    ['local:a/b#', 11, /field name/],
    ['local:a/b@', 11, /version/],
    ['local:a/b@stage=live', 17, /unknown stage/],
    ['local:a/b@3#field', 12, /"#field" comes before "@version"/],
    ['local:/abs', 7, /must not start or end/],
    ['local:a//b', 7, /must not start or end/],
    ['local:a%zz', 8, /percent-escape/],
    ['local:a\nb', 8, /control character U\+000A/],
  ])('rejects %j at column %i', (input, column, message) => {
    const err = parseError(input);
    expect(err.code).toBe('COFRE_REFERENCE_INVALID');
    expect(err.details).toEqual({ column });
    expect(err.message).toMatch(message);
    // The caret sits under the offending column.
    if (input.length > 0) expect(err.message.split('\n')[2]).toBe(`  ${' '.repeat(column - 1)}^`);
  });

  it('round-trips through formatSecretReference', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9_.+=@#%-]{1,12}$/);
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/),
        fc.array(segment, { minLength: 1, maxLength: 4 }),
        fc.option(fc.stringMatching(/^[A-Za-z0-9_.-]{1,8}$/), { nil: undefined }),
        fc.oneof(
          fc.constant({ kind: 'latest' } as const),
          fc
            .stringMatching(/^[A-Za-z0-9_.-]{1,8}$/)
            .map((version) => ({ kind: 'version', version }) as const),
          fc
            .constantFrom('current', 'previous', 'pending')
            .map((stage) => ({ kind: 'stage', stage }) as const),
        ),
        (backend, segments, field, selector) => {
          const ref: SecretReference = { backend, path: segments.join('/'), field, selector };
          expect(parseSecretReference(formatSecretReference(ref))).toEqual(ref);
        },
      ),
    );
  });
});

describe('looksLikeLiteralSecret', () => {
  it.each([
    'AKIAIOSFODNN7EXAMPLE',
    'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    's.Xk3q9Lw0pRt7ZyB2nC4vD8eF',
    'hvs.CAESIJ2kq3LQ0w9Z8r7t6y5u4i3o2p1',
    'vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A',
    '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----',
    'sk-proj-abcdefghijklmnopqrstuvwx',
  ])('flags %s', (value) => {
    expect(looksLikeLiteralSecret(value)).toBe(true);
  });

  it.each([
    'local:exchanges/binance#secret',
    'vault:secret/data/x#api_key@3',
    'aws:prod/binance',
    'paper',
    'binance',
  ])('accepts %s', (value) => {
    expect(looksLikeLiteralSecret(value)).toBe(false);
  });
});
