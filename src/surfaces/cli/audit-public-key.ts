import { auditPublicKeyOf, readSigningKey } from '../../audit/audit-keys.js';
import { CofreError } from '../../errors.js';
import { openResolver } from '../../secrets/open-backend.js';
import { type CliIo, println } from './cli-io.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import { promptHidden } from './read-secret-input.js';

/**
 * `cofre audit public-key`: prints the public half (SPKI PEM) of the checkpoint signing key `audit.signingKey`,
 * read through its backend, and its keyId on stderr, so an operator can pin it (`cofre audit verify --public-key`).
 */
export async function auditPublicKey(io: CliIo, global: GlobalOptions): Promise<void> {
  const config = await loadCliConfig(io, global);
  const reference = config.audit.signingKey;
  if (reference === undefined) {
    throw new CofreError(
      'COFRE_USAGE',
      'the config sets no audit.signingKey; create an Ed25519 key (PKCS#8 PEM), store it with `cofre secret put`, and name it there',
    );
  }
  const resolver = await openResolver(config, { promptPassphrase: (q) => promptHidden(io, q) });
  try {
    const { key } = await readSigningKey(reference, resolver);
    const publicKey = auditPublicKeyOf(key);
    io.stdout.write(publicKey.pem);
    println(io.stderr, `keyId ${publicKey.keyId} (audit.signingKey ${reference})`);
  } finally {
    await resolver.close();
  }
}
