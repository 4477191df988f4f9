import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level and no whitespace, so equal values always give equal text. Arrays
 * keep their order (rule order is meaningful); `undefined` properties are left out, as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v: unknown) => canonicalJson(v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * SHA-256 (hex) of a policy as validated (defaults applied) together with the address book, which decides where a
 * withdrawal goes. Recorded with each decision so an audit line can be traced to the exact policy text.
 */
export function policyHash(policy: unknown, addressBook: unknown): string {
  return createHash('sha256')
    .update(canonicalJson({ addressBook: addressBook ?? {}, policy: policy ?? null }))
    .digest('hex');
}
