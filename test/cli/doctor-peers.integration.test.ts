// Issue 12, `cofre doctor` against the real peers: OpenBao (KV v2 with a static token, and dynamic PostgreSQL
// credentials whose leases appear in the same report) and moto (AWS Secrets Manager, credentials from the
// environment). A missing reference fails, an old secret warns (at an injected `now`), the token's TTL and the
// leases' ends are shown, and no secret value or token appears anywhere in the output.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { isCofreError } from '../../src/errors.js';
import { doctor } from '../../src/surfaces/cli/doctor.js';
import type { DoctorJson } from '../../src/surfaces/cli/doctor-report.js';
import { leaks, makeCanary } from '../invariants/canary.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { startMoto, startOpenBao, startPostgres } from '../peers/peers.js';
import { baoApi, mountPostgresDatabase, policy, tokenWith } from '../vault/vault-fixture.js';
import { cli, tempDir } from './cli-harness.js';
import { freePort } from './serve-test-tools.js';

const bao = await peerOrSkip('OpenBao', startOpenBao);
const pg = await peerOrSkip('PostgreSQL', startPostgres);
const moto = await peerOrSkip('moto', startMoto);
const { dir, remove } = tempDir();

afterAll(async () => {
  await Promise.all([bao?.stop(), pg?.stop(), moto?.stop()]);
  remove();
});

const DAY = 86_400_000;
const canary = makeCanary();
let token = '';

const POLICY = `
path "secret/data/exchanges/*" { capabilities = ["read"] }
path "secret/metadata/exchanges/*" { capabilities = ["read"] }
path "database/creds/*" { capabilities = ["read"] }
path "sys/leases/renew" { capabilities = ["update"] }
path "sys/leases/revoke" { capabilities = ["update"] }
`;

async function doctorJson(now?: Date): Promise<{ report: DoctorJson; error: unknown; text: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let text = '';
  stdout.on('data', (c: Buffer) => (text += c.toString('utf8')));
  stderr.on('data', (c: Buffer) => (text += c.toString('utf8')));
  const io = { stdin: new PassThrough(), stdout, stderr, cwd: dir };
  const error = await doctor(io, {}, { json: true, ...(now === undefined ? {} : { now }) }).then(
    () => undefined,
    (err: unknown) => err,
  );
  const rendered = error instanceof Error ? error.message : '';
  return { report: JSON.parse(text) as DoctorJson, error, text: `${text}\n${rendered}` };
}

function finding(report: DoctorJson, check: string, subject: string) {
  const found = report.findings.find((f) => f.check === check && f.subject === subject);
  if (found === undefined) throw new Error(`no ${check} finding about ${subject}: ${JSON.stringify(report)}`);
  return found;
}

