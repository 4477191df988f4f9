import { readFile } from 'node:fs/promises';
import { url as inspectorUrl } from 'node:inspector';

import { environmentNames, readEnv } from '../../config/read-env.js';
import type { DoctorCheck, DoctorFinding } from './doctor-checks.js';
import { fileModeFinding } from './doctor-file-mode.js';
import { privateFilesOf } from './doctor-private-files.js';
import { secretLookingNames } from './doctor-secret-env.js';

/** What the hardening check looks at in the process, gathered by {@link processFacts}; tests pass their own. */
export interface ProcessFacts {
  /** The text of `/proc/self/limits`, or undefined where there is none (not Linux). */
  readonly limits: string | undefined;
  readonly execArgv: readonly string[];
  readonly nodeOptions: string | undefined;
  /** `inspector.url()`: set when an inspector is listening. */
  readonly inspectorUrl: string | undefined;
  /** Names of the environment's variables; never their values. */
  readonly environmentNames: readonly string[];
}

/** The facts of this process. */
export async function processFacts(): Promise<ProcessFacts> {
  let limits: string | undefined;
  try {
    limits = await readFile('/proc/self/limits', 'utf8');
  } catch {
    limits = undefined;
  }
  return {
    limits,
    execArgv: process.execArgv,
    nodeOptions: readEnv('NODE_OPTIONS'),
    inspectorUrl: inspectorUrl(),
    environmentNames: environmentNames(),
  };
}

/**
 * `cofre doctor`'s hardening check: core dumps off (a dump of cofre holds keys in clear), no inspector (a debugger
 * reads memory), no secret-looking environment variables (readable in `/proc/<pid>/environ` and inherited by
 * children), and every private file mode 600 or stricter, with the command that fixes each.
 *
 * SECURITY: environment variables are reported by name; their values are never read here.
 */
export const hardeningDoctorCheck: DoctorCheck = async (ctx) => {
  const findings = processHardeningFindings(await processFacts());
  for (const file of privateFilesOf(ctx.config)) {
    const finding = await fileModeFinding('hardening', file);
    if (finding !== undefined) findings.push(finding);
  }
  return findings;
};

/** The process part of the hardening check, from facts (pure). */
export function processHardeningFindings(facts: ProcessFacts): DoctorFinding[] {
  return [coreDumpFinding(facts.limits), inspectorFinding(facts), environmentFinding(facts.environmentNames)];
}

function coreDumpFinding(limits: string | undefined): DoctorFinding {
  const soft = /^Max core file size\s+(\S+)/m.exec(limits ?? '')?.[1];
  const fix = 'run cofre with `ulimit -c 0` (systemd: LimitCORE=0; Docker: --ulimit core=0)';
  if (soft === undefined) {
    return {
      check: 'hardening',
      subject: 'core dumps',
      status: 'warn',
      message: `could not read the core file size limit (no /proc/self/limits); make sure it is 0: ${fix}`,
      details: { coreLimit: null },
    };
  }
  return soft === '0'
    ? {
        check: 'hardening',
        subject: 'core dumps',
        status: 'ok',
        message: 'disabled (core file size limit 0)',
        details: { coreLimit: soft },
      }
    : {
        check: 'hardening',
        subject: 'core dumps',
        status: 'warn',
        message: `enabled (core file size limit ${soft}): a crash would write cofre's memory, keys included, to disk; ${fix}`,
        details: { coreLimit: soft },
      };
}

function inspectorFinding(facts: ProcessFacts): DoctorFinding {
  const inspect = /^--inspect/;
  const reasons = [
    ...facts.execArgv
      .filter((a) => inspect.test(a))
      .map((a) => `${a.split('=')[0] ?? a} on the command line`),
    ...(facts.nodeOptions ?? '')
      .split(/\s+/)
      .filter((a) => inspect.test(a))
      .map((a) => `${a.split('=')[0] ?? a} in NODE_OPTIONS`),
    ...(facts.inspectorUrl === undefined ? [] : ['an inspector is listening']),
  ];
  if (reasons.length === 0) {
    return {
      check: 'hardening',
      subject: 'inspector',
      status: 'ok',
      message: 'no inspector (no --inspect, none listening)',
    };
  }
  return {
    check: 'hardening',
    subject: 'inspector',
    status: 'fail',
    message: `${reasons.join('; ')}: a debugger attached to cofre reads every key in its memory; remove --inspect from the command line and NODE_OPTIONS`,
    details: { inspector: true },
  };
}

function environmentFinding(names: readonly string[]): DoctorFinding {
  const found = secretLookingNames(names);
  if (found.length === 0) {
    return {
      check: 'hardening',
      subject: 'environment',
      status: 'ok',
      message: 'no variable named like a secret',
    };
  }
  return {
    check: 'hardening',
    subject: 'environment',
    status: 'warn',
    message: `${found.length} variable(s) named like a secret: ${found.join(', ')}. Any process of this user reads them (/proc/<pid>/environ) and children inherit them; keep secrets in a backend (VAULT_TOKEN: use auth.tokenFile) and unset these where cofre runs`,
    details: { names: found.join(',') },
  };
}
