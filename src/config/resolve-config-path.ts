import { type Environment, readEnv } from './read-env.js';

/** The config file used when neither `--config` nor `COFRE_CONFIG` names one. */
export const DEFAULT_CONFIG_PATH = './cofre.yaml';

/** Environment variable naming the config file. */
export const CONFIG_PATH_ENV = 'COFRE_CONFIG';

/**
 * Which config file to load: the `--config` flag, else `COFRE_CONFIG`, else `./cofre.yaml`. Returns the path as
 * given (relative paths stay relative, so messages show what the user typed); {@link loadConfig} resolves it.
 * An empty flag or variable counts as absent.
 */
export function resolveConfigPath(flag?: string, env: Environment = process.env): string {
  if (flag !== undefined && flag !== '') return flag;
  return readEnv(CONFIG_PATH_ENV, env) ?? DEFAULT_CONFIG_PATH;
}
