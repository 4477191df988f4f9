import { auditHmac } from '../../audit/audit-hmac.js';
import { CofreError } from '../../errors.js';
import { openResolver } from '../../secrets/open-backend.js';
import { parseSecretReference } from '../../secrets/secret-reference.js';
import { type CliIo, println } from './cli-io.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import { promptHidden, readStdin, trimTrailingNewline } from './read-secret-input.js';

const MIN_KEY_BYTES = 32;

/**
 * `cofre audit hash [reference] [--stdin]`: the HMAC the audit log holds for a secret reference (given as an
 * argument: references are not secret) or for a value (from stdin or a no-echo prompt, never from argv), under the
 * key at `audit.hmacKey`, so an operator can search the log for it.
 *
 * SECURITY: a value is read only from stdin or the prompt, its buffer zeroed after use; the key is resolved through
 * the config's backends and zeroed after use; only the HMAC is printed.
 */
export async function auditHash(
  io: CliIo,
  global: GlobalOptions,
  reference: string | undefined,
  options: { stdin?: boolean },
): Promise<void> {
  if (reference !== undefined && options.stdin === true) {
    throw new CofreError('COFRE_USAGE', 'give either a reference or --stdin, not both');
  }
  if (reference !== undefined) {
    try {
      parseSecretReference(reference);
    } catch (err) {
      throw new CofreError(
        'COFRE_USAGE',
        'the argument must be a secret reference such as local:exchanges/binance#apiKey; values never go on the command line: pipe them with --stdin or type them at the prompt',
        { cause: err },
      );
    }
  }
  const config = await loadCliConfig(io, global);
  const keyRef = config.audit.hmacKey;
  if (keyRef === undefined) {
    throw new CofreError('COFRE_AUDIT_HMAC_KEY_UNAVAILABLE', 'audit.hmacKey is not set in the config');
  }
  const input =
    reference !== undefined
      ? undefined
      : options.stdin === true
        ? trimTrailingNewline(await readStdin(io))
        : await promptHidden(io, 'value to hash: ');
  const resolver = await openResolver(config, { promptPassphrase: (q) => promptHidden(io, q) });
  try {
    const key = await resolver.resolve(keyRef);
    try {
      if (key.length < MIN_KEY_BYTES) {
        throw new CofreError(
          'COFRE_AUDIT_HMAC_KEY_UNAVAILABLE',
          `the secret at audit.hmacKey (${keyRef}) holds ${key.length} bytes; it needs at least ${MIN_KEY_BYTES}`,
        );
      }
      const hmac =
        input === undefined
          ? auditHmac(key.bytes(), 'reference', reference ?? '')
          : auditHmac(key.bytes(), 'value', input);
      println(io.stdout, hmac);
    } finally {
      key.zero();
    }
  } finally {
    input?.fill(0);
    await resolver.close();
  }
}
