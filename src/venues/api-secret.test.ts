import { createPrivateKey, generateKeyPairSync, sign, verify } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { isCofreError } from '../errors.js';
import { SecretValue } from '../secrets/secret-value.js';
import { apiKeyLabel, apiPublicKey, describeApiSecret, signingSecret } from './api-secret.js';

const ed = generateKeyPairSync('ed25519');
const edPem = ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPkcs1 = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const rsaPkcs8 = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const HMAC = 'NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j';

/** ccxt 4.5.84's choice in binance `sign` (:13424): a PEM of more than 120 characters is RSA, else Ed25519. */
const ccxtSigns = (secret: string): 'hmac' | 'rsa' | 'ed25519' =>
  !secret.includes('PRIVATE KEY') ? 'hmac' : secret.length > 120 ? 'rsa' : 'ed25519';

const value = (text: string): SecretValue => SecretValue.fromText(text);

describe('signingSecret', () => {
  it('hands an HMAC secret over as it is, without a copy', () => {
    const secret = value(HMAC);
    const signing = signingSecret(secret, 'acct');
    expect(signing.value).toBe(secret);
    expect(signing.description).toEqual({ type: 'hmac' });
  });

  it('gives ccxt a form its length rule signs as Ed25519, whatever line ends the key was stored with', () => {
    const crlf = edPem.replace(/\n/g, '\r\n');
    // The case that motivates the canonical form: ccxt would sign this stored text as RSA (and throw).
    expect(ccxtSigns(crlf)).toBe('rsa');
    for (const stored of [edPem, crlf, `${edPem}\n\n`, edPem.replace(/\n/g, '\\n'), `  ${edPem}`]) {
      const signing = signingSecret(value(stored), 'acct');
      expect(signing.description).toEqual({ type: 'ed25519' });
      expect(signing.value.text()).toBe(edPem);
      expect(ccxtSigns(signing.value.text())).toBe('ed25519');
    }
  });

  it('re-wraps an RSA PKCS#1 key as PKCS#8 (what Binance documents), which ccxt signs as RSA', () => {
    const signing = signingSecret(value(rsaPkcs1), 'acct');
    expect(signing.description).toEqual({ type: 'rsa', bits: 2048 });
    expect(signing.value.text()).toBe(rsaPkcs8);
    expect(ccxtSigns(signing.value.text())).toBe('rsa');
    // Same key: a signature made with the canonical form verifies under the original's public key.
    const signature = sign('sha256', Buffer.from('x=1'), createPrivateKey(signing.value.text()));
    expect(verify('sha256', Buffer.from('x=1'), rsa.publicKey, signature)).toBe(true);
  });
});

describe('describeApiSecret refuses what cannot sign, naming the account and never the key', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
  const cases: [string, string, RegExp][] = [
    [
      'encrypted PKCS#8',
      ed.privateKey
        .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' })
        .toString(),
      /encrypted private key/,
    ],
    [
      'legacy encrypted PKCS#1',
      rsa.privateKey
        .export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' })
        .toString(),
      /encrypted private key/,
    ],
    [
      'a public key',
      ed.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      /public key, not a private key/,
    ],
    ['an EC key', ec.export({ type: 'pkcs8', format: 'pem' }).toString(), /is a key of type "ec"/],
    ['an EC key in SEC1', ec.export({ type: 'sec1', format: 'pem' }).toString(), /PEM "EC PRIVATE KEY"/],
    ['RSA 1024', small.export({ type: 'pkcs8', format: 'pem' }).toString(), /RSA key of 1024 bits/],
    ['a truncated PEM', edPem.slice(0, 60), /not a readable one/],
    ['two keys', `${edPem}${rsaPkcs8}`, /more than one PEM block/],
    [
      'a body that is not a key',
      '-----BEGIN PRIVATE KEY-----\nAAAAAAAAAAAAAAAA\n-----END PRIVATE KEY-----\n',
      /does not decode as a private key/,
    ],
  ];
  it.each(cases)('%s', (_name, pem, message) => {
    let thrown: unknown;
    try {
      describeApiSecret(value(pem), 'acct-1');
    } catch (err) {
      thrown = err;
    }
    expect(isCofreError(thrown, 'COFRE_CREDENTIALS_INVALID')).toBe(true);
    const err = thrown as Error & { details?: unknown };
    expect(err.message).toMatch(message);
    expect(err.message).toContain('account "acct-1"');
    expect(err.details).toEqual({ account: 'acct-1' });
    const body = pem.split('\n')[1] ?? '';
    expect(err.message).not.toContain(body.slice(0, 16));
  });
});

describe('apiPublicKey and apiKeyLabel', () => {
  it('derive what doctor and the paper exchange show: the public key and the type', () => {
    expect(apiPublicKey(value(edPem), 'a')).toBe(ed.publicKey.export({ type: 'spki', format: 'pem' }));
    expect(apiPublicKey(value(HMAC), 'a')).toBeUndefined();
    expect(apiKeyLabel(describeApiSecret(value(rsaPkcs1), 'a'))).toBe('RSA 2048');
    expect(apiKeyLabel(describeApiSecret(value(edPem), 'a'))).toBe('Ed25519');
    expect(apiKeyLabel(describeApiSecret(value(HMAC), 'a'))).toBe('HMAC');
  });
});
