import type { AwsSecretsManagerBackendConfig, EmbeddedBackendConfig } from '../../config/backend-config.js';
import type { DeepReadonly } from '../../config/deep-freeze.js';
import { isCofreError } from '../../errors.js';
import type { SecretBackend } from '../../secrets/secret-backend.js';
import type { DoctorCheck, DoctorFinding } from './doctor-checks.js';
import { UnopenedBackend } from './doctor-unopened-backend.js';
import { vaultDoctorFindings } from './doctor-vault.js';
import { type BackendCheck, runPreflight } from './preflight.js';

/** What the preflight says of one backend, as a fragment of a finding's line. */
interface Reachability {
  readonly reachable: boolean;
  readonly line: string;
}

/**
 * `cofre doctor`'s backends check: each configured backend opened and answered (through the references into it,
 * as the preflight resolves them; resolver-cached, so nothing is read twice), with how it authenticates —
 * embedded: where its key comes from; Vault/OpenBao: auth method, token TTL and expiry, and each dynamic lease
 * with its end; AWS: which provider of the credential chain supplied credentials, and their expiry.
 */
export const backendsDoctorCheck: DoctorCheck = async (ctx) => {
  const report = await runPreflight(ctx.config, ctx.resolver);
  const tallies = new Map(report.backends.map((b) => [b.name, b]));
  const findings: DoctorFinding[] = [];
  for (const [name, config] of Object.entries(ctx.config.backends)) {
    const backend = ctx.resolver.backend(name);
    if (backend instanceof UnopenedBackend) {
      findings.push({
        check: 'backends',
        subject: name,
        status: 'fail',
        message: `${config.type}: could not be opened: ${backend.openError.code}: ${backend.openError.message}`,
        details: { type: config.type, reachable: false, code: backend.openError.code },
      });
      continue;
    }
    const reachability = reachabilityOf(tallies.get(name));
    switch (config.type) {
      case 'embedded':
        findings.push(embeddedFinding(name, config, reachability));
        break;
      case 'vault':
        findings.push(...(await vaultDoctorFindings(name, config, backend, reachability, ctx.now)));
        break;
      case 'aws-secrets-manager':
        findings.push(await awsFinding(name, config, backend, reachability));
        break;
      case 'azure-key-vault':
        findings.push({
          check: 'backends',
          subject: name,
          status: reachability.reachable ? 'ok' : 'fail',
          message: `azure-key-vault ${config.vaultUrl}, credential ${config.credential.type}; ${reachability.line}`,
          details: {
            type: 'azure-key-vault',
            reachable: reachability.reachable,
            credential: config.credential.type,
          },
        });
        break;
    }
  }
  return findings;
};

function reachabilityOf(tally: BackendCheck | undefined): Reachability {
  if (tally === undefined || tally.references === 0)
    return { reachable: true, line: 'no account reference into it' };
  return {
    reachable: tally.reachable,
    line: `${tally.reachable ? 'reachable' : 'NOT reachable (unavailable or access refused)'}, ${tally.resolved}/${tally.references} account references resolved`,
  };
}

function embeddedFinding(
  name: string,
  config: DeepReadonly<EmbeddedBackendConfig>,
  reachability: Reachability,
): DoctorFinding {
  const keySource =
    config.keyFile !== undefined
      ? { kind: 'key-file', text: `key file ${config.keyFile}` }
      : config.passphraseFile !== undefined
        ? { kind: 'passphrase-file', text: `passphrase file ${config.passphraseFile}` }
        : { kind: 'passphrase-prompt', text: 'passphrase typed at start' };
  return {
    check: 'backends',
    subject: name,
    status: reachability.reachable ? 'ok' : 'fail',
    message: `embedded store ${config.path}, opened with its ${keySource.text}; ${reachability.line}`,
    details: { type: 'embedded', reachable: reachability.reachable, keySource: keySource.kind },
  };
}

async function awsFinding(
  name: string,
  config: DeepReadonly<AwsSecretsManagerBackendConfig>,
  backend: SecretBackend,
  reachability: Reachability,
): Promise<DoctorFinding> {
  // Loaded lazily, like the backend itself (already in memory, since this backend is open).
  const { AwsSecretsManagerBackend } =
    await import('../../secrets/aws-secrets-manager/aws-secrets-manager-backend.js');
  const where = `AWS Secrets Manager${config.region === undefined ? '' : ` in ${config.region}`}${config.endpoint === undefined ? '' : ` at ${config.endpoint}`}`;
  if (!(backend instanceof AwsSecretsManagerBackend)) {
    return { check: 'backends', subject: name, status: 'ok', message: `${where}; ${reachability.line}` };
  }
  try {
    const credentials = await backend.credentialSource();
    const expiry = credentials.expiresAt?.toISOString() ?? null;
    return {
      check: 'backends',
      subject: name,
      status: reachability.reachable ? 'ok' : 'fail',
      message: `${where}: credentials from ${credentials.source}${config.profile === undefined ? '' : ` (profile ${config.profile})`}, ${expiry === null ? 'no expiry (long-lived keys: prefer a role)' : `expiring ${expiry} (refreshed by the SDK)`}; ${reachability.line}`,
      details: {
        type: 'aws-secrets-manager',
        reachable: reachability.reachable,
        credentialSource: credentials.source,
        credentialsExpireAt: expiry,
      },
    };
  } catch (err) {
    if (!isCofreError(err)) throw err;
    return {
      check: 'backends',
      subject: name,
      status: 'fail',
      message: `${where}: ${err.code}: ${err.message}`,
      details: { type: 'aws-secrets-manager', reachable: false, code: err.code },
    };
  }
}
