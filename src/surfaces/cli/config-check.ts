import { resolve } from 'node:path';

import { resolveConfigPath } from '../../config/resolve-config-path.js';
import { openResolver } from '../../secrets/open-backend.js';
import { type CliIo, println } from './cli-io.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import { describeBackends, preflightError, runPreflight } from './preflight.js';
import { promptHidden } from './read-secret-input.js';

/**
 * `cofre config check [--resolve]`: loads the config; every problem is reported at once by the loader's error. With
 * `--resolve` it also resolves every credential reference (values are never printed) and checks every venue id
 * against ccxt, so a missing secret or a misspelt venue fails here rather than at an agent's first request.
 */
export async function configCheck(
  io: CliIo,
  global: GlobalOptions,
  options: { resolve?: boolean } = {},
): Promise<void> {
  const config = await loadCliConfig(io, global);
  const path = resolve(io.cwd, resolveConfigPath(global.config));
  const count = (o: object): number => Object.keys(o).length;
  const summary = `${count(config.backends)} backends, ${count(config.accounts)} accounts, ${count(config.policies)} policies`;
  if (options.resolve !== true) {
    println(io.stdout, `${path}: ok (${summary})`);
    return;
  }
  const resolver = await openResolver(config, { promptPassphrase: (q) => promptHidden(io, q) });
  try {
    const report = await runPreflight(config, resolver);
    for (const line of describeBackends(report)) println(io.stderr, `  backend ${line}`);
    if (report.problems.length > 0) throw preflightError(report, `Checked ${path}.`);
    println(io.stdout, `${path}: ok (${summary}; every reference resolves, every venue is known to ccxt)`);
  } finally {
    await resolver.close();
  }
}
