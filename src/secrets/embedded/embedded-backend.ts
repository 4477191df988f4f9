import { createHmac, randomBytes } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { CofreError } from '../../errors.js';
import { assertClearableStage, type ClearableStage } from '../clearable-stage.js';
import type {
  BackendCapabilities,
  SecretBackend,
  SecretMetadata,
  SecretRecord,
  WriteOptions,
} from '../secret-backend.js';
import { formatSecretReference, type Stage, STAGES, type VersionSelector } from '../secret-reference.js';
import { SecretValue } from '../secret-value.js';
import { atomicWrite, errnoCode, makePrivateDirectory, removeStrayTempFiles } from './atomic-write.js';
import { createKeyFile, type KeySource, readKeyMaterial } from './key-source.js';
import { assertValidSecretPath } from './secret-path.js';
import { StoreContents, type StoredSecret, type StoredVersion } from './store-contents.js';
import {
  assertKeyMatches,
  decryptStoreBody,
  encryptStoreFile,
  type ParsedStoreFile,
  parseStoreFile,
  SALT_BYTES,
} from './store-file.js';
import {
  assertMaterialFits,
  DEFAULT_SCRYPT_PARAMS,
  deriveStoreKeys,
  type KdfParams,
  type ScryptParams,
  scryptParamsProblem,
  type StoreKeys,
} from './store-keys.js';
import { acquireStoreLock } from './store-lock.js';

/** Largest secret value the embedded store accepts: an API secret, a PEM key or a JSON bundle fits with room. */
export const MAX_SECRET_VALUE_BYTES = 64 * 1024;
/** Versions kept per secret by default (versions holding a stage are always kept on top of these). */
export const DEFAULT_MAX_VERSIONS = 20;
/** How long a writer waits for another process's lock by default. */
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

/** Options for {@link EmbeddedBackend.open}. */
export interface EmbeddedBackendOptions {
  /** The backend's name in the config (the part before `:` in a reference). Default `local`. */
  readonly name?: string;
  /** Versions kept per secret; older ones are dropped on write unless they hold a stage. Default 20. */
  readonly maxVersions?: number;
  /** How long a write waits for another process holding the store lock. Default 10 000 ms. */
  readonly lockTimeoutMs?: number;
  /** Clock for version timestamps; tests inject one. */
  readonly now?: () => Date;
}

/** Options for {@link EmbeddedBackend.create}. */
export interface EmbeddedCreateOptions extends EmbeddedBackendOptions {
  /**
   * scrypt cost for a passphrase store (ignored for a key file). Default N=2^17, r=8, p=1. Stored in the header,
   * so a store created with a small N for tests reopens without being told again.
   */
  readonly scrypt?: Partial<ScryptParams>;
}

interface Settings {
  readonly name: string;
  readonly maxVersions: number;
  readonly lockTimeoutMs: number;
  readonly now: () => Date;
}

interface OpenStore {
  readonly kdf: KdfParams;
  readonly salt: Buffer;
  readonly keys: StoreKeys;
}

/**
 * The embedded encrypted store, backend type `embedded`: every secret, version and stage in one file encrypted
 * with AES-256-GCM, for single-host deployments and `cofre demo`. See `store-file.ts` for the file format.
 *
 * Contract: implements {@link SecretBackend} with every capability (binary values, versions, stages, delete). Each
 * write makes a new version ("1", "2", … per secret); stages follow AWS Secrets Manager. Values are 1 byte to
 * 64 KiB; paths are validated by `assertValidSecretPath`. Missing secrets, versions and stages are
 * `COFRE_SECRET_NOT_FOUND` naming the reference.
 *
 * Trust: trusts the filesystem for availability only. Confidentiality and integrity rest on the master key (a key
 * file or a passphrase): the file reveals neither names nor values, and any change to it — flipped bytes, swapped
 * records, a replaced header — is `COFRE_STORE_CORRUPT` rather than a wrong value. It does not detect a rollback to
 * an older complete store file written with the same key.
 *
 * Concurrency: safe to call concurrently within a process and across processes. Reads take no lock (each reads the
 * file, which a rename replaces atomically). Writes are serialized in-process by a promise chain and across
 * processes by a lock file, and each re-reads the file under the lock, so concurrent writers never lose each
 * other's versions. A crash at any point leaves the old or the new store. Nothing is cached: every call reads the
 * file, so changes by other processes (the CLI) are seen at once; caching is the resolver's job.
 */
