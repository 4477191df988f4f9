import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { validateConfig } from '../../config/load-config.js';
import { checkIdentityIssuers } from './doctor-identity.js';

// A loopback issuer: one discovery document with its key set, one whose key set is empty, one that names itself
// wrongly. Only what discovery reads; the tokens themselves are tested with real issuers elsewhere.
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const send = (body: unknown): void => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const [, issuer, rest] = /^\/(\w+)(\/.*)$/.exec(req.url ?? '') ?? [];
    if (rest === '/.well-known/openid-configuration') {
      send({
        issuer: issuer === 'liar' ? `${base}/other` : `${base}/${issuer}`,
        jwks_uri: `${base}/${issuer}/jwks`,
      });
    } else if (rest === '/jwks') {
      send({ keys: issuer === 'empty' ? [] : [{ kty: 'OKP', crv: 'Ed25519', x: 'AAAA', kid: 'k1' }] });
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((done) => server.close(done));
});

describe('cofre doctor: identity issuers', () => {
  it('finds each key set by discovery, and fails an empty, lying or unreachable issuer', async () => {
    const rules = [{ agent: 'bot', policy: 'p' }];
    const config = validateConfig({
      policies: { p: { rules: [{ allow: ['list_accounts'] }] } },
      server: { publicUrl: 'http://127.0.0.1:8787' },
      agents: {
        oauth: [{ issuer: `${base}/good`, rules }],
        exchange: [
          { issuer: `${base}/empty`, audience: 'cofre', rules },
          { issuer: `${base}/liar`, audience: 'cofre', rules },
          { issuer: 'http://127.0.0.1:1/down', audience: 'cofre', rules },
        ],
      },
    });
    const findings = await checkIdentityIssuers(config);
    expect(findings.map((f) => [f.subject.split(' ')[0], f.status])).toEqual([
      ['agents.oauth[0]', 'ok'],
      ['agents.exchange[0]', 'fail'],
      ['agents.exchange[1]', 'fail'],
      ['agents.exchange[2]', 'fail'],
    ]);
    expect(findings[0]?.message).toBe(`1 signing key(s) at ${base}/good/jwks`);
    expect(findings[1]?.message).toContain('holds no key');
    expect(findings[2]?.message).toContain('is not a valid one for issuer');
    expect(findings[3]?.message).toContain('could not be fetched');
  });
});
