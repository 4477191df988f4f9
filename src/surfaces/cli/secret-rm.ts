import { type CliIo, println } from './cli-io.js';
import { withCliBackend } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';

/** `cofre secret rm <name>`: deletes the secret and all its versions. */
export async function secretRm(
  io: CliIo,
  global: GlobalOptions,
  name: string,
  options: { backend?: string },
): Promise<void> {
  await withCliBackend(io, global, options.backend, (backend) => backend.remove(name));
  println(io.stderr, `Removed ${name} and all its versions.`);
}
