/**
 * The HMAC that stands in an audit record for a secret identifier or value-derived data (issue 10), as Vault's
 * audit device does: the log never holds the reference or the value, yet an operator holding the key can compute
 * the same string (`cofre audit hash`) and search the log for it.
 *
 * Framing: HMAC-SHA256(key, "cofre-audit-hmac\n" + kind + "\n" + data), written `hmac-sha256:<hex>`. The kind is
 * part of the message so that a reference and a value with the same text never share an HMAC.
 */
import { createHmac } from 'node:crypto';

/** What an HMAC stands for: a secret reference (`local:exchanges/binance#secret`) or a value-derived datum. */
export type AuditHmacKind = 'reference' | 'value';

/** `hmac-sha256:<hex>` of `data` (UTF-8 when a string) under `key`, framed by `kind`. Pure. */
export function auditHmac(key: Buffer, kind: AuditHmacKind, data: Buffer | string): string {
  const mac = createHmac('sha256', key)
    .update(`cofre-audit-hmac\n${kind}\n`, 'utf8')
    .update(typeof data === 'string' ? Buffer.from(data, 'utf8') : data)
    .digest('hex');
  return `hmac-sha256:${mac}`;
}
