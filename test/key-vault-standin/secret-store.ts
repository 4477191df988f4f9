/**
 * The vault's secrets as Key Vault keeps them: each name holds versions in creation order (the newest is the
 * "latest" the unversioned URL answers); a deleted name moves, with all its versions, to the soft-deleted set where
 * it can be recovered or purged and where it blocks a new secret of the same name.
 *
 * Pure state, no HTTP: `data-plane.ts` maps it onto the REST API. Names compare case-insensitively, as Key Vault's
 * do ("Names are case-insensitive", Key Vault object identifiers); the first spelling is kept.
 * Times are Unix seconds, the unit the REST API's attributes use.
 */
import { randomBytes } from 'node:crypto';

/** Attributes a client may set (REST `SecretAttributes`: enabled, nbf, exp). */
export interface SettableAttributes {
  readonly enabled?: boolean;
  /** `undefined` with the key present clears the attribute (an update sending `null`). */
  readonly nbf?: number | undefined;
  readonly exp?: number | undefined;
}

export interface StoredVersion {
  readonly version: string;
  readonly value: string;
  contentType: string | undefined;
  tags: Readonly<Record<string, string>> | undefined;
  enabled: boolean;
  nbf: number | undefined;
  exp: number | undefined;
  readonly created: number;
  updated: number;
}

export interface StoredSecret {
  readonly name: string;
  readonly versions: StoredVersion[];
}

export interface DeletedSecret {
  readonly secret: StoredSecret;
  readonly deletedDate: number;
  readonly scheduledPurgeDate: number;
}

/** What a set or update may carry besides the value. */
export interface SecretProperties {
  readonly contentType?: string | undefined;
  readonly tags?: Readonly<Record<string, string>> | undefined;
  readonly attributes?: SettableAttributes | undefined;
}

/** Days a deleted secret stays recoverable (`recoverableDays`; Azure's default retention is 90). */
export const RECOVERABLE_DAYS = 90;

/** A new version id: 32 lowercase hex digits, like Key Vault's. */
export function newVersionId(): string {
  return randomBytes(16).toString('hex');
}

export class SecretStore {
  private readonly live = new Map<string, StoredSecret>();
  private readonly deleted = new Map<string, DeletedSecret>();

  constructor(private readonly now: () => number) {}

  get(name: string): StoredSecret | undefined {
    return this.live.get(name.toLowerCase());
  }

  getDeleted(name: string): DeletedSecret | undefined {
    return this.deleted.get(name.toLowerCase());
  }

  /** Live secrets in name order (Key Vault lists alphabetically). */
  list(): StoredSecret[] {
    return [...this.live.values()].sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
  }

  listDeleted(): DeletedSecret[] {
    return [...this.deleted.values()].sort((a, b) =>
      a.secret.name.toLowerCase().localeCompare(b.secret.name.toLowerCase()),
    );
  }

  /** Adds a version (making the secret if new). The caller has checked the name is not soft-deleted. */
  set(name: string, value: string, props: SecretProperties): StoredVersion {
    const key = name.toLowerCase();
    const secret = this.live.get(key) ?? { name, versions: [] };
    const now = this.now();
    const version: StoredVersion = {
      version: newVersionId(),
      value,
      contentType: props.contentType,
      tags: props.tags,
      enabled: props.attributes?.enabled ?? true,
      nbf: props.attributes?.nbf,
      exp: props.attributes?.exp,
      created: now,
      updated: now,
    };
    secret.versions.push(version);
    this.live.set(key, secret);
    return version;
  }

  /** Changes the properties the request names; tags, when given, replace the old ones entirely. */
  update(version: StoredVersion, props: SecretProperties): void {
    if (props.contentType !== undefined) version.contentType = props.contentType;
    if (props.tags !== undefined) version.tags = props.tags;
    const attributes = props.attributes;
    if (attributes?.enabled !== undefined) version.enabled = attributes.enabled;
    if (attributes !== undefined && 'nbf' in attributes) version.nbf = attributes.nbf;
    if (attributes !== undefined && 'exp' in attributes) version.exp = attributes.exp;
    version.updated = this.now();
  }

  /** Soft-deletes a live secret with all its versions. */
  delete(name: string): DeletedSecret | undefined {
    const key = name.toLowerCase();
    const secret = this.live.get(key);
    if (secret === undefined) return undefined;
    this.live.delete(key);
    const deletedDate = this.now();
    const entry = { secret, deletedDate, scheduledPurgeDate: deletedDate + RECOVERABLE_DAYS * 86_400 };
    this.deleted.set(key, entry);
    return entry;
  }

  purge(name: string): boolean {
    return this.deleted.delete(name.toLowerCase());
  }

  recover(name: string): StoredSecret | undefined {
    const key = name.toLowerCase();
    const entry = this.deleted.get(key);
    if (entry === undefined) return undefined;
    this.deleted.delete(key);
    this.live.set(key, entry.secret);
    return entry.secret;
  }
}

/** The newest version (the one `/secrets/{name}` and `/secrets/{name}/` answer). */
export function latestVersion(secret: StoredSecret): StoredVersion {
  const latest = secret.versions.at(-1);
  if (latest === undefined) throw new Error('a stored secret always has a version');
  return latest;
}