export class EmbeddedBackend implements SecretBackend {
  readonly type = 'embedded';
  readonly capabilities: BackendCapabilities = Object.freeze({
    binary: true,
    write: true,
    listVersions: true,
    stages: true,
    delete: true,
  });
  readonly name: string;
  /** Absolute path of the store file. */
  readonly storePath: string;

  readonly #settings: Settings;
  #store: OpenStore | undefined;
  // Tail of the in-process write queue; never rejects, so one failed write does not poison the next.
  #writes: Promise<void> = Promise.resolve();

  private constructor(storePath: string, store: OpenStore, settings: Settings) {
    this.storePath = storePath;
    this.name = settings.name;
    this.#store = store;
    this.#settings = settings;
  }

  /**
   * Opens an existing store and verifies the key before returning: a wrong key or passphrase fails here with
   * `COFRE_STORE_WRONG_KEY`, a damaged file with `COFRE_STORE_CORRUPT`, a missing one with
   * `COFRE_STORE_NOT_FOUND`. A passphrase is prompted for only after the file has been read and checked.
   */
  static async open(
    storePath: string,
    keySource: KeySource,
    options: EmbeddedBackendOptions = {},
  ): Promise<EmbeddedBackend> {
    const settings = toSettings(options);
    const path = resolve(storePath);
    const parsed = parseStoreFile(await readStoreFile(path), path);
    const { kdf, salt } = parsed.header;
    // Fail on a key-file/passphrase mismatch before prompting for a passphrase that could not work anyway.
    assertMaterialFits({ kind: keySource.kind === 'key-file' ? 'key' : 'passphrase' }, kdf);
    const keys = await deriveKeys(keySource, kdf, salt);
    assertKeyMatches(parsed, keys, path);
    // Authenticate the whole file now, so damage is reported at start-up rather than on the first read.
    decryptStoreBody(parsed, keys, path).fill(0);
    return new EmbeddedBackend(path, { kdf, salt, keys }, settings);
  }

