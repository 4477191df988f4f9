/** The stand-in's token checks in isolation: every claim it verifies, and the algorithms it refuses. */
import { createHmac, generateKeyPairSync } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { signJwt } from './jwt.js';
import { KEY_VAULT_RESOURCE, TokenIssuer } from './token-issuer.js';

const NOW = 1_800_000_000;
const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const issuer = new TokenIssuer(
  'https://localhost:1/tenant-a/v2.0',
  'tenant-a',
  'https://localhost:1/federation',
  () => NOW,
  key,
);

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

describe('key-vault stand-in token issuer', () => {
  const good = issuer.mint({ clientId: 'app', audience: KEY_VAULT_RESOURCE }).accessToken;

  it('accepts its own token and names the client', () => {
    expect(issuer.verify(good, KEY_VAULT_RESOURCE)).toEqual({ ok: true, clientId: 'app' });
  });

  it('refuses a token signed by another key, even with its kid', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const forged = signJwt(claimsOf(good), other, { kid: issuer.keyId });
    expect(issuer.verify(forged, KEY_VAULT_RESOURCE)).toEqual({ ok: false, reason: 'invalid signature' });
  });

  it('refuses alg none and HS256 (keyed with the public key), whatever the claims', () => {
    const none = `${b64({ alg: 'none', kid: issuer.keyId })}.${b64(claimsOf(good))}.`;
    expect(issuer.verify(none, KEY_VAULT_RESOURCE).ok).toBe(false);
    const input = `${b64({ alg: 'HS256', kid: issuer.keyId })}.${b64(claimsOf(good))}`;
    const pem = issuer.publicKey.export({ type: 'spki', format: 'pem' });
    const hs = `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
    expect(issuer.verify(hs, KEY_VAULT_RESOURCE).ok).toBe(false);
  });

  it.each([
    ['issuer', { iss: 'https://elsewhere/tenant-a/v2.0' }, 'invalid issuer'],
    ['tenant', { tid: 'tenant-b' }, 'invalid tenant'],
    ['audience', { aud: 'https://graph.microsoft.com' }, 'invalid audience'],
    ['expiry', { exp: NOW }, 'expired'],
    ['not-before', { nbf: NOW + 3600 }, 'not yet valid'],
  ])('refuses a token with the wrong %s', (_, change, reason) => {
    const resigned = signJwt({ ...claimsOf(good), ...change }, key, { kid: issuer.keyId });
    expect(issuer.verify(resigned, KEY_VAULT_RESOURCE)).toEqual({ ok: false, reason });
  });

  it('a federated token is not an access token, and an access token is not a federated token', () => {
    const federated = issuer.mintFederated('system:serviceaccount:ns:sa');
    expect(issuer.verify(federated, KEY_VAULT_RESOURCE).ok).toBe(false);
    expect(issuer.verifyFederated(federated)).toEqual({ ok: true, subject: 'system:serviceaccount:ns:sa' });
    expect(issuer.verifyFederated(good).ok).toBe(false);
  });
});
