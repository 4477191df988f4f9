import type { CofreConfig } from '../../config/config-schema.js';
import type { PrivateFileExpectation } from './doctor-file-mode.js';

/**
 * Every file of the installation that must be private, with how bad a loose mode is:
 * - `fail` for what holds a key or a login secret in clear: the embedded store's key or passphrase file, Vault
 *   token, secret_id and JWT files;
 * - `warn` for what is encrypted, or what cofre restricts to 600 itself each time it opens it (the store, the
 *   state file and its WAL companions, the audit log, the AppRole role_id, which is no secret alone).
 * The Kubernetes service-account token is the kubelet's to manage and is not listed.
 */
export function privateFilesOf(config: CofreConfig): PrivateFileExpectation[] {
  const files: PrivateFileExpectation[] = [];
  for (const [name, backend] of Object.entries(config.backends)) {
    const of = `of backend "${name}"`;
    if (backend.type === 'embedded') {
      files.push({ what: `encrypted store ${of}`, path: backend.path, whenLoose: 'warn' });
      if (backend.keyFile !== undefined)
        files.push({ what: `key file ${of}`, path: backend.keyFile, whenLoose: 'fail' });
      if (backend.passphraseFile !== undefined)
        files.push({ what: `passphrase file ${of}`, path: backend.passphraseFile, whenLoose: 'fail' });
    }
    if (backend.type === 'vault') {
      const auth = backend.auth;
      if (auth.method === 'token')
        files.push({ what: `Vault token file ${of}`, path: auth.tokenFile, whenLoose: 'fail' });
      if (auth.method === 'approle') {
        files.push({ what: `AppRole role_id file ${of}`, path: auth.roleIdFile, whenLoose: 'warn' });
        if (auth.secretIdFile !== undefined)
          files.push({ what: `AppRole secret_id file ${of}`, path: auth.secretIdFile, whenLoose: 'fail' });
        if (auth.wrappedSecretIdFile !== undefined)
          files.push({
            what: `wrapped secret_id file ${of}`,
            path: auth.wrappedSecretIdFile,
            whenLoose: 'fail',
          });
      }
      if (auth.method === 'jwt')
        files.push({ what: `JWT file ${of}`, path: auth.jwtFile, whenLoose: 'fail' });
    }
  }
  // Issue 18: the console's TLS key is a key in clear (cofre restricts it when it starts, but it was exposed).
  const consoleTls = config.server.console?.tls;
  if (consoleTls !== undefined)
    files.push({ what: "the console's TLS key", path: consoleTls.keyFile, whenLoose: 'fail' });
  if (config.state.type === 'sqlite') {
    const state = config.state.path;
    files.push({ what: 'state file', path: state, whenLoose: 'warn' });
    files.push({ what: 'state file WAL', path: `${state}-wal`, whenLoose: 'warn' });
    files.push({ what: 'state file shared memory', path: `${state}-shm`, whenLoose: 'warn' });
    // With PostgreSQL state the audit log is kept in the database (issue 16).
    files.push({ what: 'audit log', path: config.audit.path, whenLoose: 'warn' });
  }
  return files;
}
