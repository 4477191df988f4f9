// Issue 19: an exchange API key that is an Ed25519 or RSA private key in PEM is scrubbed from answers, stored rows
// and log lines in every form a leak could take — including forms its PEM text does not show (hex of the DER, the
// DER's base64 at another alignment, the PKCS#8 re-wrapping cofre hands to ccxt, a JWK's fields).
import { generateKeyPairSync, type KeyObject } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { LogRedactor } from '../secrets/log-redactor.js';
import { SecretValue } from '../secrets/secret-value.js';
import { signingSecret } from '../venues/api-secret.js';
import { scrubSecrets, scrubValue } from './scrub.js';

const ed = generateKeyPairSync('ed25519').privateKey;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

/** The PEM as stored (CRLF, PKCS#1 for RSA) and the leak forms of its key. */
function leakForms(
  key: KeyObject,
  type: 'pkcs8' | 'pkcs1',
): { stored: string; forms: Record<string, string> } {
  const stored = key.export({ type, format: 'pem' }).toString().replace(/\n/g, '\r\n');
  const body = stored
    .split('\r\n')
    .filter((l) => l !== '' && !l.startsWith('-----'))
    .join('');
  const der = Buffer.from(body, 'base64');
  const pkcs8 = key.export({ type: 'pkcs8', format: 'pem' }).toString();
  const jwk = key.export({ format: 'jwk' });
  return {
    stored,
    forms: {
      'the PEM text': stored,
      'the PEM JSON-escaped': JSON.stringify(stored),
      'the PEM with \\n escapes': stored.replace(/\r\n/g, '\\n'),
      'its base64 body on one line': body,
      'one line of the body': stored.split('\r\n')[2] ?? '',
      'the body URL-encoded': encodeURIComponent(body),
      'hex of the DER': der.toString('hex'),
      'HEX of the DER': der.toString('hex').toUpperCase(),
      'the DER as base64 one byte in': Buffer.concat([Buffer.from([7]), der]).toString('base64'),
      'the canonical PKCS#8 body ccxt signs with': pkcs8,
      "a JWK's private field": jwk.d ?? '',
    },
  };
}

/**
 * Runs of 16 characters of the form's secret-bearing part left in `out`: past its first 48 characters (headers,
 * algorithm ids and versions, the same for every key), or its first third for a short form (a JWK field).
 */
function leftovers(out: string, form: string): string[] {
  const secretPart = form.slice(Math.min(48, Math.floor(form.length / 3)));
  const left: string[] = [];
  for (let i = 0; i + 16 <= secretPart.length; i += 4) {
    const window = secretPart.slice(i, i + 16);
    if (/^[A-Za-z0-9+/=_-]{16}$/.test(window) && out.includes(window)) left.push(window);
  }
  return left;
}

for (const [name, key, type] of [
  ['Ed25519 (PKCS#8)', ed, 'pkcs8'],
  ['RSA 2048 (PKCS#1)', rsa, 'pkcs1'],
] as const) {
  describe(`a ${name} private key`, () => {
    const { stored, forms } = leakForms(key, type);
    for (const [what, form] of Object.entries(forms)) {
      it(`is scrubbed from an answer as ${what}`, () => {
        const secret = SecretValue.fromText(stored);
        const out = scrubSecrets(`venue said: ${form} (end)`, [secret]);
        expect(leftovers(out, form)).toEqual([]);
        expect(out).toContain('venue said: ');
      });
    }

    it('is scrubbed from structured values and from log lines in every form', () => {
      const secret = SecretValue.fromText(stored);
      const scrubbed = JSON.stringify(scrubValue({ errors: Object.values(forms) }, [secret]));
      const redactor = new LogRedactor();
      redactor.add('local:exchanges/binance#secret', secret.clone());
      for (const form of Object.values(forms)) {
        expect(leftovers(scrubbed, form)).toEqual([]);
        const line = redactor.redact(`${JSON.stringify({ level: 50, msg: `failed: ${form}` })}\n`);
        expect(leftovers(line, form)).toEqual([]);
        expect(() => JSON.parse(line) as unknown).not.toThrow();
      }
      redactor.dispose();
    });

    it('is scrubbed in the canonical form cofre signs with, knowing only that form (as a venue call holds it)', () => {
      const { value } = signingSecret(SecretValue.fromText(stored), 'acct');
      for (const form of [
        stored,
        forms['hex of the DER'] ?? '',
        forms['its base64 body on one line'] ?? '',
      ]) {
        expect(leftovers(scrubSecrets(`x ${form} y`, [value]), form)).toEqual([]);
      }
    });
  });
}

describe('what stays readable', () => {
  it('leaves an order answer of a PEM-keyed account alone', () => {
    const secret = SecretValue.fromText(ed.export({ type: 'pkcs8', format: 'pem' }).toString());
    const answer = {
      orderId: 28,
      clientOrderId: 'x-TKT5PX2F9b3e1d0c2f',
      price: '60000.00000000',
      transactTime: 1764547200123,
    };
    expect(scrubValue(answer, [secret])).toEqual(answer);
  });
});

describe('the armor is not secret', () => {
  // Regression: the PEM's armor lines were matched as secret text, and URL forms match case-insensitively, so the
  // words of cofre's own message ("is an encrypted private key") were redacted from an answer.
  it('leaves words of the BEGIN/END lines in prose alone, for plain and encrypted keys', () => {
    const encrypted = ed
      .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' })
      .toString();
    const legacy = rsa
      .export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' })
      .toString();
    for (const stored of [encrypted, legacy, ed.export({ type: 'pkcs8', format: 'pem' }).toString()]) {
      const text = 'the API secret of account "a" is an encrypted private key, not a PRIVATE KEY-----';
      expect(scrubSecrets(text, [SecretValue.fromText(stored)])).toBe(text);
    }
  });
});
