import { type CliIo, println } from './cli-io.js';
import { withCliBackend } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';

/** `cofre secret promote <name> <version>`: makes `version` current; the old current becomes previous. */
export async function secretPromote(
  io: CliIo,
  global: GlobalOptions,
  name: string,
  version: string,
  options: { backend?: string },
): Promise<void> {
  await withCliBackend(io, global, options.backend, async (backend) => {
    await backend.moveStage(name, 'current', version);
  });
  println(io.stderr, `${name}: version ${version} is now current.`);
}
