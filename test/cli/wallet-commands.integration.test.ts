// Issue 19: `cofre wallet create-key`, `cofre wallet list` and doctor's wallet check, on a real embedded store, moto's
// KMS and a ganache chain: the printed address is the key's, keys of the wrong kind and RPCs of another chain fail
// doctor, and neither a private key nor an RPC URL's API key is ever printed.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { CreateKeyCommand, type KeySpec, KMSClient } from '@aws-sdk/client-kms';
import { secp256k1 } from '@noble/curves/secp256k1';
import { publicKeyToAddress } from 'viem/accounts';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { encodingsOf, leaks } from '../invariants/canary.js';
import { startGanache } from '../peers/ganache.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { startMoto } from '../peers/peers.js';
import { cli, tempDir } from './cli-harness.js';

const moto = await peerOrSkip('moto', startMoto);
const ganache = await peerOrSkip('ganache', () => startGanache());

afterAll(async () => {
  await moto?.stop();
  await ganache?.stop();
});

let dir: string;
let remove: () => void;

beforeEach(async () => {
  ({ dir, remove } = tempDir());
  expect((await cli(dir, ['init'])).code).toBe(0);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
});
afterEach(() => {
  vi.unstubAllEnvs();
  remove();
});

function appendConfig(text: string): void {
  const path = join(dir, 'cofre.yaml');
  writeFileSync(path, `${readFileSync(path, 'utf8')}\n${text}`);
}

async function kmsKey(spec: KeySpec): Promise<string> {
  const admin = new KMSClient({
    region: 'us-east-1',
    endpoint: moto!.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    const created = await admin.send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY' }));
    return created.KeyMetadata!.KeyId!;
  } finally {
    admin.destroy();
  }
}

describe('cofre wallet create-key', () => {
  it('writes a fresh key and prints only its address; refuses to overwrite a key', async () => {
    const created = await cli(dir, ['wallet', 'create-key', 'local:wallets/dev']);
    expect(created.code).toBe(0);
    const address = created.stdout.trim();
    expect(address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    appendConfig(
      `chains:\n  dev:\n    chainId: 1337\n    rpc: [http://127.0.0.1:9]\nwallets:\n  dev:\n    chain: dev\n    key: {type: embedded, secret: local:wallets/dev}\n`,
    );
    const listed = await cli(dir, ['wallet', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(address);
    expect(listed.stdout).toMatch(/dev\s+dev\s+0x[0-9a-fA-F]{40}\s+embedded local:wallets\/dev/);
    const again = await cli(dir, ['wallet', 'create-key', 'local:wallets/dev']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('never overwritten');
    // The first key is still the one listed.
    expect((await cli(dir, ['wallet', 'list'])).stdout).toContain(address);
  });
});

describe.skipIf(moto === undefined || ganache === undefined)(
  'cofre wallet list and doctor against moto and ganache',
  () => {
    it('lists each wallet with its address or its error, and doctor checks keys and RPC chain ids without leaking', async () => {
      const g = ganache!;
      // A known embedded key, to check the address and that no output holds it.
      const key = secp256k1.utils.randomPrivateKey();
      const keyHex = Buffer.from(key).toString('hex');
      const expected = publicKeyToAddress(
        `0x${Buffer.from(secp256k1.getPublicKey(key, false)).toString('hex')}`,
      );
      expect((await cli(dir, ['secret', 'put', 'wallets/known'], `0x${keyHex}\n`)).code).toBe(0);
      // Not a key: 64 characters of which some are not hex; its text must not be echoed.
      const notKey = `canary${'q'.repeat(58)}`;
      expect((await cli(dir, ['secret', 'put', 'wallets/broken'], `${notKey}\n`)).code).toBe(0);
      // An RPC URL with an API key, kept as a secret.
      const apiKey = 'rpcApiKeyCanary0123456789';
      expect((await cli(dir, ['secret', 'put', 'rpc/dev'], `${g.url}/?apikey=${apiKey}\n`)).code).toBe(0);
      // The same API key on an endpoint that does not answer: its failure must not quote the URL either.
      expect(
        (await cli(dir, ['secret', 'put', 'rpc/dead'], `http://127.0.0.1:9/?apikey=${apiKey}\n`)).code,
      ).toBe(0);
      const good = await kmsKey('ECC_SECG_P256K1');
      const p256 = await kmsKey('ECC_NIST_P256');
      const kms = (id: string) =>
        `{type: aws-kms, keyId: ${id}, region: us-east-1, endpoint: "${moto!.endpoint}"}`;
      appendConfig(`chains:
  dev:
    chainId: ${g.chainId}
    rpc: [{secret: local:rpc/dev}]
  other:
    chainId: 5
    rpc: ["${g.url}"]
  dead:
    chainId: ${g.chainId}
    rpc: [{secret: local:rpc/dead}]
wallets:
  known:
    chain: dev
    key: {type: embedded, secret: local:wallets/known}
  broken:
    chain: dev
    key: {type: embedded, secret: local:wallets/broken}
  hot:
    chain: dev
    key: ${kms(good)}
  p256:
    chain: other
    key: ${kms(p256)}
  cold:
    chain: dead
    key: {type: embedded, secret: local:wallets/known}
`);
      const listed = await cli(dir, ['wallet', 'list']);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain(expected);
      expect(listed.stdout).toMatch(/broken\s+dev\s+- \(COFRE_SIGNER_KEY_INVALID\)/);
      expect(listed.stdout).toMatch(new RegExp(`hot\\s+dev\\s+0x[0-9a-fA-F]{40}\\s+aws-kms ${good}`));
      expect(listed.stdout).toMatch(/p256\s+other\s+- \(COFRE_SIGNER_KEY_INVALID\)/);

      const doctor = await cli(dir, ['doctor', '--json']);
      expect(doctor.code).not.toBe(0);
      const report = JSON.parse(doctor.stdout) as {
        findings: { check: string; subject: string; status: string; message: string }[];
      };
      const wallets = Object.fromEntries(
        report.findings.filter((f) => f.check === 'wallets').map((f) => [f.subject, f]),
      );
      expect(wallets['wallets.known']).toMatchObject({ status: 'ok' });
      expect(wallets['wallets.known']?.message).toContain(expected);
      expect(wallets['wallets.hot']).toMatchObject({ status: 'ok' });
      expect(wallets['wallets.broken']).toMatchObject({ status: 'fail' });
      expect(wallets['wallets.p256']?.message).toContain('ECC_NIST_P256');
      expect(wallets['chains.dev.rpc[0]']).toMatchObject({ status: 'ok' });
      expect(wallets['chains.other.rpc[0]']).toMatchObject({ status: 'fail' });
      expect(wallets['chains.other.rpc[0]']?.message).toContain(`reports chain id ${g.chainId}`);
      expect(wallets['chains.dead.rpc[0]']).toMatchObject({ status: 'fail' });
      expect(wallets['chains.dead.rpc[0]']?.message).toContain('no answer to eth_chainId');

      // SECURITY: no output holds the private key, the broken key's text or the RPC's API key, in any encoding.
      const everything = [listed.stdout, listed.stderr, doctor.stdout, doctor.stderr].join('\n');
      expect(
        leaks(everything, [...encodingsOf(keyHex), ...encodingsOf(notKey), ...encodingsOf(apiKey)]),
      ).toEqual([]);
    });
  },
);
