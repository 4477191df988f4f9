import { resolve } from 'node:path';

import type { CofreConfig } from '../../config/config-schema.js';
import { loadConfig } from '../../config/load-config.js';
import { resolveConfigPath } from '../../config/resolve-config-path.js';
import { CofreError, isCofreError } from '../../errors.js';
import { cachePolicyOf, openBackend } from '../../secrets/open-backend.js';
import type { SecretBackend } from '../../secrets/secret-backend.js';
import { type CachePolicy, SecretResolver } from '../../secrets/secret-resolver.js';
import { type CliIo, println } from './cli-io.js';
import type { GlobalOptions } from './command-spec.js';
import { auditDoctorCheck } from './doctor-audit.js';
import { backendsDoctorCheck } from './doctor-backends.js';
import type { DoctorCheck, DoctorFinding } from './doctor-checks.js';
import { configDoctorCheck } from './doctor-config.js';
import { consoleDoctorCheck } from './doctor-console.js';
import { credentialAgeDoctorCheck } from './doctor-credential-age.js';
import { hardeningDoctorCheck } from './doctor-hardening.js';
import { identityDoctorCheck } from './doctor-identity.js';
import { referencesDoctorCheck } from './doctor-references.js';
import { doctorJson, doctorText, ordered } from './doctor-report.js';
import { stateDoctorCheck } from './doctor-state.js';
import { UnopenedBackend } from './doctor-unopened-backend.js';
import { venueDoctorChecks } from './doctor-venues.js';
import { walletDoctorCheck } from './doctor-wallets.js';
import { promptHidden } from './read-secret-input.js';

/** Options of `cofre doctor`. */
export interface DoctorOptions {
  /** Print the report as one JSON object (`findings`, `summary`) for monitoring. */
  readonly json?: boolean;
  /** The instant ages and expiries are measured at; tests pass one far ahead instead of faking backend dates. */
  readonly now?: Date;
}

/**
 * Every check, in the order they run. Sequential on purpose: the references check resolves dynamic credentials,
 * whose leases the backends check then reports, and the others share the resolver's cache.
 */
export const DOCTOR_CHECKS: readonly DoctorCheck[] = [
  configDoctorCheck,
  referencesDoctorCheck,
  backendsDoctorCheck,
  venueDoctorChecks,
  // Issue 19: wallet keys (KMS spec, embedded key) and their chains' RPC chain ids.
  walletDoctorCheck,
  credentialAgeDoctorCheck,
  auditDoctorCheck,
  stateDoctorCheck,
  identityDoctorCheck,
  consoleDoctorCheck,
  hardeningDoctorCheck,
];

/**
 * `cofre doctor [--json]`: the one command to run before going live. Checks the config, every secret reference
 * (values never printed), every backend with its auth and token/lease expiry, key scopes and clocks of the venues,
 * credential age against `rotation.maxAge`, the audit log, the state file and the process's hardening; prints the
 * findings grouped by check (or as JSON) and exits 1 (`COFRE_PREFLIGHT_FAILED`, listing each failure) when any
 * fails. Warnings alone exit 0. A config that does not load is the one failure reported, as nothing else can be
 * checked without it.
 *
 * SECURITY: resolved values are zeroed at once; no finding, line or error holds a value.
 */
export async function doctor(io: CliIo, global: GlobalOptions, options: DoctorOptions = {}): Promise<void> {
  const configPath = resolve(io.cwd, resolveConfigPath(global.config));
  const now = options.now ?? new Date();
  const findings = await runDoctor(io, configPath, now);
  if (options.json === true)
    println(io.stdout, JSON.stringify(doctorJson(configPath, now, findings), null, 2));
  else for (const line of doctorText(configPath, findings)) println(io.stdout, line);
  const failed = ordered(findings).filter((f) => f.status === 'fail');
  if (failed.length > 0) {
    const lines = failed.map((f) => `  ${f.subject}: ${f.message}`);
    throw new CofreError(
      'COFRE_PREFLIGHT_FAILED',
      `${failed.length} problem${failed.length === 1 ? '' : 's'} found:\n${lines.join('\n')}\nFix them and run \`cofre doctor\` again.`,
      { details: { problems: failed.length } },
    );
  }
}

async function runDoctor(io: CliIo, configPath: string, now: Date): Promise<DoctorFinding[]> {
  let config: CofreConfig;
  try {
    config = await loadConfig(configPath);
  } catch (err) {
    if (!isCofreError(err)) throw err;
    return [{ check: 'config', subject: configPath, status: 'fail', message: `${err.code}: ${err.message}` }];
  }
  const resolver = await openDoctorResolver(config, io);
  try {
    const ctx = { config, configPath, resolver, now };
    const findings: DoctorFinding[] = [];
    for (const check of DOCTOR_CHECKS) findings.push(...(await check(ctx)));
    return findings;
  } finally {
    await resolver.close();
  }
}

/**
 * The resolver over every configured backend, as `cofre serve` opens it, except that a backend that cannot be
 * opened is replaced by an {@link UnopenedBackend} carrying the reason, so that every other check still runs.
 */
async function openDoctorResolver(config: CofreConfig, io: CliIo): Promise<SecretResolver> {
  const backends: SecretBackend[] = [];
  const cache: Record<string, CachePolicy> = {};
  for (const [name, backendConfig] of Object.entries(config.backends)) {
    cache[name] = cachePolicyOf(backendConfig.cache);
    try {
      backends.push(await openBackend(name, backendConfig, { promptPassphrase: (q) => promptHidden(io, q) }));
    } catch (err) {
      if (!isCofreError(err)) throw err;
      backends.push(new UnopenedBackend(name, backendConfig.type, err));
    }
  }
  return new SecretResolver({ backends, cache });
}
