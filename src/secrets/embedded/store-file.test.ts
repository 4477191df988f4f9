import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ErrorCode, isCofreError } from '../../errors.js';
import { SecretValue } from '../secret-value.js';
import { EmbeddedBackend } from './embedded-backend.js';
import type { KeySource } from './key-source.js';
import { parseStoreFile, type StoreLayout } from './store-file.js';
import { makeTempDir, removeTempDirs } from './testdata/temp-dirs.js';

afterAll(removeTempDirs);

async function openError(store: string, source: KeySource): Promise<unknown> {
  return EmbeddedBackend.open(store, source).then(
    () => new Error('expected the open to fail'),
    (err: unknown) => err,
  );
}

function expectCode(err: unknown, code: ErrorCode, context: string): void {
  expect(isCofreError(err, code), `${context}: expected ${code}, got ${inspect(err)}`).toBe(true);
}

const passphrase = (text: string): KeySource => ({
  kind: 'passphrase-prompt',
  prompt: () => Promise.resolve(Buffer.from(text)),
});

describe('store file: wrong keys', () => {
  it('tells a wrong passphrase apart from a damaged file', async () => {
    const dir = await makeTempDir();
    const store = join(dir, 's.cofre');
    const backend = await EmbeddedBackend.create(store, passphrase('right one'), { scrypt: { N: 1024 } });
    await backend.write('k', SecretValue.fromText('v'));
    const err = await openError(store, passphrase('wrong one'));
    expectCode(err, 'COFRE_STORE_WRONG_KEY', 'wrong passphrase');
    expect(inspect(err, { depth: 10 })).not.toContain('wrong one');
    expectCode(
      await openError(store, { kind: 'key-file', path: join(dir, 'missing-but-irrelevant') }),
      'COFRE_STORE_WRONG_KEY',
      'key file for a passphrase store',
    );
  });

  it('reports a different key file as COFRE_STORE_WRONG_KEY', async () => {
    const dir = await makeTempDir();
    const store = join(dir, 's.cofre');
    await EmbeddedBackend.create(store, { kind: 'key-file', path: join(dir, 'right.key') });
    await writeFile(join(dir, 'other.key'), randomBytes(32), { mode: 0o600 });
    expectCode(
      await openError(store, { kind: 'key-file', path: join(dir, 'other.key') }),
      'COFRE_STORE_WRONG_KEY',
      'other key file',
    );
    expectCode(
      await openError(store, passphrase('anything')),
      'COFRE_STORE_WRONG_KEY',
      'passphrase for key store',
    );
  });
});

describe('store file: damage is COFRE_STORE_CORRUPT', () => {
  let dir: string;
  let store: string;
  let keySource: KeySource;
  let pristine: Buffer;
  let layout: StoreLayout;

  beforeAll(async () => {
    dir = await makeTempDir();
    store = join(dir, 's.cofre');
    keySource = { kind: 'key-file', path: join(dir, 's.key') };
    const backend = await EmbeddedBackend.create(store, keySource);
    // Several secrets of equal length, so ciphertext blocks line up and can be swapped whole.
    for (let i = 0; i < 6; i++) {
      await backend.write(
        `exchange-${i}/secret`,
        SecretValue.fromText(`value-number-${i}-`.padEnd(48, String(i))),
      );
    }
    pristine = await readFile(store);
    layout = parseStoreFile(pristine, store).layout;
  });

  async function openDamaged(bytes: Buffer): Promise<unknown> {
    await writeFile(store, bytes);
    return openError(store, keySource);
  }

  it('opens the undamaged file (control)', async () => {
    await writeFile(store, pristine);
    const backend = await EmbeddedBackend.open(store, keySource);
    expect(await backend.list()).toHaveLength(6);
  });

  it('detects a flipped byte anywhere in the header, its checksum, the body and the tag', async () => {
    const positions = new Set<number>();
    for (let i = 0; i < layout.bodyOffset; i++) positions.add(i); // magic, version, length, header, checksum
    for (let i = layout.bodyOffset; i < layout.tagOffset; i += 5) positions.add(i); // body, sampled
    positions.add(layout.tagOffset - 1);
    for (let i = layout.tagOffset; i < layout.totalLength; i++) positions.add(i); // tag
    let n = 0;
    for (const position of positions) {
      const damaged = Buffer.from(pristine);
      damaged[position] = (damaged[position] ?? 0) ^ (n++ % 2 === 0 ? 0x01 : 0x80);
      expectCode(await openDamaged(damaged), 'COFRE_STORE_CORRUPT', `byte ${position} flipped`);
    }
    expect(positions.size).toBeGreaterThan(300);
  });

  it('reports a truncated file as truncated, with the expected and found sizes', async () => {
    const total = layout.totalLength;
    const lengths = [
      0,
      1,
      13,
      14,
      40,
      layout.hashOffset,
      layout.bodyOffset,
      layout.bodyOffset + 15,
      total - 17,
      total - 1,
    ];
    for (const length of lengths) {
      const err = await openDamaged(pristine.subarray(0, length));
      expectCode(err, 'COFRE_STORE_CORRUPT', `truncated to ${length}`);
      expect((err as Error).message).toMatch(/truncated \(expected (at least )?\d+ bytes, found \d+\)/);
      expect((err as Error).message).toContain(`found ${length})`);
    }
    const err = await openDamaged(pristine.subarray(0, total - 1));
    expect((err as Error).message).toContain(`expected ${total} bytes, found ${total - 1}`);
  });

  it('rejects trailing bytes', async () => {
    expectCode(
      await openDamaged(Buffer.concat([pristine, Buffer.from([0])])),
      'COFRE_STORE_CORRUPT',
      'one extra byte',
    );
  });

  it('detects swapped ciphertext blocks', async () => {
    const blocks = Math.floor(layout.bodyLength / 16);
    expect(blocks).toBeGreaterThan(10);
    for (const [a, b] of [
      [0, 1],
      [2, blocks - 1],
      [3, 7],
      [blocks - 2, blocks - 1],
    ] as const) {
      const damaged = Buffer.from(pristine);
      const at = (block: number): number => layout.bodyOffset + block * 16;
      pristine.copy(damaged, at(a), at(b), at(b) + 16);
      pristine.copy(damaged, at(b), at(a), at(a) + 16);
      expect(damaged.equals(pristine)).toBe(false);
      expectCode(await openDamaged(damaged), 'COFRE_STORE_CORRUPT', `blocks ${a} and ${b} swapped`);
    }
  });

  it('detects a header spliced onto the body of another write of the same store', async () => {
    // Same store, same key, same body length: only the nonce and tag differ between the two files.
    await writeFile(store, pristine);
    const backend = await EmbeddedBackend.open(store, keySource);
    await backend.moveStage('exchange-0/secret', 'current', '1');
    const later = await readFile(store);
    const laterLayout = parseStoreFile(later, store).layout;
    expect(laterLayout.bodyLength).toBe(layout.bodyLength);
    const spliced = Buffer.concat([
      pristine.subarray(0, layout.bodyOffset),
      later.subarray(laterLayout.bodyOffset),
    ]);
    expectCode(await openDamaged(spliced), 'COFRE_STORE_CORRUPT', 'spliced header');
  });

  it('refuses a file that is not a store at all', async () => {
    expectCode(await openDamaged(Buffer.from('{"secrets":[]}')), 'COFRE_STORE_CORRUPT', 'JSON file');
    expectCode(await openDamaged(randomBytes(4096)), 'COFRE_STORE_CORRUPT', 'random bytes');
  });
});

