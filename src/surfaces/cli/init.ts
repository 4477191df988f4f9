import { access, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import {
  AUDIT_HMAC_KEY_PATH,
  AUDIT_SIGNING_KEY_PATH,
  type AuditPublicKey,
  createAuditKeys,
} from '../../audit/audit-keys.js';
import { renderStarterConfig, type StarterConfigOptions } from '../../config/starter-config.js';
import { CofreError } from '../../errors.js';
import { EmbeddedBackend } from '../../secrets/embedded/embedded-backend.js';
import type { KeySource } from '../../secrets/embedded/key-source.js';
import { type CliIo, println } from './cli-io.js';
import { promptHidden } from './read-secret-input.js';

const CONFIG_FILE = 'cofre.yaml';
const STORE_FILE = 'cofre.store';
const KEY_FILE = 'cofre.key';

/**
 * `cofre init`: writes a starter `cofre.yaml` and an empty embedded store. By default the store key is a random
 * 256-bit key file (mode 600) beside it — zero setup, and as safe as that file; `--passphrase-file` or
 * `--passphrase-prompt` derive the key from a passphrase instead. Refuses to overwrite anything.
 */
export async function init(
  io: CliIo,
  options: { dir: string; passphraseFile?: string; passphrasePrompt?: boolean },
): Promise<void> {
  if (options.passphraseFile !== undefined && options.passphrasePrompt === true) {
    throw new CofreError('COFRE_USAGE', 'choose one of --passphrase-file and --passphrase-prompt');
  }
  const dir = resolve(io.cwd, options.dir);
  const configPath = join(dir, CONFIG_FILE);
  if (await exists(configPath)) {
    throw new CofreError('COFRE_STORE_EXISTS', `${configPath} already exists; not overwriting it`);
  }
  await mkdir(dir, { recursive: true });

  let keySource: KeySource;
  let key: StarterConfigOptions['key'];
  if (options.passphraseFile !== undefined) {
    const path = resolve(io.cwd, options.passphraseFile);
    keySource = { kind: 'passphrase-file', path };
    key = { passphraseFile: path };
  } else if (options.passphrasePrompt === true) {
    keySource = { kind: 'passphrase-prompt', prompt: () => confirmedPassphrase(io) };
    key = { passphrasePrompt: true };
  } else {
    keySource = { kind: 'key-file', path: join(dir, KEY_FILE) };
    key = { keyFile: KEY_FILE };
  }

  const store = await EmbeddedBackend.create(join(dir, STORE_FILE), keySource, { name: 'local' });
  let publicKey: AuditPublicKey;
  try {
    publicKey = await createAuditKeys(store);
  } finally {
    await store.close();
  }
  const config = renderStarterConfig({ storePath: STORE_FILE, key });
  // `wx`: a config that appeared meanwhile is not clobbered.
  await writeFile(configPath, config, { flag: 'wx', mode: 0o644 });

  println(io.stderr, `Wrote ${configPath}`);
  println(io.stderr, `Created the encrypted store ${join(dir, STORE_FILE)}`);
  if (keySource.kind === 'key-file') {
    println(
      io.stderr,
      `Its key is ${keySource.path} (mode 600). Anyone who can read that file can read every secret: keep it out of git and backups you do not trust.`,
    );
  }
  println(
    io.stderr,
    `Created the audit keys in it (${AUDIT_SIGNING_KEY_PATH}, ${AUDIT_HMAC_KEY_PATH}). Pin the checkpoint public key (printed on stdout; \`cofre audit public-key\` prints it again), keyId ${publicKey.keyId}`,
  );
  io.stdout.write(publicKey.pem);
  println(
    io.stderr,
    'Next: `cofre paper --create-keys` runs a paper exchange for the paper account; then `cofre agent add <id> --token-file <file>` and `cofre serve`.',
  );
}

async function confirmedPassphrase(io: CliIo): Promise<Buffer> {
  const first = await promptHidden(io, 'New store passphrase: ');
  const second = await promptHidden(io, 'Repeat the passphrase: ');
  try {
    if (!first.equals(second)) throw new CofreError('COFRE_USAGE', 'the passphrases differ');
    return Buffer.from(first);
  } finally {
    first.fill(0);
    second.fill(0);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