  /**
   * Creates a new empty store and returns it open. Refuses to replace an existing file (`COFRE_STORE_EXISTS`),
   * even one created concurrently. With a key file source, writes a new random key file (mode 0600) when none
   * exists yet, and uses the existing one otherwise. Creates missing parent directories with mode 0700.
   */
  static async create(
    storePath: string,
    keySource: KeySource,
    options: EmbeddedCreateOptions = {},
  ): Promise<EmbeddedBackend> {
    const settings = toSettings(options);
    const path = resolve(storePath);
    const kdf: KdfParams = keySource.kind === 'key-file' ? { name: 'none' } : scryptKdf(options.scrypt);
    if (kdf.name === 'scrypt') {
      const problem = scryptParamsProblem(kdf);
      if (problem !== undefined) throw new CofreError('COFRE_INPUT_INVALID', problem);
    }
    if (await exists(path)) throw storeExists(path);
    await makePrivateDirectory(dirname(path));
    if (keySource.kind === 'key-file') await createKeyFile(keySource.path);
    const salt = randomBytes(SALT_BYTES);
    const keys = await deriveKeys(keySource, kdf, salt);
    const backend = new EmbeddedBackend(path, { kdf, salt, keys }, settings);
    await backend.#serialize(async (store) => {
      const lock = await acquireStoreLock(path, { timeoutMs: settings.lockTimeoutMs });
      try {
        await backend.#persist(StoreContents.empty(), store, { overwrite: false });
      } finally {
        await lock.release();
      }
    });
    return backend;
  }

  /** Reads one version; the record's value is a fresh copy the caller owns and should zero. */
  async read(path: string, selector: VersionSelector): Promise<SecretRecord> {
    assertValidSecretPath(path);
    const contents = await this.#load(this.#open());
    try {
      const version = this.#select(contents, path, selector);
      return {
        value: SecretValue.adopt(copyOf(version.value)),
        version: version.id,
        createdAt: version.createdAt,
      };
    } finally {
      contents.dispose();
    }
  }

  /** Versions oldest first, each with its stages and creation time. */
  async describe(path: string): Promise<SecretMetadata> {
    assertValidSecretPath(path);
    const contents = await this.#load(this.#open());
    try {
      const secret = this.#secret(contents, path);
      const stages = { ...secret.stages };
      return {
        path,
        createdAt: secret.createdAt,
        versions: secret.versions.map((v) => ({
          version: v.id,
          createdAt: v.createdAt,
          stages: STAGES.filter((s) => stages[s] === v.id),
        })),
        stages,
      };
    } finally {
      contents.dispose();
    }
  }

  /** Secret paths, sorted. */
  async list(): Promise<readonly string[]> {
    const contents = await this.#load(this.#open());
    try {
      return contents.paths();
    } finally {
      contents.dispose();
    }
  }

  /**
   * Writes a new version and returns its id. The value is copied before this returns its promise, so the caller
   * may zero it at any time after the call. `COFRE_SECRET_VALUE_INVALID` for an empty or over-64-KiB value.
   */
  async write(path: string, value: SecretValue, options: WriteOptions = {}): Promise<string> {
    assertValidSecretPath(path);
    // Checked at run time too: JavaScript callers (and JSON from the CLI) are not held to the type.
    const stage: string = options.stage ?? 'current';
    if (stage !== 'current' && stage !== 'pending') {
      throw new CofreError('COFRE_INPUT_INVALID', 'a new version can only be staged as current or pending');
    }
    if (value.length === 0) {
      throw new CofreError(
        'COFRE_SECRET_VALUE_INVALID',
        `refusing to store an empty value at ${this.#ref(path)}`,
        {
          details: { reference: this.#ref(path) },
        },
      );
    }
    if (value.length > MAX_SECRET_VALUE_BYTES) {
      throw new CofreError(
        'COFRE_SECRET_VALUE_INVALID',
        `value for ${this.#ref(path)} is ${value.length} bytes; the embedded store takes at most ${MAX_SECRET_VALUE_BYTES}`,
        { details: { reference: this.#ref(path), length: value.length } },
      );
    }
    const bytes = copyOf(value.bytes());
    try {
      return await this.#mutate((contents) =>
        // Ownership of `bytes` passes to `contents`, which zeroes it on dispose.
        contents.addVersion(path, bytes, stage, this.#settings.now(), this.#settings.maxVersions),
      );
    } finally {
      bytes.fill(0);
    }
  }

  /**
   * Takes `pending` or `previous` off the version holding it (see {@link SecretBackend.clearStage}); the version
   * stays readable by id. `COFRE_INPUT_INVALID` for `current`, `COFRE_SECRET_NOT_FOUND` for a missing secret.
   *
   * Concurrency: a no-op (no version holds the stage) is answered from one read of the file, without the lock or a
   * rewrite; a clear is a read-modify-write under the lock like every other write, re-checked on contents read
   * under it, so it never undoes a concurrent writer's versions or stages other than this one.
   */
  async clearStage(path: string, stage: ClearableStage): Promise<void> {
    assertValidSecretPath(path);
    assertClearableStage(stage);
    const contents = await this.#load(this.#open());
    try {
      if (this.#secret(contents, path).stages[stage] === undefined) return;
    } finally {
      contents.dispose();
    }
    await this.#mutate((fresh) => {
      fresh.clearStage(this.#secret(fresh, path), stage);
    });
  }

  /**
   * Points `stage` at `version`. Moving `current` moves the old current to `previous` and clears `pending` when it
   * pointed at `version`; moving `previous` or `pending` just repoints that stage.
   */
  async moveStage(path: string, stage: Stage, version: string): Promise<void> {
    assertValidSecretPath(path);
    if (!(STAGES as readonly string[]).includes(stage)) {
      throw new CofreError('COFRE_INPUT_INVALID', `unknown stage; expected one of ${STAGES.join(', ')}`);
    }
    await this.#mutate((contents) => {
      const secret = this.#secret(contents, path);
      this.#select(contents, path, { kind: 'version', version });
      contents.moveStage(secret, stage, version);
    });
  }

  /** Deletes a secret and all its versions; `COFRE_SECRET_NOT_FOUND` when there is none. */
  async remove(path: string): Promise<void> {
    assertValidSecretPath(path);
    await this.#mutate((contents) => {
      this.#secret(contents, path);
      contents.remove(path);
    });
  }

  /**
   * A fingerprint of one version's value, `hmac-sha256:<32 hex>`: HMAC-SHA256 under a key derived from this store's
   * master key and salt, truncated to 128 bits. Equal values in one store give equal fingerprints, across reopens.
   *
   * SECURITY: keyed, so it tells nothing about the value to anyone without the key (no offline guessing of a short
   * value from its fingerprint), and the same value in two stores fingerprints differently. Safe to log and audit.
   */
  async fingerprint(path: string, selector: VersionSelector): Promise<string> {
    assertValidSecretPath(path);
    const store = this.#open();
    const contents = await this.#load(store);
    try {
      const version = this.#select(contents, path, selector);
      const mac = createHmac('sha256', store.keys.fingerprint).update(version.value).digest('hex');
      return `hmac-sha256:${mac.slice(0, 32)}`;
    } finally {
      contents.dispose();
    }
  }

  /** Waits for queued writes, then forgets the keys. Later calls fail with `COFRE_BACKEND_CLOSED`. Idempotent. */
  async close(): Promise<void> {
    await this.#writes;
    // KeyObjects cannot be wiped from JavaScript; dropping the last reference lets them be freed.
    this.#store = undefined;
  }

  #open(): OpenStore {
    if (this.#store === undefined) {
      throw new CofreError('COFRE_BACKEND_CLOSED', `secret backend "${this.name}" is closed`);
    }
    return this.#store;
  }

  /** Reads, checks and decrypts the current file. The caller disposes of the result. */
  async #load(store: OpenStore): Promise<StoreContents> {
    const parsed = parseStoreFile(await readStoreFile(this.storePath), this.storePath);
    assertSameStore(parsed, store, this.storePath);
    return StoreContents.decode(decryptStoreBody(parsed, store.keys, this.storePath), this.storePath);
  }

  /**
   * Read-modify-write under the in-process queue and the file lock. `change` runs on freshly decrypted contents,
   * read after the lock was taken, so a concurrent writer's versions are never overwritten.
   */
  #mutate<T>(change: (contents: StoreContents) => T): Promise<T> {
    return this.#serialize(async (store) => {
      const lock = await acquireStoreLock(this.storePath, { timeoutMs: this.#settings.lockTimeoutMs });
      try {
        // Under the lock no other writer can be mid-write, so any temp file is a leftover of a killed one.
        await removeStrayTempFiles(this.storePath);
        const contents = await this.#load(store);
        try {
          const result = change(contents);
          await this.#persist(contents, store, { overwrite: true });
          return result;
        } finally {
          contents.dispose();
        }
      } finally {
        await lock.release();
      }
    });
  }

  async #persist(contents: StoreContents, store: OpenStore, options: { overwrite: boolean }): Promise<void> {
    const plaintext = contents.encode();
    let file: Buffer;
    try {
      file = encryptStoreFile(plaintext, store);
    } finally {
      plaintext.fill(0);
    }
    await atomicWrite(this.storePath, file, options);
  }

  #serialize<T>(task: (store: OpenStore) => Promise<T>): Promise<T> {
    const store = this.#open();
    const run = this.#writes.then(() => task(store));
    this.#writes = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  #secret(contents: StoreContents, path: string): StoredSecret {
    const secret = contents.get(path);
    if (secret === undefined) {
      const reference = this.#ref(path);
      throw new CofreError('COFRE_SECRET_NOT_FOUND', `secret ${reference} not found`, {
        details: { reference, path },
      });
    }
    return secret;
  }

  #select(contents: StoreContents, path: string, selector: VersionSelector): StoredVersion {
    const version = contents.select(this.#secret(contents, path), selector);
    if (version === undefined) {
      const reference = this.#ref(path, selector);
      const what =
        selector.kind === 'version'
          ? `has no version "${selector.version}"`
          : `has no version at stage "${selector.kind === 'stage' ? selector.stage : 'current'}"`;
      throw new CofreError('COFRE_SECRET_NOT_FOUND', `secret ${this.#ref(path)} ${what}`, {
        details: { reference, path, ...(selector.kind === 'version' ? { version: selector.version } : {}) },
      });
    }
    return version;
  }

  #ref(path: string, selector: VersionSelector = { kind: 'latest' }): string {
    return formatSecretReference({ backend: this.name, path, field: undefined, selector });
  }
}

