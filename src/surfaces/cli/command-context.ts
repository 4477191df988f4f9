import { resolve } from 'node:path';

import type { CofreConfig } from '../../config/config-schema.js';
import { loadConfig } from '../../config/load-config.js';
import { resolveConfigPath } from '../../config/resolve-config-path.js';
import { CofreError } from '../../errors.js';
import { openBackend } from '../../secrets/open-backend.js';
import type { SecretBackend } from '../../secrets/secret-backend.js';
import type { CliIo } from './cli-io.js';
import type { GlobalOptions } from './command-spec.js';
import { promptHidden } from './read-secret-input.js';

/** Loads the config that `--config` / `COFRE_CONFIG` / `./cofre.yaml` names, relative to the working directory. */
export async function loadCliConfig(io: CliIo, global: GlobalOptions): Promise<CofreConfig> {
  return loadConfig(resolve(io.cwd, resolveConfigPath(global.config)));
}

/**
 * Opens the backend a `secret` command works on: `--backend`, else the first embedded backend. The caller closes
 * it.
 */
export async function openCliBackend(
  io: CliIo,
  global: GlobalOptions,
  backendName: string | undefined,
): Promise<SecretBackend> {
  const config = await loadCliConfig(io, global);
  const names = Object.keys(config.backends);
  const name = backendName ?? names.find((n) => config.backends[n]?.type === 'embedded');
  const backendConfig = name === undefined ? undefined : config.backends[name];
  if (name === undefined || backendConfig === undefined) {
    throw new CofreError(
      'COFRE_USAGE',
      backendName === undefined
        ? 'no embedded backend in the config; name one with --backend'
        : `no backend "${backendName}" in the config (configured: ${names.join(', ') || 'none'})`,
    );
  }
  return openBackend(name, backendConfig, { promptPassphrase: (question) => promptHidden(io, question) });
}

/** Runs `work` with an open backend and always closes it. */
export async function withCliBackend<T>(
  io: CliIo,
  global: GlobalOptions,
  backendName: string | undefined,
  work: (backend: SecretBackend) => Promise<T>,
): Promise<T> {
  const backend = await openCliBackend(io, global, backendName);
  try {
    return await work(backend);
  } finally {
    await backend.close();
  }
}
