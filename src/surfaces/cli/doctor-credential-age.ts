import { isCofreError } from '../../errors.js';
import type { SecretBackend, SecretMetadata } from '../../secrets/secret-backend.js';
import { parseSecretReference } from '../../secrets/secret-reference.js';
import type { DoctorCheck, DoctorContext, DoctorFinding } from './doctor-checks.js';
import { daysBetween } from './doctor-dates.js';
import { UnopenedBackend } from './doctor-unopened-backend.js';

/** One secret accounts read, and which accounts read it. */
interface AccountSecret {
  readonly backend: string;
  readonly path: string;
  readonly accounts: string[];
}

/**
 * `cofre doctor`'s credential-age check: for every secret accounts' credentials point into, the creation time of
 * its current version (the backend's `describe`) is its last rotation; older than `rotation.maxAge` warns. Backends
 * without versions (KV v1, dynamic credentials) say so instead. A secret that does not exist is the references
 * check's failure, not reported twice.
 */
export const credentialAgeDoctorCheck: DoctorCheck = async (ctx) => {
  const findings: DoctorFinding[] = [];
  for (const secret of accountSecrets(ctx)) {
    const backend = ctx.resolver.backend(secret.backend);
    if (backend instanceof UnopenedBackend) continue;
    const subject = `${secret.backend}:${secret.path}`;
    const used = secret.accounts.join(', ');
    if (!backend.capabilities.listVersions) {
      findings.push(unversioned(subject, backend, used));
      continue;
    }
    let metadata: SecretMetadata;
    try {
      metadata = await backend.describe(secret.path);
    } catch (err) {
      if (!isCofreError(err)) throw err;
      if (err.code === 'COFRE_SECRET_NOT_FOUND') continue;
      findings.push(
        err.code === 'COFRE_BACKEND_UNSUPPORTED'
          ? unversioned(subject, backend, used)
          : {
              check: 'credential-age',
              subject,
              status: 'warn',
              message: `could not be described (${err.code}: ${err.message}); its age is unknown`,
              details: { accounts: used, code: err.code },
            },
      );
      continue;
    }
    findings.push(ageFinding(ctx, subject, metadata, used));
  }
  return findings;
};

function accountSecrets(ctx: DoctorContext): AccountSecret[] {
  const byKey = new Map<string, AccountSecret>();
  for (const [id, account] of Object.entries(ctx.config.accounts)) {
    for (const reference of Object.values(account.credentials)) {
      if (typeof reference !== 'string') continue;
      const ref = parseSecretReference(reference);
      const key = `${ref.backend}:${ref.path}`;
      const entry = byKey.get(key) ?? { backend: ref.backend, path: ref.path, accounts: [] };
      if (!entry.accounts.includes(id)) entry.accounts.push(id);
      byKey.set(key, entry);
    }
  }
  return [...byKey.values()];
}

function ageFinding(
  ctx: DoctorContext,
  subject: string,
  metadata: SecretMetadata,
  used: string,
): DoctorFinding {
  const live = metadata.versions.filter((v) => v.deleted !== true);
  const currentId = metadata.stages.current;
  const current = live.find((v) => v.version === currentId) ?? live.at(-1);
  if (current === undefined) {
    return {
      check: 'credential-age',
      subject,
      status: 'warn',
      message: 'no readable version; its age is unknown',
      details: { accounts: used },
    };
  }
  const ageDays = daysBetween(current.createdAt, ctx.now);
  const maxAgeDays = Math.floor(ctx.config.rotation.maxAge / 86_400_000);
  const old = ctx.now.getTime() - current.createdAt.getTime() > ctx.config.rotation.maxAge;
  const pending = metadata.stages.pending;
  const accounts = used.split(', ');
  return {
    check: 'credential-age',
    subject,
    status: old ? 'warn' : 'ok',
    message: `current version ${current.version} created ${current.createdAt.toISOString()}: ${ageDays} days old (last rotation)${old ? `, past rotation.maxAge (${maxAgeDays} days): rotate it (${accounts.map((a) => `\`cofre rotate ${a}\``).join(', ')})` : ''}${pending === undefined ? '' : `; version ${pending} is pending (a rotation in progress)`}`,
    details: {
      accounts: used,
      version: current.version,
      createdAt: current.createdAt.toISOString(),
      ageDays,
      maxAgeDays,
      pendingVersion: pending ?? null,
    },
  };
}

function unversioned(subject: string, backend: SecretBackend, used: string): DoctorFinding {
  return {
    check: 'credential-age',
    subject,
    status: 'ok',
    message: `backend "${backend.name}" (${backend.type}) keeps no versions for it (KV v1, or dynamic credentials renewed by lease): its age and last rotation are unknown`,
    details: { accounts: used, versions: false },
  };
}