function toSettings(options: EmbeddedBackendOptions): Settings {
  const maxVersions = options.maxVersions ?? DEFAULT_MAX_VERSIONS;
  if (!Number.isSafeInteger(maxVersions) || maxVersions < 1) {
    throw new CofreError('COFRE_INPUT_INVALID', 'maxVersions must be a positive integer');
  }
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  if (!Number.isFinite(lockTimeoutMs) || lockTimeoutMs < 0) {
    throw new CofreError('COFRE_INPUT_INVALID', 'lockTimeoutMs must be a non-negative number');
  }
  return {
    name: options.name ?? 'local',
    maxVersions,
    lockTimeoutMs,
    now: options.now ?? (() => new Date()),
  };
}

async function deriveKeys(source: KeySource, kdf: KdfParams, salt: Buffer): Promise<StoreKeys> {
  const material = await readKeyMaterial(source);
  try {
    return await deriveStoreKeys(material, kdf, salt);
  } finally {
    material.bytes.fill(0);
  }
}

async function readStoreFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') {
      throw new CofreError('COFRE_STORE_NOT_FOUND', `no embedded store at ${path}`, { details: { path } });
    }
    throw new CofreError('COFRE_BACKEND_UNAVAILABLE', `cannot read the store ${path} (${code ?? 'error'})`, {
      cause: err,
      details: { path, errno: code },
    });
  }
}

