// Issue 19, encryption as a service end to end: `cofre serve`'s wiring with three kinds of key — an OpenBao Transit
// key (derived), a moto KMS key and an embedded key — used by agents through the TypeScript client. Round trips;
// another agent's, another purpose's, another key's and a changed ciphertext refused; policy on keys and purposes;
// and a canary plaintext and the data keys never in the log, the audit file or the state database's bytes.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { actionResultSchemas } from '../../src/broker/action-results.js';
import { type CofreClient, createCofreClient } from '../../src/client/index.js';
import { clientFor } from '../client/served-client.js';
import { type ServedFixture, startServedBroker } from '../e2e/served-broker.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { type MotoPeer, type OpenBaoPeer, startMoto, startOpenBao } from '../peers/peers.js';
import { baoApi, policy, tokenWith } from '../vault/vault-fixture.js';

const bao = await peerOrSkip('OpenBao', () => startOpenBao());
const moto = await peerOrSkip('moto', () => startMoto());

/** Least privilege for cofre's Transit key, as the README gives it. */
const TRANSIT_POLICY = `
path "transit/encrypt/cofre-data" { capabilities = ["update"] }
path "transit/decrypt/cofre-data" { capabilities = ["update"] }
path "transit/datakey/plaintext/cofre-data" { capabilities = ["update"] }
path "transit/keys/cofre-data" { capabilities = ["read"] }
path "transit/keys/not-derived" { capabilities = ["read"] }
path "transit/encrypt/not-derived" { capabilities = ["update"] }
`;

const CANARY = `canary-${randomBytes(12).toString('hex')}`;
/** Every secret handed out in these tests: none may be found at rest afterwards. */
const handedOut: string[] = [CANARY];

/** Our three kinds, by key name, with the kind their ciphertexts name. */
const KEYS = [
  ['bao', 'transit'],
  ['kms', 'kms'],
  ['dev', 'embedded'],
] as const;