describe.skipIf(bao === undefined || pg === undefined || moto === undefined)(
  'cofre doctor on real peers',
  () => {
    beforeAll(async () => {
      vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLEONLY');
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'moto-accepts-anything');
      await baoApi(bao!, 'POST', 'secret/data/exchanges/paper', {
        data: { apiKey: 'doctorKey', secret: canary.value },
      });
      await mountPostgresDatabase(bao!, pg!, { long: { defaultTtl: '1h', maxTtl: '2h' } });
      await policy(bao!, 'cofre-doctor', POLICY);
      token = await tokenWith(bao!, ['cofre-doctor'], '2h');
      writeFileSync(join(dir, 'vault.token'), token, { mode: 0o600 });

      expect((await cli(dir, ['init'])).code).toBe(0);
      const path = join(dir, 'cofre.yaml');
      // Where no venue answers: the venue checks only warn, whatever else runs on this host.
      const nowhere = `127.0.0.1:${await freePort()}`;
      const config = readFileSync(path, 'utf8')
        .replace(
          /^backends:\n/m,
          [
            'backends:',
            '  vault:',
            '    type: vault',
            `    address: ${bao!.addr}`,
            '    kvVersion: 2',
            '    dynamicMounts: [database]',
            '    auth: { method: token, tokenFile: vault.token }',
            '  aws:',
            '    type: aws-secrets-manager',
            '    region: us-east-1',
            `    endpoint: ${moto!.endpoint}`,
            '',
          ].join('\n'),
        )
        .replace('127.0.0.1:8788', nowhere)
        .replace('local:exchanges/paper#apiKey', 'vault:exchanges/paper#apiKey')
        .replace('local:exchanges/paper#secret', 'vault:exchanges/paper#secret')
        .replace(
          /^agents:/m,
          [
            '  db:',
            '    venue: binance',
            '    mode: paper',
            `    baseUrl: http://${nowhere}`,
            '    credentials:',
            '      apiKey: vault:database/creds/long#username',
            '      secret: vault:database/creds/long#password',
            '  aws-paper:',
            '    venue: binance',
            '    mode: paper',
            `    baseUrl: http://${nowhere}`,
            '    credentials:',
            '      apiKey: aws:exchanges/aws-paper#apiKey',
            '      secret: aws:exchanges/aws-paper#secret',
            'agents:',
          ].join('\n'),
        );
      writeFileSync(path, config);
      const put = await cli(
        dir,
        ['secret', 'put', 'exchanges/aws-paper', '-b', 'aws', '--field', 'apiKey', '--field', 'secret'],
        `awsKey\n${canary.value}-aws\n`,
      );
      expect(put).toMatchObject({ code: 0 });
    });

    it('shows each backend with its auth: the Vault token TTL, the leases, the AWS credential source', async () => {
      const { report, error } = await doctorJson();
      expect(error).toBeUndefined();
      const vault = finding(report, 'backends', 'vault');
      // A static token of 2 hours: cofre cannot log in again, so it warns before it runs out.
      expect(vault.status).toBe('warn');
      expect(vault.details).toMatchObject({
        type: 'vault',
        reachable: true,
        authMethod: 'token',
        tokenRenewable: true,
      });
      expect(vault.details['tokenTtlSeconds']).toBeGreaterThan(3600);
      expect(vault.details['tokenTtlSeconds']).toBeLessThanOrEqual(7200);
      expect(Date.parse(String(vault.details['tokenExpiresAt']))).toBeGreaterThan(Date.now() + 3600_000);
      expect(vault.message).toMatch(/auth token, token expires \S+ \(TTL 2h, renewable\); reachable, 4\/4/);
      const lease = finding(report, 'backends', 'vault:database/creds/long');
      expect(lease.status).toBe('ok');
      expect(lease.details).toMatchObject({ type: 'vault-lease', renewable: true, live: true });
      expect(lease.message).toMatch(/dynamic credentials, lease ends \S+ \(in 60m, renewable\)/);
      const aws = finding(report, 'backends', 'aws');
      expect(aws.status).toBe('ok');
      expect(aws.details).toMatchObject({
        type: 'aws-secrets-manager',
        reachable: true,
        credentialSource: 'environment variables',
        credentialsExpireAt: null,
      });
      expect(finding(report, 'credential-age', 'vault:database/creds/long').message).toMatch(
        /keeps no versions/,
      );
    });

    it('warns on old secrets in Vault and AWS at a later now, and fails on a missing reference', async () => {
      const later = await doctorJson(new Date(Date.now() + 120 * DAY));
      for (const subject of ['vault:exchanges/paper', 'aws:exchanges/aws-paper']) {
        const age = finding(later.report, 'credential-age', subject);
        expect(age.status).toBe('warn');
        // The backend's clock stamps the version, ours measures it: a day boundary may fall between the two.
        expect(age.details['ageDays']).toBeGreaterThanOrEqual(119);
        expect(age.details['ageDays']).toBeLessThanOrEqual(120);
      }
      const path = join(dir, 'cofre.yaml');
      const config = readFileSync(path, 'utf8');
      writeFileSync(path, config.replace('vault:exchanges/paper#secret', 'vault:exchanges/nowhere#secret'));
      try {
        const missing = await doctorJson();
        expect(isCofreError(missing.error, 'COFRE_PREFLIGHT_FAILED')).toBe(true);
        expect(finding(missing.report, 'references', 'accounts.paper.credentials.secret')).toMatchObject({
          status: 'fail',
          details: { code: 'COFRE_SECRET_NOT_FOUND' },
        });
      } finally {
        writeFileSync(path, config);
      }
    });

    it('flags a Vault backend with insecureHttp set, as its config documentation promises', async () => {
      const path = join(dir, 'cofre.yaml');
      const config = readFileSync(path, 'utf8');
      writeFileSync(path, config.replace('    kvVersion: 2\n', '    kvVersion: 2\n    insecureHttp: true\n'));
      try {
        const { report } = await doctorJson();
        const flagged = report.findings.filter(
          (f) => f.subject === 'vault' && /insecureHttp: true/.test(f.message),
        );
        expect(flagged.map((f) => f.status)).toEqual(['warn']);
      } finally {
        writeFileSync(path, config);
      }
      const { report } = await doctorJson();
      expect(report.findings.filter((f) => /insecureHttp/.test(f.message))).toEqual([]);
    });

    it('never prints a secret value or the Vault token', async () => {
      const { text } = await doctorJson();
      expect(leaks(text, canary.encodings)).toEqual([]);
      expect(text).not.toContain(token);
      expect(text).not.toContain('moto-accepts-anything');
    });
  },
);
