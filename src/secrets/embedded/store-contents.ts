import type { CofreError } from '../../errors.js';
import { type Stage, STAGES, type VersionSelector } from '../secret-reference.js';
import { assertValidSecretPath } from './secret-path.js';
import { corrupt } from './store-file.js';

/*
 * The plaintext inside a store file's ciphertext:
 *
 *   offset   size  field
 *   0        4     M = metadata length (u32 big-endian)
 *   4        M     metadata, UTF-8 JSON:
 *                  {"secrets":[{"path":"exchanges/binance","createdAt":ISO-8601,"nextVersion":3,
 *                               "stages":{"current":"2","previous":"1"},
 *                               "versions":[{"id":"1","createdAt":ISO-8601,"offset":0,"length":64}, ...]}]}
 *   4+M      rest  values blob: each version's value bytes at its offset
 *
 * SECURITY: values are raw bytes in the blob, never JSON strings, so decoding a store never turns a secret into an
 * immutable JavaScript string that could not be wiped. Names are not secret and live in the JSON.
 */

/** One version of one secret. `value` is a view into a buffer the owning {@link StoreContents} zeroes. */
export interface StoredVersion {
  readonly id: string;
  readonly createdAt: Date;
  readonly value: Buffer;
}

/** One secret with its kept versions (oldest first) and the version each set stage points at. */
export interface StoredSecret {
  readonly path: string;
  readonly createdAt: Date;
  /** The id the next write gets; ids are never reused while the secret exists, even after pruning. */
  nextVersion: number;
  readonly versions: StoredVersion[];
  readonly stages: Partial<Record<Stage, string>>;
}

const VERSION_ID = /^[1-9][0-9]{0,15}$/;

/**
 * The decrypted contents of an embedded store: secrets, versions, stages and value bytes, with the AWS Secrets
 * Manager staging rules. Not safe for concurrent use: the backend builds one per operation and disposes of it.
 *
 * SECURITY: every buffer holding value bytes (the decrypted plaintext and each newly written value) is owned by the
 * instance and zeroed by {@link StoreContents.dispose}; callers copy what they hand out.
 */
export class StoreContents {
  readonly #secrets = new Map<string, StoredSecret>();
  readonly #owned: Buffer[] = [];

  private constructor() {}

  /** A store with no secrets. */
  static empty(): StoreContents {
    return new StoreContents();
  }

  /**
   * Decodes authenticated plaintext, taking ownership of it (values stay views into it; no copies). Throws
   * `COFRE_STORE_CORRUPT` for malformed contents, which after a successful GCM check means a bug, not an attack.
   */
  static decode(plaintext: Buffer, source: string): StoreContents {
    const contents = new StoreContents();
    contents.#owned.push(plaintext);
    try {
      contents.#decode(plaintext, source);
    } catch (err) {
      contents.dispose();
      throw err;
    }
    return contents;
  }

