/**
 * JSON shapes of the Key Vault secrets REST API (SecretBundle, SecretItem, DeletedSecretBundle,
 * DeletedSecretItem), built from the stored state. Field names and units follow the REST reference:
 * https://learn.microsoft.com/rest/api/keyvault/secrets/get-secret/get-secret (attributes in Unix seconds,
 * `recoveryLevel`, `recoverableDays`; `id` is `<vaultUrl>/secrets/<name>/<version>`).
 */
import {
  type DeletedSecret,
  latestVersion,
  RECOVERABLE_DAYS,
  type StoredSecret,
  type StoredVersion,
} from './secret-store.js';

/** Recovery level of a vault with soft delete on and purge protection off (the default since 2020). */
export const RECOVERY_LEVEL = 'Recoverable+Purgeable';

export interface SecretAttributesWire {
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
  recoveryLevel: string;
  recoverableDays: number;
}

export interface SecretBundleWire {
  value?: string;
  id: string;
  contentType?: string;
  attributes: SecretAttributesWire;
  tags?: Record<string, string>;
}

export interface SecretItemWire {
  id: string;
  contentType?: string;
  attributes: SecretAttributesWire;
  tags?: Record<string, string>;
}

export interface DeletedWireFields {
  recoveryId: string;
  deletedDate: number;
  scheduledPurgeDate: number;
}

function attributesWire(version: StoredVersion): SecretAttributesWire {
  return {
    enabled: version.enabled,
    ...(version.nbf !== undefined ? { nbf: version.nbf } : {}),
    ...(version.exp !== undefined ? { exp: version.exp } : {}),
    created: version.created,
    updated: version.updated,
    recoveryLevel: RECOVERY_LEVEL,
    recoverableDays: RECOVERABLE_DAYS,
  };
}

function optionalFields(version: StoredVersion): Pick<SecretItemWire, 'contentType' | 'tags'> {
  return {
    ...(version.contentType !== undefined ? { contentType: version.contentType } : {}),
    ...(version.tags !== undefined ? { tags: { ...version.tags } } : {}),
  };
}

/** A version's bundle; `withValue` false for the answers that carry no value (update, delete, recover). */
export function secretBundle(
  vaultUrl: string,
  secret: StoredSecret,
  version: StoredVersion,
  withValue: boolean,
): SecretBundleWire {
  return {
    ...(withValue ? { value: version.value } : {}),
    id: `${vaultUrl}/secrets/${secret.name}/${version.version}`,
    ...optionalFields(version),
    attributes: attributesWire(version),
  };
}

/** An item of Get Secret Versions: the version's id and properties, never its value. */
export function versionItem(vaultUrl: string, secret: StoredSecret, version: StoredVersion): SecretItemWire {
  return {
    id: `${vaultUrl}/secrets/${secret.name}/${version.version}`,
    ...optionalFields(version),
    attributes: attributesWire(version),
  };
}

/** An item of Get Secrets: the base identifier (no version) with the latest version's properties. */
export function secretItem(vaultUrl: string, secret: StoredSecret): SecretItemWire {
  const latest = latestVersion(secret);
  return {
    id: `${vaultUrl}/secrets/${secret.name}`,
    ...optionalFields(latest),
    attributes: attributesWire(latest),
  };
}

function deletedFields(vaultUrl: string, entry: DeletedSecret): DeletedWireFields {
  return {
    recoveryId: `${vaultUrl}/deletedsecrets/${entry.secret.name}`,
    deletedDate: entry.deletedDate,
    scheduledPurgeDate: entry.scheduledPurgeDate,
  };
}

/** Delete Secret and Get Deleted Secret: the latest version's bundle (no value) plus the recovery fields. */
export function deletedSecretBundle(
  vaultUrl: string,
  entry: DeletedSecret,
): SecretBundleWire & DeletedWireFields {
  return {
    ...deletedFields(vaultUrl, entry),
    ...secretBundle(vaultUrl, entry.secret, latestVersion(entry.secret), false),
  };
}

/** An item of Get Deleted Secrets. */
export function deletedSecretItem(
  vaultUrl: string,
  entry: DeletedSecret,
): SecretItemWire & DeletedWireFields {
  return { ...deletedFields(vaultUrl, entry), ...secretItem(vaultUrl, entry.secret) };
}