describe('store file: nonces', () => {
  it('draws a fresh nonce for every write, even of identical contents', async () => {
    const dir = await makeTempDir();
    const store = join(dir, 's.cofre');
    const backend = await EmbeddedBackend.create(store, { kind: 'key-file', path: join(dir, 's.key') });
    await backend.write('k', SecretValue.fromText('v'));
    const nonces = new Set<string>();
    for (let i = 0; i < 5; i++) {
      // Moving current onto the version it already holds rewrites the file with the same plaintext.
      await backend.moveStage('k', 'current', '1');
      nonces.add(parseStoreFile(await readFile(store), store).header.nonce.toString('hex'));
    }
    expect(nonces.size).toBe(5);
  });
});

describe('store file: nothing readable on disk', () => {
  /** A needle in the forms a careless format could store it: raw, base64 (any alignment), base64url, hex. */
  function encodings(needle: string): string[] {
    const bytes = Buffer.from(needle, 'utf8');
    const forms = [needle, bytes.toString('hex'), bytes.toString('hex').toUpperCase()];
    for (let shift = 0; shift < 3; shift++) {
      const shifted = Buffer.concat([Buffer.alloc(shift, 0x20), bytes]);
      for (const encoding of ['base64', 'base64url'] as const) {
        // Drop the first and last 4 characters: they mix in neighbouring bytes that depend on the position.
        forms.push(shifted.toString(encoding).slice(4, -4));
      }
    }
    return forms;
  }

  it('stores neither a canary name nor a canary value in any common encoding', async () => {
    const dir = await makeTempDir();
    const store = join(dir, 's.cofre');
    const keyFile = join(dir, 's.key');
    const canaryName = `canary-name-${randomBytes(8).toString('hex')}`;
    const canaryValue = `canary-value-${randomBytes(12).toString('hex')}`;
    const backend = await EmbeddedBackend.create(store, { kind: 'key-file', path: keyFile });
    await backend.write(`accounts/${canaryName}`, SecretValue.fromText(canaryValue));
    await backend.write('other', SecretValue.fromText(`{"apiKey":"${canaryValue}"}`), { stage: 'pending' });

    const file = (await readFile(store)).toString('latin1');
    const key = (await readFile(keyFile)).toString('latin1');
    for (const form of encodings(canaryName)) expect(file).not.toContain(form);
    for (const form of encodings(canaryValue)) {
      expect(file).not.toContain(form);
      expect(key).not.toContain(form);
    }
    // Control: the encodings are what a leak would look like, and the store does hold the secret.
    expect(Buffer.from(`x${canaryValue}`).toString('base64')).toContain(encodings(canaryValue)[5]);
    expect((await backend.read(`accounts/${canaryName}`, { kind: 'latest' })).value.text()).toBe(canaryValue);
  });
});
