// VaultSession decisions against a tiny loopback HTTP server standing in for Vault's token endpoints: what happens
// when renewal fails transiently, is refused, or is capped, and what close() revokes.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { CofreError, isCofreError } from '../../errors.js';
import type { BackendLogFields } from '../backend-log.js';
import type { VaultAuthMethod, VaultLogin } from './vault-auth.js';
import { VaultClient } from './vault-client.js';
import { VaultSession } from './vault-session.js';

let server: Server;
let client: VaultClient;
const calls: string[] = [];
let renewStatus = 200;
let renewTtl = 60;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      calls.push(`${req.method ?? ''} ${req.url ?? ''} ${String(req.headers['x-vault-token'])}`);
      if (req.url === '/v1/auth/token/renew-self') {
        res.writeHead(renewStatus, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify(
            renewStatus === 200
              ? {
                  auth: { client_token: 'ignored', accessor: 'a', lease_duration: renewTtl, renewable: true },
                }
              : { errors: ['nope'] },
          ),
        );
        return;
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new VaultClient({
    address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0, maxElapsedMs: 0 },
  });
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  calls.length = 0;
  renewStatus = 200;
  renewTtl = 60;
});

/** An auth method that hands out numbered tokens (a real implementation of the interface, no network). */
function counting(owned = true, ttlSeconds = 60): VaultAuthMethod & { logins: number } {
  const auth = {
    method: 'test',
    logins: 0,
    login(): Promise<VaultLogin> {
      auth.logins++;
      return Promise.resolve({
        token: `tok-${auth.logins}`,
        accessor: `acc-${auth.logins}`,
        ttlSeconds,
        renewable: true,
        policies: ['p'],
        ownedByCofre: owned,
      });
    },
  };
  return auth;
}

function session(auth: VaultAuthMethod): {
  s: VaultSession;
  logs: { message: string; fields?: BackendLogFields }[];
} {
  const logs: { message: string; fields?: BackendLogFields }[] = [];
  const s = new VaultSession({
    client,
    auth,
    log: (_level, message, fields) => logs.push({ message, ...(fields === undefined ? {} : { fields }) }),
  });
  return { s, logs };
}

describe('VaultSession', () => {
  it('logs in once for concurrent callers', async () => {
    const auth = counting();
    const { s } = session(auth);
    expect(await Promise.all([s.token(), s.token(), s.token()])).toEqual(['tok-1', 'tok-1', 'tok-1']);
    expect(auth.logins).toBe(1);
    await s.close();
  });

  it('keeps the token and retries later when renewal fails because Vault is unavailable', async () => {
    const auth = counting();
    const { s, logs } = session(auth);
    await s.token();
    renewStatus = 503;
    await s.renewNow();
    expect(s.accessor).toBe('acc-1');
    expect(auth.logins).toBe(1);
    expect(logs.some((l) => l.message.includes('renewal failed; Vault unavailable'))).toBe(true);
    await s.close();
  });

  it('logs in again when renewal is refused', async () => {
    const auth = counting();
    const { s } = session(auth);
    await s.token();
    renewStatus = 403;
    await s.renewNow();
    expect(s.accessor).toBe('acc-2');
    await s.close();
  });

  it('schedules a new login instead of renewing when Vault caps the renewal (max TTL near)', async () => {
    const auth = counting();
    const { s, logs } = session(auth);
    await s.token();
    renewTtl = 10; // less than the login TTL of 60 s
    await s.renewNow();
    expect(logs.some((l) => l.message.includes('nears its max TTL'))).toBe(true);
    await s.close();
  });

  it('revokes a token it created on close, and only that', async () => {
    const { s: owned } = session(counting(true));
    await owned.token();
    await owned.close();
    expect(calls).toContain('POST /v1/auth/token/revoke-self tok-1');
    calls.length = 0;
    const { s: operator } = session(counting(false));
    await operator.token();
    await operator.close();
    expect(calls.some((c) => c.includes('revoke-self'))).toBe(false);
  });

  it('re-runs a denied request once after a re-login only when the token itself is dead', async () => {
    const auth = counting();
    const { s } = session(auth);
    const denied = (): Promise<never> => Promise.reject(new CofreError('COFRE_BACKEND_DENIED', 'denied'));
    // lookup-self answers 204 here: the token lives, so the denial is a policy one and stands.
    let runs = 0;
    const err = await s
      .withToken(() => {
        runs++;
        return denied();
      })
      .catch((e: unknown) => e);
    expect(isCofreError(err, 'COFRE_BACKEND_DENIED')).toBe(true);
    expect(runs).toBe(1);
    expect(auth.logins).toBe(1);
    await s.close();
  });

  it('refuses use after close', async () => {
    const { s } = session(counting());
    await s.close();
    const err = await s.token().catch((e: unknown) => e);
    expect(isCofreError(err, 'COFRE_BACKEND_CLOSED')).toBe(true);
    await s.close(); // twice is fine
  });
});
