import { CofreError, isCofreError } from '../../errors.js';
import { parseSecretReference } from '../../secrets/secret-reference.js';
import { newEmbeddedKey } from '../../wallets/signers/embedded-key.js';
import { type CliIo, println } from './cli-io.js';
import { withCliBackend } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';

/**
 * `cofre wallet create-key <secret-ref>`: makes a fresh secp256k1 key, writes it (64 hex digits) to the secret the
 * reference names, and prints its address, so an embedded wallet (`key: {type: embedded, secret: <secret-ref>}`) can
 * be funded. For development: production keys belong in AWS KMS.
 *
 * SECURITY: the key goes to the backend only; it is never printed, and the buffer is zeroed once written. A secret
 * that already exists is refused, not overwritten: a new version would replace a key that may hold funds.
 */
export async function walletCreateKey(io: CliIo, global: GlobalOptions, reference: string): Promise<void> {
  const ref = parseSecretReference(reference);
  if (ref.field !== undefined || ref.selector.kind !== 'latest') {
    throw new CofreError(
      'COFRE_USAGE',
      `name the secret without a #field or @version: ${ref.backend}:${ref.path}`,
    );
  }
  const address = await withCliBackend(io, global, ref.backend, async (backend) => {
    const exists = await backend.describe(ref.path).then(
      () => true,
      (err: unknown) => {
        if (isCofreError(err, 'COFRE_SECRET_NOT_FOUND')) return false;
        throw err;
      },
    );
    if (exists) {
      throw new CofreError(
        'COFRE_USAGE',
        `${reference} already holds a secret; a wallet key is never overwritten (it may hold funds): name another secret`,
      );
    }
    const key = newEmbeddedKey();
    try {
      await backend.write(ref.path, key.secret, { stage: 'current' });
    } finally {
      key.secret.zero();
    }
    return key.address;
  });
  println(io.stdout, address);
  println(
    io.stderr,
    `Stored a new wallet key in ${reference}. Use it as \`key: {type: embedded, secret: ${reference}}\`.`,
  );
}
