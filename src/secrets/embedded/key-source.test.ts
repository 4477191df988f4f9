import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { type ErrorCode, isCofreError } from '../../errors.js';
import { EmbeddedBackend } from './embedded-backend.js';
import { createKeyFile, type KeySource, readKeyMaterial } from './key-source.js';
import { makeTempDir, removeTempDirs } from './testdata/temp-dirs.js';

afterAll(removeTempDirs);

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<Error> {
  const err = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  expect(isCofreError(err, code), `expected ${code}, got ${inspect(err)}`).toBe(true);
  return err as Error;
}

describe('key sources', () => {
  it('refuses key and passphrase files that group or other can access', async () => {
    const dir = await makeTempDir();
    const keyFile = join(dir, 'key');
    const passFile = join(dir, 'pass');
    const store = join(dir, 's.cofre');
    await EmbeddedBackend.create(store, { kind: 'key-file', path: keyFile });
    await writeFile(passFile, 'a passphrase', { mode: 0o600 });
    for (const mode of [0o644, 0o640, 0o604, 0o660, 0o602, 0o620, 0o666]) {
      await chmod(keyFile, mode);
      await chmod(passFile, mode);
      const err = await expectCode(
        EmbeddedBackend.open(store, { kind: 'key-file', path: keyFile }),
        'COFRE_KEY_FILE_INSECURE',
      );
      expect(err.message).toContain(`chmod 600 ${keyFile}`);
      await expectCode(
        readKeyMaterial({ kind: 'passphrase-file', path: passFile }),
        'COFRE_KEY_FILE_INSECURE',
      );
    }
    for (const mode of [0o600, 0o400]) {
      await chmod(keyFile, mode);
      await EmbeddedBackend.open(store, { kind: 'key-file', path: keyFile });
    }
  });

  it('creates a 32-byte key file with mode 0600 whatever the umask, once', async () => {
    const dir = await makeTempDir();
    const keyFile = join(dir, 'nested', 'dir', 'key');
    const previous = process.umask(0o000);
    try {
      expect(await createKeyFile(keyFile)).toBe(true);
    } finally {
      process.umask(previous);
    }
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'nested'))).mode & 0o077).toBe(0);
    const key = await readFile(keyFile);
    expect(key.length).toBe(32);
    expect(await createKeyFile(keyFile)).toBe(false);
    expect((await readFile(keyFile)).equals(key)).toBe(true);
  });

  it('rejects missing, wrongly sized, empty and non-regular key files with COFRE_KEY_FILE_INVALID', async () => {
    const dir = await makeTempDir();
    const source = (name: string): KeySource => ({ kind: 'key-file', path: join(dir, name) });
    await writeFile(join(dir, 'short'), Buffer.alloc(31, 1), { mode: 0o600 });
    await writeFile(join(dir, 'long'), Buffer.alloc(33, 1), { mode: 0o600 });
    await writeFile(join(dir, 'hex'), `${'ab'.repeat(32)}\n`, { mode: 0o600 });
    await mkdir(join(dir, 'a-dir'), { mode: 0o700 });
    for (const name of ['missing', 'short', 'long', 'hex', 'a-dir']) {
      const err = await expectCode(readKeyMaterial(source(name)), 'COFRE_KEY_FILE_INVALID');
      expect(err.message).toContain(join(dir, name));
    }
  });

  it('reads a passphrase file without its trailing line ending, and refuses an empty one', async () => {
    const dir = await makeTempDir();
    const cases: [string, string][] = [
      ['plain', 'pass phrase'],
      ['lf', 'pass phrase\n'],
      ['crlf', 'pass phrase\r\n'],
    ];
    for (const [name, content] of cases) {
      await writeFile(join(dir, name), content, { mode: 0o600 });
      const material = await readKeyMaterial({ kind: 'passphrase-file', path: join(dir, name) });
      expect(material.kind).toBe('passphrase');
      expect(material.bytes.toString()).toBe('pass phrase');
    }
    await writeFile(join(dir, 'spaces'), 'trailing  ', { mode: 0o600 });
    expect(
      (await readKeyMaterial({ kind: 'passphrase-file', path: join(dir, 'spaces') })).bytes.toString(),
    ).toBe('trailing  ');
    await writeFile(join(dir, 'empty'), '\n', { mode: 0o600 });
    await expectCode(
      readKeyMaterial({ kind: 'passphrase-file', path: join(dir, 'empty') }),
      'COFRE_KEY_FILE_INVALID',
    );
    await writeFile(join(dir, 'huge'), 'x'.repeat(5000), { mode: 0o600 });
    await expectCode(
      readKeyMaterial({ kind: 'passphrase-file', path: join(dir, 'huge') }),
      'COFRE_KEY_FILE_INVALID',
    );
  });

  it('asks the prompt for a passphrase and refuses an empty answer', async () => {
    const answer = Buffer.from('typed');
    const material = await readKeyMaterial({
      kind: 'passphrase-prompt',
      prompt: () => Promise.resolve(answer),
    });
    expect(material.bytes.toString()).toBe('typed');
    await expectCode(
      readKeyMaterial({ kind: 'passphrase-prompt', prompt: () => Promise.resolve(Buffer.alloc(0)) }),
      'COFRE_PASSPHRASE_REQUIRED',
    );
  });

  it('zeroes the prompted passphrase once the store is open', async () => {
    const dir = await makeTempDir();
    const store = join(dir, 's.cofre');
    const answers: Buffer[] = [];
    const prompt = (): Promise<Buffer> => {
      const answer = Buffer.from('zero me after use');
      answers.push(answer);
      return Promise.resolve(answer);
    };
    await EmbeddedBackend.create(store, { kind: 'passphrase-prompt', prompt }, { scrypt: { N: 1024 } });
    await EmbeddedBackend.open(store, { kind: 'passphrase-prompt', prompt });
    expect(answers).toHaveLength(2);
    for (const answer of answers) expect(answer.every((b) => b === 0)).toBe(true);
  });
});
