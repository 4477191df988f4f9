import type { CofreConfig } from '../../config/config-schema.js';
import type { SecretResolver } from '../../secrets/secret-resolver.js';

/**
 * Issue 12, the contract of `cofre doctor`'s checks: each check looks at one side of the installation (config,
 * secret references, backends, accounts' key scope, credential age, audit log, state store, clocks, process
 * hardening) and reports findings; `cofre doctor` prints them grouped by check (or `--json`) and exits 1 when any
 * finding is `fail`.
 *
 * SECURITY: a finding never holds a secret value; references, versions, dates and error codes only.
 */
export type DoctorStatus = 'ok' | 'warn' | 'fail';

/** One thing a check found. */
export interface DoctorFinding {
  /** The check that found it: `config`, `references`, `backends`, `key-scope`, `credential-age`, `audit`, `state`, `clock`, `console`, `hardening`. */
  readonly check: string;
  /** What it is about: a config path, a backend or account name, a file. */
  readonly subject: string;
  readonly status: DoctorStatus;
  /** One line for a person. */
  readonly message: string;
  /** Machine-readable facts for `--json` (expiry, age in days, skew in ms…). */
  readonly details?: Readonly<Record<string, string | number | boolean | null>>;
}

/** What every check is given. The resolver is opened on the config's backends and closed by `cofre doctor`. */
export interface DoctorContext {
  readonly config: CofreConfig;
  /** Absolute path of the config file. */
  readonly configPath: string;
  readonly resolver: SecretResolver;
  readonly now: Date;
}

/** One check; it reports problems as findings and throws only on a bug. */
export type DoctorCheck = (ctx: DoctorContext) => Promise<readonly DoctorFinding[]>;
