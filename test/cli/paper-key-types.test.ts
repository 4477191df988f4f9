// Issue 19: `cofre paper --create-keys --key-type ed25519|rsa` makes an asymmetric key pair, stores the private key
// at the account's secret reference and gives the paper exchange the public key only; `cofre doctor` signs with it
// and reports the key type.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { EmbeddedBackend } from '../../src/secrets/embedded/embedded-backend.js';
import { paper } from '../../src/surfaces/cli/paper.js';
import { cli, tempDir } from './cli-harness.js';
import { freePort } from './serve-test-tools.js';

let dir: string;
let remove: () => void;
const stops: (() => Promise<unknown>)[] = [];

beforeEach(async () => {
  ({ dir, remove } = tempDir());
  expect((await cli(dir, ['init'])).code).toBe(0);
  const path = join(dir, 'cofre.yaml');
  const port = await freePort();
  writeFileSync(
    path,
    readFileSync(path, 'utf8').replace('http://127.0.0.1:8788', `http://127.0.0.1:${port}`),
  );
});
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
  remove();
});

async function storedKeys(): Promise<{ apiKey: string; secret: string }> {
  const store = await EmbeddedBackend.open(join(dir, 'cofre.store'), {
    kind: 'key-file',
    path: join(dir, 'cofre.key'),
  });
  try {
    return JSON.parse((await store.read('exchanges/paper', { kind: 'latest' })).value.text()) as {
      apiKey: string;
      secret: string;
    };
  } finally {
    await store.close();
  }
}

async function startPaper(keyType: string | undefined, createKeys = true): Promise<string> {
  const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), cwd: dir };
  let said = '';
  io.stderr.on('data', (c: Buffer) => (said += c.toString('utf8')));
  const exchange = await paper(
    io,
    {},
    { createKeys, ...(keyType === undefined ? {} : { keyType }), wait: false },
  );
  stops.push(() => exchange.stop());
  return said;
}

describe('cofre paper --create-keys --key-type', () => {
  for (const [keyType, name, label] of [
    ['ed25519', 'Ed25519', 'Ed25519'],
    ['rsa', 'RSA', 'RSA 2048'],
  ] as const) {
    it(`${keyType}: stores the private key, prints the public key only, and doctor signs with it`, async () => {
      const said = await startPaper(keyType);
      const { secret } = await storedKeys();
      const privateKey = createPrivateKey(secret);
      expect(privateKey.asymmetricKeyType).toBe(keyType);
      expect(said).toContain(`Account "paper": ${name} keys created now and stored at`);
      const publicPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
      expect(said).toContain(publicPem);
      const body = secret.split('\n').slice(1, -2).join('');
      expect(said).not.toContain(body.slice(32, 64));

      // Its permissions are read with a signed request: the paper exchange verified the key pair's signature.
      const doctor = await cli(dir, ['doctor']);
      expect(doctor.stdout).toContain(`paper: ${label} key: the key can withdraw`);
      expect(doctor.code).toBe(0);
      expect(doctor.stdout + doctor.stderr).not.toContain(body.slice(32, 64));
    });
  }

  it('takes a key pair stored as the README says (a value of its own, --from-file)', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pemFile = join(dir, 'binance-ed25519.pem');
    writeFileSync(
      pemFile,
      privateKey.export({ type: 'pkcs8', format: 'pem' }).toString().replace(/\n/g, '\r\n'),
    );
    const apiKey = `Readme${randomBytes(8).toString('hex')}`;
    expect((await cli(dir, ['secret', 'put', 'exchanges/binance-api-key'], `${apiKey}\n`)).code).toBe(0);
    expect(
      (await cli(dir, ['secret', 'put', 'exchanges/binance-private-key', '--from-file', pemFile])).code,
    ).toBe(0);
    const path = join(dir, 'cofre.yaml');
    writeFileSync(
      path,
      readFileSync(path, 'utf8')
        .replace('local:exchanges/paper#apiKey', 'local:exchanges/binance-api-key')
        .replace('local:exchanges/paper#secret', 'local:exchanges/binance-private-key'),
    );
    // Existing keys: the paper exchange is given the public key derived from the stored private key.
    const said = await startPaper(undefined, false);
    expect(said).toContain('Account "paper": Ed25519 keys read from');
    const doctor = await cli(dir, ['doctor']);
    expect(doctor.stdout).toContain('paper: Ed25519 key: the key can withdraw');
  });

  it('refuses a key type it does not know', async () => {
    await expect(startPaper('dsa')).rejects.toThrow(
      /--key-type must be one of hmac, ed25519, rsa, not "dsa"/,
    );
  });
});
