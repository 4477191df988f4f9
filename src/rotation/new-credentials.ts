import { CofreError } from '../errors.js';
import { SecretValue } from '../secrets/secret-value.js';
import { CREDENTIAL_FIELDS, type CredentialField, type PlannedSecret } from './rotation-plan.js';

/** The new credentials an operator gives for an account: one value per ccxt field. The caller zeroes them. */
export type NewCredentials = ReadonlyMap<CredentialField, SecretValue>;

/**
 * Parses the operator's new credentials, a JSON object of ccxt fields (`{"apiKey":"…","secret":"…"}`), requiring
 * exactly the fields the account references (`expected`). SECURITY: errors name fields, never a value, and never
 * quote the input (JSON.parse's own message does, so it is dropped).
 */
export function parseNewCredentials(
  input: SecretValue,
  expected: readonly CredentialField[],
): NewCredentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(input.text());
  } catch {
    throw invalid(
      'the new credentials are not valid JSON; expected an object such as {"apiKey":"…","secret":"…"}',
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalid(
      'the new credentials must be a JSON object of ccxt fields, e.g. {"apiKey":"…","secret":"…"}',
    );
  }
  const given = parsed as Record<string, unknown>;
  const unknown = Object.keys(given).filter((k) => !(expected as readonly string[]).includes(k));
  if (unknown.length > 0) {
    const hint = unknown.some((k) => (CREDENTIAL_FIELDS as readonly string[]).includes(k))
      ? 'the account does not reference it'
      : `expected ${expected.join(', ')}`;
    throw invalid(`the new credentials have field(s) ${unknown.join(', ')}: ${hint}`);
  }
  const values = new Map<CredentialField, SecretValue>();
  for (const field of expected) {
    const value = given[field];
    if (typeof value !== 'string' || value.length === 0) {
      for (const v of values.values()) v.zero();
      throw invalid(
        `the new credentials need "${field}" as a non-empty string (expected ${expected.join(', ')})`,
      );
    }
    values.set(field, SecretValue.fromText(value));
  }
  return values;
}

/**
 * The value to write as `pending` for one secret: the new credential itself when the reference takes the whole
 * value; else `current`'s JSON object with the referenced fields replaced and every other field kept.
 */
export function newSecretValue(
  secret: PlannedSecret,
  credentials: NewCredentials,
  current: SecretValue | undefined,
): SecretValue {
  const entries = [...secret.fields.entries()];
  const [first] = entries;
  if (first !== undefined && first[1] === undefined) return required(credentials, first[0]).clone();
  const fields: Record<string, string> = {};
  for (const [field, jsonField] of entries) fields[jsonField ?? field] = required(credentials, field).text();
  return replaceFields(`${secret.backend}:${secret.path}`, current, fields);
}

/**
 * `current`'s JSON object with `fields` set and every other field kept (a new object when there is no current
 * value). `where` names the secret in the error when the current value is not a JSON object.
 */
export function replaceFields(
  where: string,
  current: SecretValue | undefined,
  fields: Readonly<Record<string, string>>,
): SecretValue {
  let object: Record<string, unknown> = {};
  if (current !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(current.text());
    } catch {
      // SECURITY: the parser's message quotes the value; it is dropped.
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new CofreError(
        'COFRE_SECRET_FIELD_INVALID',
        `${where}: the current value is not a JSON object, so its fields cannot be replaced`,
      );
    }
    object = parsed as Record<string, unknown>;
  }
  return SecretValue.fromText(JSON.stringify({ ...object, ...fields }));
}

function required(credentials: NewCredentials, field: CredentialField): SecretValue {
  const value = credentials.get(field);
  if (value === undefined) throw invalid(`the new credentials have no "${field}"`);
  return value;
}

function invalid(message: string): CofreError {
  return new CofreError('COFRE_ROTATION_INVALID', message);
}
