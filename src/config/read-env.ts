/** An environment to read from; `process.env` unless a test passes its own. */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * Reads one environment variable; unset and empty both read as `undefined` (an empty `COFRE_CONFIG=` means
 * "not set", as shells make it easy to export one by accident).
 *
 * This module and the rest of `src/config/` are the only code that reads `process.env` (STYLE.md): other parts get
 * what they need from the config, or from this function at start-up, so that tests can inject an environment.
 */
export function readEnv(name: string, env: Environment = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The names of the variables set, not empty, in the environment (never their values), for `cofre doctor`'s check that no
 * secret sits in the environment, where `/proc/<pid>/environ`, crash reports and child processes can read it.
 */
export function environmentNames(env: Environment = process.env): string[] {
  return Object.keys(env).filter((name) => (env[name] ?? '') !== '');
}
