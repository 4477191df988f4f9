import { CofreError } from '../../errors.js';
import { EmbeddedBackend } from '../../secrets/embedded/embedded-backend.js';
import { parseSecretReference } from '../../secrets/secret-reference.js';
import { type CliIo, println } from './cli-io.js';
import { withCliBackend } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';

/**
 * `cofre secret fingerprint <name>[@<version>|@stage=<label>]`: prints a keyed HMAC of the value, which an
 * operator can compare (before and after a rotation, between two versions) without anyone seeing the value.
 */
export async function secretFingerprint(
  io: CliIo,
  global: GlobalOptions,
  name: string,
  options: { backend?: string },
): Promise<void> {
  // Reuse the reference grammar for the optional @version / @stage suffix; the backend part is a placeholder.
  const ref = parseSecretReference(`cli:${name}`);
  if (ref.field !== undefined) throw new CofreError('COFRE_USAGE', 'fingerprint takes a name, not a #field');
  const fingerprint = await withCliBackend(io, global, options.backend, (backend) => {
    if (!(backend instanceof EmbeddedBackend)) {
      throw new CofreError(
        'COFRE_BACKEND_UNSUPPORTED',
        `backend "${backend.name}" (${backend.type}) has no fingerprint key`,
      );
    }
    return backend.fingerprint(ref.path, ref.selector);
  });
  println(io.stdout, fingerprint);
}
