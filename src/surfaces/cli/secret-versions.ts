import type { CliIo } from './cli-io.js';
import { withCliBackend } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import { printTable } from './secret-list.js';

/**
 * `cofre secret versions <name>`: every kept version, oldest first, with stages and creation time, and the time of
 * the last change to a version's properties where the backend keeps one (Azure Key Vault: enabled, expiry, tags).
 */
export async function secretVersions(
  io: CliIo,
  global: GlobalOptions,
  name: string,
  options: { backend?: string },
): Promise<void> {
  await withCliBackend(io, global, options.backend, async (backend) => {
    const meta = await backend.describe(name);
    const updated = meta.versions.some((v) => v.updatedAt !== undefined);
    printTable(
      io,
      ['VERSION', 'STAGES', 'CREATED', ...(updated ? ['UPDATED'] : [])],
      meta.versions.map((v) => [
        v.version,
        v.stages.join(',') || '-',
        v.createdAt.toISOString(),
        ...(updated ? [v.updatedAt?.toISOString() ?? '-'] : []),
      ]),
    );
  });
}