  /** Encodes to a fresh buffer the caller owns and must zero (it holds every value). */
  encode(): Buffer {
    const secrets = [...this.#secrets.values()];
    let offset = 0;
    const meta = {
      secrets: secrets.map((s) => ({
        path: s.path,
        createdAt: s.createdAt.toISOString(),
        nextVersion: s.nextVersion,
        stages: s.stages,
        versions: s.versions.map((v) => {
          const entry = { id: v.id, createdAt: v.createdAt.toISOString(), offset, length: v.value.length };
          offset += v.value.length;
          return entry;
        }),
      })),
    };
    const metaBytes = Buffer.from(JSON.stringify(meta), 'utf8');
    const out = Buffer.alloc(4 + metaBytes.length + offset);
    out.writeUInt32BE(metaBytes.length, 0);
    metaBytes.copy(out, 4);
    let at = 4 + metaBytes.length;
    for (const s of secrets) {
      for (const v of s.versions) at += v.value.copy(out, at);
    }
    return out;
  }

  /** Zeroes every value buffer this instance owns. Idempotent; the instance must not be used afterwards. */
  dispose(): void {
    for (const b of this.#owned) b.fill(0);
    this.#owned.length = 0;
    this.#secrets.clear();
  }

  /** Secret paths, sorted. */
  paths(): string[] {
    return [...this.#secrets.keys()].sort();
  }

  get(path: string): StoredSecret | undefined {
    return this.#secrets.get(path);
  }

  /** The version `selector` picks (`latest` is the `current` stage), or undefined. */
  select(secret: StoredSecret, selector: VersionSelector): StoredVersion | undefined {
    let id: string | undefined;
    switch (selector.kind) {
      case 'latest':
        id = secret.stages.current;
        break;
      case 'version':
        id = selector.version;
        break;
      case 'stage':
        id = secret.stages[selector.stage];
        break;
    }
    return id === undefined ? undefined : secret.versions.find((v) => v.id === id);
  }

  /**
   * Adds a version, taking ownership of `value`, and returns its id ("1", "2", … per secret).
   * - `current`: the old current version becomes `previous`;
   * - `pending`: the stage moves to the new version, `current` is untouched.
   * Then drops the oldest versions beyond `maxVersions`, skipping any that holds a stage.
   */
  addVersion(
    path: string,
    value: Buffer,
    stage: 'current' | 'pending',
    now: Date,
    maxVersions: number,
  ): string {
    this.#owned.push(value);
    let secret = this.#secrets.get(path);
    if (secret === undefined) {
      secret = { path, createdAt: now, nextVersion: 1, versions: [], stages: {} };
      this.#secrets.set(path, secret);
    }
    const id = String(secret.nextVersion);
    secret.nextVersion++;
    secret.versions.push({ id, createdAt: now, value });
    if (stage === 'current') {
      if (secret.stages.current !== undefined) secret.stages.previous = secret.stages.current;
      secret.stages.current = id;
    } else {
      secret.stages.pending = id;
    }
    prune(secret, maxVersions);
    return id;
  }

  /**
   * Points `stage` at `version`, which must exist (the caller checks). Moving `current` also moves the old current
   * to `previous` and clears `pending` when it pointed at `version` (AWS Secrets Manager's rotation model).
   */
  moveStage(secret: StoredSecret, stage: Stage, version: string): void {
    if (stage === 'current') {
      const old = secret.stages.current;
      if (old !== undefined && old !== version) secret.stages.previous = old;
      if (secret.stages.pending === version) delete secret.stages.pending;
    }
    secret.stages[stage] = version;
  }

  /**
   * Takes `stage` off whatever version holds it; the version itself is kept, unstaged (and from then on may be
   * pruned like any unstaged version). Returns false when no version held it. The caller refuses `current`.
   */
  clearStage(secret: StoredSecret, stage: Exclude<Stage, 'current'>): boolean {
    if (secret.stages[stage] === undefined) return false;
    if (stage === 'pending') delete secret.stages.pending;
    else delete secret.stages.previous;
    return true;
  }

  /** Removes a secret with all its versions; false when there was none. */
  remove(path: string): boolean {
    return this.#secrets.delete(path);
  }

  #decode(plaintext: Buffer, source: string): void {
    const bad = (problem: string): CofreError => corrupt(source, `holds malformed contents (${problem})`);
    if (plaintext.length < 4) throw bad('too short');
    const metaLength = plaintext.readUInt32BE(0);
    if (metaLength > plaintext.length - 4) throw bad('metadata length');
    let meta: unknown;
    try {
      meta = JSON.parse(plaintext.subarray(4, 4 + metaLength).toString('utf8'));
    } catch {
      throw bad('metadata is not JSON');
    }
    const blob = plaintext.subarray(4 + metaLength);
    if (!isRecord(meta) || !Array.isArray(meta.secrets)) throw bad('no secrets list');
    for (const raw of meta.secrets as unknown[]) {
      const secret = decodeSecret(raw, blob, bad);
      if (this.#secrets.has(secret.path)) throw bad('duplicate path');
      this.#secrets.set(secret.path, secret);
    }
  }
}

function prune(secret: StoredSecret, maxVersions: number): void {
  let excess = secret.versions.length - maxVersions;
  const staged = new Set(Object.values(secret.stages));
  for (let i = 0; excess > 0 && i < secret.versions.length;) {
    const version = secret.versions[i];
    if (version !== undefined && !staged.has(version.id)) {
      // The bytes stay in an owned buffer and are zeroed on dispose; they are simply not written back.
      secret.versions.splice(i, 1);
      excess--;
    } else {
      i++;
    }
  }
}

function decodeSecret(raw: unknown, blob: Buffer, bad: (problem: string) => CofreError): StoredSecret {
  if (!isRecord(raw)) throw bad('secret entry');
  const { path, createdAt, nextVersion, stages, versions } = raw;
  if (typeof path !== 'string') throw bad('path');
  try {
    assertValidSecretPath(path);
  } catch {
    throw bad('path');
  }
  if (typeof nextVersion !== 'number' || !Number.isSafeInteger(nextVersion) || nextVersion < 1) {
    throw bad('nextVersion');
  }
  if (!Array.isArray(versions)) throw bad('versions');
  const decoded: StoredVersion[] = [];
  for (const v of versions as unknown[]) {
    if (!isRecord(v)) throw bad('version entry');
    const { id, offset, length } = v;
    if (typeof id !== 'string' || !VERSION_ID.test(id) || Number(id) >= nextVersion) throw bad('version id');
    if (decoded.some((d) => d.id === id)) throw bad('duplicate version id');
    if (
      typeof offset !== 'number' ||
      typeof length !== 'number' ||
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length < 1 ||
      offset + length > blob.length
    ) {
      throw bad('value bounds');
    }
    decoded.push({
      id,
      createdAt: decodeDate(v.createdAt, bad),
      value: blob.subarray(offset, offset + length),
    });
  }
  if (!isRecord(stages)) throw bad('stages');
  const decodedStages: Partial<Record<Stage, string>> = {};
  for (const [stage, id] of Object.entries(stages)) {
    if (!(STAGES as readonly string[]).includes(stage) || typeof id !== 'string') throw bad('stage');
    if (!decoded.some((d) => d.id === id)) throw bad('stage points at a missing version');
    decodedStages[stage as Stage] = id;
  }
  return {
    path,
    createdAt: decodeDate(createdAt, bad),
    nextVersion,
    versions: decoded,
    stages: decodedStages,
  };
}

function decodeDate(raw: unknown, bad: (problem: string) => CofreError): Date {
  const date = typeof raw === 'string' ? new Date(raw) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) throw bad('timestamp');
  return date;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
