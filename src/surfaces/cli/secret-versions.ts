import type { CliIo } from './cli-io.js';
import { withCliBackend } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import { printTable } from './secret-list.js';

/** `cofre secret versions <name>`: every kept version, oldest first, with stages and creation time. */
export async function secretVersions(
  io: CliIo,
  global: GlobalOptions,
  name: string,
  options: { backend?: string },
): Promise<void> {
  await withCliBackend(io, global, options.backend, async (backend) => {
    const meta = await backend.describe(name);
    printTable(
      io,
      ['VERSION', 'STAGES', 'CREATED'],
      meta.versions.map((v) => [v.version, v.stages.join(',') || '-', v.createdAt.toISOString()]),
    );
  });
}
