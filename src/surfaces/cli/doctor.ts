import type { CliIo } from './cli-io.js';
import type { GlobalOptions } from './command-spec.js';
import { configCheck } from './config-check.js';

/**
 * `cofre doctor`: checks that the installation can serve — today the config loads, every credential reference
 * resolves (values never printed), every backend answers and every venue is a ccxt exchange id; the same checks
 * `cofre serve` runs before it listens. Exits 1 listing every problem.
 */
export async function doctor(io: CliIo, global: GlobalOptions): Promise<void> {
  await configCheck(io, global, { resolve: true });
}