/**
 * The file must still be the store this backend opened: same KDF, salt and key check. A file replaced by another
 * store (restored from a different machine, recreated with a new key) is reported as a wrong key, since the keys in
 * memory cannot open it; reopening with the right key source fixes it.
 */
function assertSameStore(parsed: ParsedStoreFile, store: OpenStore, path: string): void {
  const { header } = parsed;
  if (!sameKdf(header.kdf, store.kdf) || !header.salt.equals(store.salt)) {
    throw new CofreError(
      'COFRE_STORE_WRONG_KEY',
      `the store ${path} was replaced by a store with a different key since it was opened; reopen it`,
      { details: { path } },
    );
  }
  assertKeyMatches(parsed, store.keys, path);
}

function sameKdf(a: KdfParams, b: KdfParams): boolean {
  if (a.name === 'none' || b.name === 'none') return a.name === b.name;
  return a.N === b.N && a.r === b.r && a.p === b.p;
}

// Only N, r and p, whatever else a caller passes: the header is strict and would reject unknown fields on reopen.
function scryptKdf(params: Partial<ScryptParams> = {}): KdfParams {
  const { N, r, p } = { ...DEFAULT_SCRYPT_PARAMS, ...params };
  return { name: 'scrypt', N, r, p };
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return false;
    throw new CofreError(
      'COFRE_BACKEND_UNAVAILABLE',
      `cannot check for a store at ${path} (${code ?? 'error'})`,
      {
        cause: err,
        details: { path, errno: code },
      },
    );
  }
}

function storeExists(path: string): CofreError {
  return new CofreError('COFRE_STORE_EXISTS', `refusing to overwrite the existing store ${path}`, {
    details: { path },
  });
}

// Buffer.alloc never hands out a slice of the shared pool, so the copy can be zeroed on its own.
function copyOf(bytes: Buffer): Buffer {
  const copy = Buffer.alloc(bytes.length);
  bytes.copy(copy);
  return copy;
}
