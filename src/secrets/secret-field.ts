import { CofreError } from '../errors.js';
import { formatSecretReference, type SecretReference } from './secret-reference.js';
import { SecretValue } from './secret-value.js';

/**
 * Extracts a reference's `#field` from a JSON-object value, as a new value the caller owns. The parsed object holds
 * the other fields as JS strings only for the duration of this call. Errors name the reference, never the value.
 * Pure; safe to call concurrently.
 */
export function selectSecretField(value: SecretValue, ref: SecretReference): SecretValue {
  const where = formatSecretReference(ref);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.text());
  } catch {
    // SECURITY: the JSON parser's message quotes the input; drop it.
    throw new CofreError(
      'COFRE_SECRET_FIELD_INVALID',
      `${where}: the stored value is not a JSON object, so it has no fields`,
      {
        details: { reference: where },
      },
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CofreError(
      'COFRE_SECRET_FIELD_INVALID',
      `${where}: the stored value is not a JSON object, so it has no fields`,
      {
        details: { reference: where },
      },
    );
  }
  const fields = parsed as Record<string, unknown>;
  const field = ref.field ?? '';
  if (!Object.hasOwn(fields, field)) {
    throw new CofreError(
      'COFRE_SECRET_NOT_FOUND',
      `${where}: the secret has no field "${field}" (fields: ${Object.keys(fields).join(', ')})`,
      {
        details: { reference: where },
      },
    );
  }
  const selected = fields[field];
  if (typeof selected !== 'string') {
    throw new CofreError(
      'COFRE_SECRET_FIELD_INVALID',
      `${where}: field "${field}" is a ${typeof selected}, not a string`,
      {
        details: { reference: where },
      },
    );
  }
  return SecretValue.fromText(selected);
}
