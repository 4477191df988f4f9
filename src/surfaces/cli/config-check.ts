import { resolve } from 'node:path';

import { resolveConfigPath } from '../../config/resolve-config-path.js';
import { type CliIo, println } from './cli-io.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';

/** `cofre config check`: loads the config; every problem is reported at once by the loader's error. */
export async function configCheck(io: CliIo, global: GlobalOptions): Promise<void> {
  const config = await loadCliConfig(io, global);
  const path = resolve(io.cwd, resolveConfigPath(global.config));
  const count = (o: object): number => Object.keys(o).length;
  println(
    io.stdout,
    `${path}: ok (${count(config.backends)} backends, ${count(config.accounts)} accounts, ${count(config.policies)} policies)`,
  );
}
