import { createHmac } from 'node:crypto';

/** What an audit HMAC was computed over: a secret reference (not secret itself) or value-derived data. */
export type AuditHmacKind = 'reference' | 'value';

/**
 * The HMAC cofre writes into audit records in place of secret identifiers and value-derived data, and that
 * `cofre audit hash` computes so an operator can search the log: `hmac-sha256:<hex>` of
 * `cofre-audit-hmac\n<kind>\n<data>` under the key at `audit.hmacKey`.
 *
 * The domain prefix and the kind keep a reference and a value with the same bytes from sharing an HMAC, and keep
 * these HMACs apart from any other use of the key. Strings are hashed as UTF-8. Pure and safe to call concurrently.
 *
 * SECURITY: the result reveals nothing about `data` to anyone without `key`; the key must never be written to the
 * log.
 */
export function auditHmac(key: Buffer, kind: AuditHmacKind, data: Buffer | string): string {
  const mac = createHmac('sha256', key);
  mac.update(`cofre-audit-hmac\n${kind}\n`, 'utf8');
  mac.update(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  return `hmac-sha256:${mac.digest('hex')}`;
}
