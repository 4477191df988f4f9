import type { CofreConfig } from '../../config/config-schema.js';
import { openResolver } from '../../secrets/open-backend.js';
import { openStateStore } from '../../state/open-state-store.js';
import type { StateStore } from '../../state/state-store.js';
import type { CliIo } from './cli-io.js';
import { promptHidden } from './read-secret-input.js';

/** The state store a CLI command works on, and how to close it (and the resolver a PostgreSQL one needed). */
export interface CliState {
  readonly state: StateStore;
  readonly close: () => Promise<void>;
}

/**
 * Opens the configured state store for a CLI command: the SQLite file as is, or the PostgreSQL database, whose
 * connection secrets are read through the config's backends (issue 16). The one place CLI commands open it.
 */
export function openCliState(io: CliIo, config: CofreConfig): Promise<CliState> {
  return openStateFor(config, (q) => promptHidden(io, q));
}

/** {@link openCliState} with the passphrase prompt given (`cofre serve`'s own prompt, or none). */
export async function openStateFor(
  config: CofreConfig,
  promptPassphrase?: (question: string) => Promise<Buffer>,
): Promise<CliState> {
  if (config.state.type === 'sqlite') {
    const state = await openStateStore(config);
    return { state, close: async () => state.close() };
  }
  const resolver = await openResolver(config, promptPassphrase === undefined ? {} : { promptPassphrase });
  try {
    const state = await openStateStore(config, { resolver });
    return {
      state,
      close: async () => {
        await state.close();
        await resolver.close();
      },
    };
  } catch (err) {
    await resolver.close();
    throw err;
  }
}