async function kmsKey(peer: MotoPeer): Promise<string> {
  const client = new KMSClient({
    region: 'us-east-1',
    endpoint: peer.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const out = await client.send(
    new CreateKeyCommand({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' }),
  );
  client.destroy();
  return out.KeyMetadata!.KeyId!;
}

async function setUpTransit(peer: OpenBaoPeer, dir: string): Promise<string> {
  await baoApi(peer, 'POST', 'sys/mounts/transit', { type: 'transit' });
  await baoApi(peer, 'POST', 'transit/keys/cofre-data', { derived: true });
  await baoApi(peer, 'POST', 'transit/keys/not-derived', {});
  await policy(peer, 'cofre-transit', TRANSIT_POLICY);
  const tokenFile = join(dir, 'vault.token');
  writeFileSync(tokenFile, await tokenWith(peer, ['cofre-transit'], '2h'), { mode: 0o600 });
  return tokenFile;
}

describe.skipIf(bao === undefined || moto === undefined)('encryption through the served broker', () => {
  let fx: ServedFixture;
  let alice: CofreClient;
  let bob: CofreClient;
  let narrow: CofreClient;
  const env = { ...process.env };

  beforeAll(async () => {
    // The default credential chain, as in production: moto accepts any key.
    process.env['AWS_ACCESS_KEY_ID'] = 'testing';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'testing';
    delete process.env['AWS_PROFILE'];
    const setupDir = join(bao!.runDir);
    const tokenFile = await setUpTransit(bao!, setupDir);
    const [kms1, kms2] = [await kmsKey(moto!), await kmsKey(moto!)];
    const kms = (id: string): string =>
      `{ type: aws-kms, keyId: "${id}", region: us-east-1, endpoint: "${moto!.endpoint}" }`;
    fx = await startServedBroker(
      (url, credentials) => [
        'accounts:',
        `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
        'agents: { quotas: { requestsPerSecond: 10000, burst: 10000, concurrency: 1000 } }',
        'encryptionKeys:',
        '  bao: { type: transit, backend: vault, key: cofre-data }',
        '  bao-plain: { type: transit, backend: vault, key: not-derived }',
        `  kms: ${kms(kms1)}`,
        `  kms-other: ${kms(kms2)}`,
        // Nothing listens there: KMS unreachable.
        '  kms-down: { type: aws-kms, keyId: "alias/none", region: us-east-1, endpoint: "http://127.0.0.1:9" }',
        '  dev: { type: embedded, secret: "local:keys/dev" }',
        '  dev-other: { type: embedded, secret: "local:keys/dev-other" }',
        '  dev-bad: { type: embedded, secret: "local:keys/not-hex" }',
        'policies:',
        '  crypt:',
        '    rules:',
        "      - { allow: [encrypt, decrypt, generate_data_key], keys: ['*'], purposes: [notes, 'positions-*'] }",
        '  approver:',
        '    rules:',
        '      - { approve: [encrypt], keys: [dev], purposes: [notes] }',
        '  narrow:',
        '    rules:',
        '      - { allow: [encrypt, decrypt], keys: [dev], purposes: [notes] }',
      ],
      {},
      {
        // A second backend beside `local`, in the fixture's one-line `backends:` mapping.
        localBackend: `cache: { ttl: 1s } }, vault: { type: vault, address: "${bao!.addr}", kvVersion: 2, auth: { method: token, tokenFile: "${tokenFile}" }`,
        secrets: {
          'keys/dev': randomBytes(32).toString('hex'),
          'keys/dev-other': randomBytes(32).toString('hex'),
          'keys/not-hex': 'not a key',
        },
      },
    );
    alice = await clientFor(fx, 'alice', 'crypt');
    bob = await clientFor(fx, 'bob', 'crypt');
    narrow = await clientFor(fx, 'nora', 'narrow');
  }, 120_000);

  afterAll(async () => {
    await fx.close();
    await bao?.stop();
    await moto?.stop();
    process.env = env;
  });

  describe.each(KEYS)('key %s (%s)', (key, kind) => {
    let ciphertext: string;

    it('encrypts and decrypts for the same agent and purpose', async () => {
      const encrypted = actionResultSchemas.encrypt.parse(
        await alice.encrypt({ key, purpose: 'notes', plaintext: CANARY }),
      );
      expect(encrypted).toMatchObject({ key, purpose: 'notes' });
      expect(encrypted.ciphertext.startsWith(`cofre:v1:${kind}:`)).toBe(true);
      expect(encrypted.ciphertext).not.toContain(CANARY);
      ciphertext = encrypted.ciphertext;
      const decrypted = actionResultSchemas.decrypt.parse(
        await alice.decrypt({ key, purpose: 'notes', ciphertext }),
      );
      expect(decrypted).toEqual({ key, purpose: 'notes', plaintext: CANARY, encoding: 'utf8' });
    });

    it('round-trips binary data in base64', async () => {
      // 0xff never occurs in UTF-8.
      const data = Buffer.concat([Buffer.from([0xff]), randomBytes(300)]);
      const { ciphertext: sealed } = await alice.encrypt({
        key,
        purpose: 'positions-eu',
        plaintext: data.toString('base64'),
        encoding: 'base64',
      });
      const opened = await alice.decrypt({
        key,
        purpose: 'positions-eu',
        ciphertext: sealed,
        encoding: 'base64',
      });
      expect(Buffer.from(opened.plaintext, 'base64').equals(data)).toBe(true);
      // Not text: asked for as text, it is refused rather than mangled.
      const asText = await alice.call('decrypt', {
        key,
        purpose: 'positions-eu',
        ciphertext: sealed,
        encoding: 'utf8',
      });
      expect(asText.error?.code).toBe('COFRE_INPUT_INVALID');
      expect(asText.error?.message).toContain('base64');
    });

    it("refuses another agent's decrypt of the ciphertext", async () => {
      const answer = await bob.call('decrypt', { key, purpose: 'notes', ciphertext, encoding: 'utf8' });
      expect(answer.status).toBe('failed');
      expect(answer.error?.code).toBe('COFRE_DECRYPT_REFUSED');
      expect(JSON.stringify(answer)).not.toContain(CANARY);
    });

    it('refuses it under another purpose', async () => {
      const answer = await alice.call('decrypt', {
        key,
        purpose: 'positions-us',
        ciphertext,
        encoding: 'utf8',
      });
      expect(answer.error?.code).toBe('COFRE_DECRYPT_REFUSED');
    });

    it('refuses a changed ciphertext', async () => {
      const at = ciphertext.length - 6;
      const flipped = ciphertext[at] === 'A' ? 'B' : 'A';
      const tampered = `${ciphertext.slice(0, at)}${flipped}${ciphertext.slice(at + 1)}`;
      const answer = await alice.call('decrypt', {
        key,
        purpose: 'notes',
        ciphertext: tampered,
        encoding: 'utf8',
      });
      expect(answer.error?.code).toBe('COFRE_DECRYPT_REFUSED');
    });

    it('gives a data key in plaintext and encrypted under the key', async () => {
      const made = actionResultSchemas.generate_data_key.parse(
        await alice.generateDataKey({ key, purpose: 'notes' }),
      );
      handedOut.push(made.plaintextKey);
      expect(made.bits).toBe(256);
      expect(Buffer.from(made.plaintextKey, 'base64')).toHaveLength(32);
      expect(made.ciphertextKey.startsWith(`cofre:v1:${kind}:`)).toBe(true);
      const back = await alice.decrypt({
        key,
        purpose: 'notes',
        ciphertext: made.ciphertextKey,
        encoding: 'base64',
      });
      expect(back.plaintext).toBe(made.plaintextKey);
      const refused = await bob.call('decrypt', {
        key,
        purpose: 'notes',
        ciphertext: made.ciphertextKey,
        encoding: 'base64',
      });
      expect(refused.error?.code).toBe('COFRE_DECRYPT_REFUSED');
      const small = await alice.generateDataKey({ key, purpose: 'notes', bits: 128 });
      handedOut.push(small.plaintextKey);
      expect(Buffer.from(small.plaintextKey, 'base64')).toHaveLength(16);
    });

    it('decrypts for a sub-agent delegated by the same root (bound to the principal)', async () => {
      const { token } = await alice.delegate({ name: `helper-${kind}` });
      const helper = await createCofreClient({ baseUrl: fx.url, token });
      const opened = await helper.decrypt({ key, purpose: 'notes', ciphertext });
      expect(opened.plaintext).toBe(CANARY);
    });
  });

  it('refuses a ciphertext under another key, of the same kind or another', async () => {
    const sealed = async (key: string): Promise<string> =>
      (await alice.encrypt({ key, purpose: 'notes', plaintext: CANARY })).ciphertext;
    const pairs: [string, string][] = [
      [await sealed('dev'), 'dev-other'],
      [await sealed('kms'), 'kms-other'],
      [await sealed('dev'), 'kms'],
      [await sealed('kms'), 'bao'],
      [await sealed('bao'), 'dev'],
    ];
    for (const [ciphertext, key] of pairs) {
      const answer = await alice.call('decrypt', { key, purpose: 'notes', ciphertext, encoding: 'utf8' });
      expect({ key, code: answer.error?.code }).toEqual({ key, code: 'COFRE_DECRYPT_REFUSED' });
    }
  });

  it('refuses a Transit key that was not created with derived=true', async () => {
    const answer = await alice.call('encrypt', {
      key: 'bao-plain',
      purpose: 'notes',
      plaintext: CANARY,
      encoding: 'utf8',
    });
    expect(answer.error?.code).toBe('COFRE_ENCRYPTION_UNAVAILABLE');
    expect(answer.error?.message).toContain('derived=true');
  });

  it('says an unknown key, an unreachable KMS and an unusable embedded key apart', async () => {
    const ask = (key: string) =>
      alice.call('encrypt', { key, purpose: 'notes', plaintext: CANARY, encoding: 'utf8' });
    expect((await ask('nope')).error?.code).toBe('COFRE_ENCRYPTION_KEY_UNKNOWN');
    expect((await ask('kms-down')).error?.code).toBe('COFRE_ENCRYPTION_UNAVAILABLE');
    const bad = await ask('dev-bad');
    expect(bad.error?.code).toBe('COFRE_ENCRYPTION_UNAVAILABLE');
    expect(bad.error?.message).toContain('64 hex digits');
  }, 60_000);

  it('refuses more than KMS takes in one Encrypt, pointing at generate_data_key', async () => {
    const answer = await alice.call('encrypt', {
      key: 'kms',
      purpose: 'notes',
      plaintext: 'x'.repeat(4097),
      encoding: 'utf8',
    });
    expect(answer.error?.code).toBe('COFRE_INPUT_INVALID');
    expect(answer.error?.message).toContain('generate_data_key');
  });

  it('denies by policy a key or a purpose the agent was not given, in words it can act on', async () => {
    const ok = await narrow.encrypt({ key: 'dev', purpose: 'notes', plaintext: CANARY });
    expect(ok.ciphertext.startsWith('cofre:v1:embedded:')).toBe(true);
    const otherKey = await narrow.call('encrypt', {
      key: 'kms',
      purpose: 'notes',
      plaintext: CANARY,
      encoding: 'utf8',
    });
    expect(otherKey.status).toBe('denied');
    const otherPurpose = await narrow.call('decrypt', {
      key: 'dev',
      purpose: 'positions-eu',
      ciphertext: ok.ciphertext,
      encoding: 'utf8',
    });
    expect(otherPurpose.status).toBe('denied');
    const dataKey = await narrow.call('generate_data_key', { key: 'dev', purpose: 'notes', bits: 256 });
    expect(dataKey.status).toBe('denied');
    const purposeDenied = await alice.call('encrypt', {
      key: 'dev',
      purpose: 'secrets',
      plaintext: CANARY,
      encoding: 'utf8',
    });
    expect(purposeDenied.status).toBe('denied');
    expect(purposeDenied.reason).toContain('purposes notes, positions-*');
  });

  it('denies an encryption action that a rule would have wait for approval (its data would be stored)', async () => {
    const waiting = await clientFor(fx, 'walt', 'approver');
    const answer = await waiting.call('encrypt', {
      key: 'dev',
      purpose: 'notes',
      plaintext: CANARY,
      encoding: 'utf8',
    });
    expect(answer.status).toBe('denied');
    expect(answer.reason).toContain("cannot wait for an operator's approval");
    const intents = readFileSync(join(fx.dir, 'audit.jsonl'), 'utf8')
      .split('\n')
      .filter((line) => line.includes(answer.requestId) && line.includes('"intent"'));
    expect(intents).toHaveLength(1);
    expect(intents[0]).toContain('"deny"');
  });

  it('keeps no result for get_request', async () => {
    const answer = await alice.call('encrypt', {
      key: 'dev',
      purpose: 'notes',
      plaintext: CANARY,
      encoding: 'utf8',
    });
    const stored = await alice.getRequest({ requestId: answer.requestId });
    expect(stored.status).toBe('executed');
    expect(stored.result).toBeUndefined();
    expect(stored.reason).toContain('not kept');
    actionResultSchemas.get_request.optional().parse(stored.result);
  });

  it('fails as unavailable while OpenBao is down', async () => {
    await bao!.stop();
    const answer = await alice.call('encrypt', {
      key: 'bao',
      purpose: 'notes',
      plaintext: CANARY,
      encoding: 'utf8',
    });
    expect(answer.error?.code).toBe('COFRE_ENCRYPTION_UNAVAILABLE');
    expect(answer.error?.retryable).toBe(true);
  }, 60_000);

  // SECURITY: the canary plaintext and every data key handed out never rest anywhere but in the answers.
  it('leaves no plaintext or data key in the log, the audit file or the state database', () => {
    const files = readdirSync(fx.dir).filter((f) => f.startsWith('cofre-state.db') || f === 'audit.jsonl');
    expect(files).toContain('audit.jsonl');
    expect(files).toContain('cofre-state.db');
    const places: [string, Buffer][] = [
      ['log', Buffer.from(fx.logLines.join('\n'), 'utf8')],
      ...files.map((f): [string, Buffer] => [f, readFileSync(join(fx.dir, f))]),
    ];
    // The audit file has the requests: it is not empty of what they were.
    expect(readFileSync(join(fx.dir, 'audit.jsonl'), 'utf8')).toContain('"purpose":"notes"');
    for (const secret of handedOut) {
      const raw = secret === CANARY ? Buffer.from(secret, 'utf8') : Buffer.from(secret, 'base64');
      const forms = [secret, raw.toString('base64'), raw.toString('hex'), raw.toString('base64url')];
      for (const [where, bytes] of places) {
        for (const form of forms)
          expect({ where, found: bytes.includes(form) }).toEqual({ where, found: false });
        expect({ where, found: bytes.includes(raw) }).toEqual({ where, found: false });
      }
    }
  });
});
