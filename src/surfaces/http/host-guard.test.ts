import { describe, expect, it } from 'vitest';

import { isCofreError } from '../../errors.js';
import { bearerToken } from './bearer-token.js';
import { checkHostAndOrigin } from './host-guard.js';

function refused(host: string | undefined, origin?: string, options = {}): boolean {
  try {
    checkHostAndOrigin(host, origin, options);
    return false;
  } catch (err) {
    if (isCofreError(err, 'COFRE_ORIGIN_REFUSED')) return true;
    throw err;
  }
}

describe('checkHostAndOrigin', () => {
  it('accepts loopback names on any port by default', () => {
    for (const host of [
      'localhost',
      'localhost:8787',
      '127.0.0.1:1',
      '[::1]',
      '[::1]:8787',
      'LocalHost:80',
    ]) {
      expect(refused(host), host).toBe(false);
    }
  });

  it('refuses other names, a missing Host and look-alikes', () => {
    for (const host of [
      undefined,
      '',
      'evil.example',
      'localhost.evil.example',
      '127.0.0.1.nip.io:80',
      '[::1',
      '[::2]',
    ]) {
      expect(refused(host), String(host)).toBe(true);
    }
  });

  it('refuses any Origin unless listed', () => {
    expect(refused('localhost', 'http://localhost:3000')).toBe(true);
    expect(refused('localhost', 'null')).toBe(true);
    expect(refused('localhost', 'https://ok.example', { allowedOrigins: ['https://ok.example'] })).toBe(
      false,
    );
  });

  it("accepts configured names, and every name with 'any'", () => {
    expect(refused('cofre.internal:8787', undefined, { allowedHosts: ['cofre.internal'] })).toBe(false);
    expect(refused('localhost', undefined, { allowedHosts: ['cofre.internal'] })).toBe(true);
    expect(refused('whatever.example', undefined, { allowedHosts: 'any' })).toBe(false);
  });
});

describe('bearerToken', () => {
  it('reads a bearer token, scheme case-insensitive', () => {
    expect(bearerToken('Bearer abc.def')).toBe('abc.def');
    expect(bearerToken('bearer abc')).toBe('abc');
  });

  it('ignores anything else', () => {
    for (const header of [undefined, '', 'Bearer', 'Bearer ', 'Basic abc', 'Bearer a b', ['Bearer a']]) {
      expect(bearerToken(header)).toBeUndefined();
    }
  });
});
