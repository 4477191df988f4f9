import { createHash } from 'node:crypto';

import { CofreError, isCofreError } from '../errors.js';
import { selectSecretField } from '../secrets/secret-field.js';
import type { SecretReference } from '../secrets/secret-reference.js';
import type { SecretValue } from '../secrets/secret-value.js';
import type { VenueAccount, VenueCredentials } from '../venues/venue-account.js';
import type { RotationContext } from './rotation-context.js';
import { CREDENTIAL_FIELDS, type CredentialField } from './rotation-plan.js';

const PENDING = { kind: 'stage', stage: 'pending' } as const;

/**
 * The test of an account's pending credentials: opens the venue account as the broker does, but on the `pending`
 * version of every credential reference (`<ref>@stage=pending`), makes an authenticated read (the balance) and the
 * key-scope check. Resolves to why the key fails (the venue refused it, or it can do more than the policies need
 * where least privilege is required), or undefined when it passes. A retryable error (the venue or backend
 * unreachable) is thrown instead: the key was not judged, and `cofre rotate --resume` tries again.
 */
export async function testAccountCredentials(
  context: RotationContext,
  accountId: string,
  references: Readonly<Partial<Record<CredentialField, SecretReference>>>,
): Promise<string | undefined> {
  const account = context.config.accounts[accountId];
  if (account === undefined) return `account "${accountId}" is no longer in the config`;
  const credentials = (): Promise<VenueCredentials> => pendingCredentials(context, accountId, references);
  let venue: VenueAccount | undefined;
  try {
    venue = await context.openVenue(accountId, account, credentials);
    await venue.fetchBalance();
    const { judgement } = await context.checkKeyScope(context.config, accountId, venue);
    if (judgement.refuse) {
      return `the new key can do more than the policies need and least privilege is required: ${judgement.problems.join('; ')}`;
    }
    for (const problem of judgement.problems) context.onWarning(problem);
    return undefined;
  } catch (err) {
    if (isCofreError(err) && err.retryable) throw err;
    // SECURITY: CofreError messages name references and venues, never a credential (venue-error.ts).
    return isCofreError(err) ? `${err.code}: ${err.message}` : 'the venue account could not be opened';
  } finally {
    await venue?.close().catch(() => undefined);
  }
}

/** The pending value of each credential reference of `accountId`; all or nothing (values zeroed on failure). */
async function pendingCredentials(
  context: RotationContext,
  accountId: string,
  references: Readonly<Partial<Record<CredentialField, SecretReference>>>,
): Promise<VenueCredentials> {
  const values: Partial<Record<CredentialField, SecretValue>> = {};
  try {
    for (const field of CREDENTIAL_FIELDS) {
      const ref = references[field];
      if (ref !== undefined) values[field] = await readPending(context, ref);
    }
  } catch (err) {
    for (const value of Object.values(values)) value.zero();
    throw err;
  }
  const { apiKey, secret, password, uid } = values;
  if (apiKey === undefined || secret === undefined) {
    throw new CofreError(
      'COFRE_ROTATION_INVALID',
      `account "${accountId}" has no apiKey or secret reference`,
    );
  }
  return {
    apiKey,
    secret,
    ...(password === undefined ? {} : { password }),
    ...(uid === undefined ? {} : { uid }),
  };
}

/** Reads `ref` at stage `pending` straight from its backend (never through the resolver's cache). */
export async function readPending(context: RotationContext, ref: SecretReference): Promise<SecretValue> {
  const record = await context.backend(ref.backend).read(ref.path, PENDING);
  if (ref.field === undefined) return record.value;
  try {
    return selectSecretField(record.value, { ...ref, selector: PENDING });
  } finally {
    record.value.zero();
  }
}

/** SHA-256 of a value, to compare a generated secret with what the backend gives back without keeping it. */
export function valueHash(value: SecretValue): string {
  return createHash('sha256').update(value.bytes()).digest('hex');
}
