import { describe, expect, it } from 'vitest';

import { ScramError, startScram } from './scram-client.js';

// RFC 7677, section 3: the SCRAM-SHA-256 exchange for user "user", password "pencil".
const NONCE = 'rOprNGfwEbeRWgbNEkqO';
const SERVER_FIRST = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
const CLIENT_FINAL =
  'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
const SERVER_FINAL = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';

describe('SCRAM-SHA-256 client', () => {
  it('computes the RFC 7677 test vector and accepts its server signature', () => {
    const scram = startScram('pencil', { user: 'user', nonce: NONCE });
    expect(scram.clientFirst).toBe(`n,,n=user,r=${NONCE}`);
    expect(scram.respond(SERVER_FIRST)).toBe(CLIENT_FINAL);
    expect(() => {
      scram.verify(SERVER_FINAL);
    }).not.toThrow();
  });

  it('refuses a server that does not know the password', () => {
    const scram = startScram('not-pencil', { user: 'user', nonce: NONCE });
    scram.respond(SERVER_FIRST);
    expect(() => {
      scram.verify(SERVER_FINAL);
    }).toThrow(ScramError);
  });

  it('refuses a server nonce that does not extend its own, and absurd iteration counts', () => {
    expect(() => startScram('pw').respond('r=other,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')).toThrow(/nonce/);
    const scram = startScram('pw', { user: '*', nonce: 'abc' });
    expect(() => scram.respond('r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=100000000')).toThrow(/iteration/);
    expect(() => scram.respond('r=abcdef,s=,i=4096')).toThrow(/salt/);
  });

  it('refuses a server-final before any server-first', () => {
    expect(() => {
      startScram('pw').verify(SERVER_FINAL);
    }).toThrow(ScramError);
  });
});
