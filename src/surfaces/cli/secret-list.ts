import { type CliIo, println } from './cli-io.js';
import { withCliBackend } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';

/** `cofre secret list`: one line per secret — name, current version, number of versions. Never a value. */
export async function secretList(
  io: CliIo,
  global: GlobalOptions,
  options: { backend?: string },
): Promise<void> {
  await withCliBackend(io, global, options.backend, async (backend) => {
    const names = await backend.list();
    const rows = await Promise.all(
      names.map(async (name) => {
        const meta = await backend.describe(name);
        return [name, meta.stages.current ?? '-', String(meta.versions.length), meta.createdAt.toISOString()];
      }),
    );
    printTable(io, ['NAME', 'CURRENT', 'VERSIONS', 'CREATED'], rows);
  });
}

/** Prints rows as aligned columns on stdout. */
export function printTable(io: CliIo, header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const row of [header, ...rows]) {
    println(
      io.stdout,
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    );
  }
}
