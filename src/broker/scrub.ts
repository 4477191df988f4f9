import type { SecretValue } from '../secrets/secret-value.js';

const REDACTED = '[REDACTED]';

/**
 * Removes every occurrence of the given secrets from `text`, in each encoding they could take on the way out: raw,
 * base64, base64url, hex (both cases) and URL-encoded. Used on every response and audit line before it leaves the
 * broker, as the last line of defence behind venues that never copy credentials into results in the first place.
 *
 * SECURITY: values shorter than 8 bytes are not scrubbed (they would match ordinary text, and no credential is
 * that short); everything else is.
 */
export function scrubSecrets(text: string, secrets: readonly SecretValue[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.zeroed || secret.length < 8) continue;
    const bytes = secret.bytes();
    const raw = bytes.toString('utf8');
    const forms = new Set([
      raw,
      JSON.stringify(raw).slice(1, -1),
      bytes.toString('base64'),
      bytes.toString('base64').replace(/=+$/, ''),
      bytes.toString('base64url'),
      bytes.toString('hex'),
      bytes.toString('hex').toUpperCase(),
      encodeURIComponent(raw),
    ]);
    for (const form of forms) {
      if (form.length >= 8) out = out.split(form).join(REDACTED);
    }
  }
  return out;
}
