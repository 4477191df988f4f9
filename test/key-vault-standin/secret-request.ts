/**
 * Validation of what a client sends to the secrets API: names (1-127 letters, digits and dashes), the Set Secret
 * and Update Secret bodies (`value`, `contentType`, `tags`, `attributes.enabled/nbf/exp`) and paging parameters.
 * A problem is a `BadParameter` message, as Key Vault answers malformed requests with 400 `BadParameter`.
 */
import type { SecretProperties, SettableAttributes } from './secret-store.js';

/** Key Vault object names: https://learn.microsoft.com/azure/key-vault/general/about-keys-secrets-certificates */
const NAME_PATTERN = /^[0-9a-zA-Z-]{1,127}$/;
/** Key Vault's limit on a secret value: 25 KiB. */
export const MAX_VALUE_BYTES = 25 * 1024;
/** `maxresults` range of the list operations (REST reference: "Maximum number of results to return in a page"). */
export const MAX_PAGE_SIZE = 25;

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

export function nameProblem(name: string): string | undefined {
  return NAME_PATTERN.test(name) ? undefined : `The request URI contains an invalid name: ${name}`;
}

function parseJsonObject(body: string): Parsed<Record<string, unknown>> {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return { ok: true, value: parsed as Record<string, unknown> };
    }
  } catch {
    // fall through
  }
  return { ok: false, message: 'The request body is not a valid JSON object.' };
}

function parseTags(tags: unknown): Parsed<Record<string, string> | undefined> {
  if (tags === undefined || tags === null) return { ok: true, value: undefined };
  if (typeof tags !== 'object' || Array.isArray(tags))
    return { ok: false, message: 'Property tags is invalid.' };
  const entries = Object.entries(tags as Record<string, unknown>);
  if (entries.length > 15) return { ok: false, message: 'A secret may carry at most 15 tags.' };
  if (!entries.every(([, v]) => typeof v === 'string'))
    return { ok: false, message: 'Tag values must be strings.' };
  return { ok: true, value: Object.fromEntries(entries) as Record<string, string> };
}

function parseAttributes(raw: unknown): Parsed<SettableAttributes | undefined> {
  if (raw === undefined || raw === null) return { ok: true, value: undefined };
  if (typeof raw !== 'object' || Array.isArray(raw))
    return { ok: false, message: 'Property attributes is invalid.' };
  const a = raw as Record<string, unknown>;
  if (a['enabled'] !== undefined && typeof a['enabled'] !== 'boolean') {
    return { ok: false, message: 'Property attributes.enabled must be a boolean.' };
  }
  for (const field of ['nbf', 'exp'] as const) {
    if (a[field] !== undefined && a[field] !== null && !Number.isInteger(a[field])) {
      return { ok: false, message: `Property attributes.${field} must be a Unix time in seconds.` };
    }
  }
  const attributes: { enabled?: boolean; nbf?: number | undefined; exp?: number | undefined } = {};
  if (typeof a['enabled'] === 'boolean') attributes.enabled = a['enabled'];
  // `null` clears nbf/exp on update; the key's presence is what the store looks at.
  if ('nbf' in a) attributes.nbf = (a['nbf'] as number | null) ?? undefined;
  if ('exp' in a) attributes.exp = (a['exp'] as number | null) ?? undefined;
  return { ok: true, value: attributes };
}

/** The properties part shared by Set Secret and Update Secret. */
export function parseProperties(body: Record<string, unknown>): Parsed<SecretProperties> {
  const contentType = body['contentType'];
  if (contentType !== undefined && contentType !== null && typeof contentType !== 'string') {
    return { ok: false, message: 'Property contentType must be a string.' };
  }
  // About Azure Key Vault secrets: "The maximum length of this field is 255 characters."
  if (typeof contentType === 'string' && contentType.length > 255) {
    return { ok: false, message: 'Property contentType is longer than 255 characters.' };
  }
  const tags = parseTags(body['tags']);
  if (!tags.ok) return tags;
  const attributes = parseAttributes(body['attributes']);
  if (!attributes.ok) return attributes;
  return {
    ok: true,
    value: { contentType: contentType ?? undefined, tags: tags.value, attributes: attributes.value },
  };
}

export function parseSetBody(body: string): Parsed<{ value: string; props: SecretProperties }> {
  const json = parseJsonObject(body);
  if (!json.ok) return json;
  const value = json.value['value'];
  if (typeof value !== 'string')
    return { ok: false, message: "Property 'value' is required and must be a string." };
  if (Buffer.byteLength(value, 'utf8') > MAX_VALUE_BYTES) {
    return { ok: false, message: `The secret value is larger than the maximum of ${MAX_VALUE_BYTES} bytes.` };
  }
  const props = parseProperties(json.value);
  return props.ok ? { ok: true, value: { value, props: props.value } } : props;
}

export function parseUpdateBody(body: string): Parsed<SecretProperties> {
  const json = parseJsonObject(body === '' ? '{}' : body);
  return json.ok ? parseProperties(json.value) : json;
}

/** `maxresults`: absent means the largest page. */
export function parsePageSize(raw: string | null): Parsed<number> {
  if (raw === null) return { ok: true, value: MAX_PAGE_SIZE };
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) {
    return { ok: false, message: `Invalid maxresults: must be an integer from 1 to ${MAX_PAGE_SIZE}.` };
  }
  return { ok: true, value: n };
}
