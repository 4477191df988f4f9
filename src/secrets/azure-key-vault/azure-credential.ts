import { constants } from 'node:fs';
import { access } from 'node:fs/promises';

import type * as IdentityModule from '@azure/identity';
import type { TokenCredential } from '@azure/identity';

import type { AzureKeyVaultBackendConfig } from '../../config/backend-config.js';
import type { DeepReadonly } from '../../config/deep-freeze.js';
import { CofreError } from '../../errors.js';
import { type BackendLog, silentLog } from '../backend-log.js';
import { readAzureCredentialFile } from './azure-credential-file.js';
import { checkCertificatePem } from './certificate-pem.js';

type Config = DeepReadonly<AzureKeyVaultBackendConfig>;
type CredentialConfig<T extends Config['credential']['type']> = Extract<Config['credential'], { type: T }>;
type Identity = typeof IdentityModule;

/** What building a credential may need besides the backend's config block. */
export interface AzureCredentialOptions {
  /** Told about environment variables that matter to the credential (never their values). */
  readonly log?: BackendLog;
}

/**
 * The Entra ID credential backend `name`'s config names (issue 13). Lazily imports `@azure/identity`, so only
 * processes with an Azure backend load it. Files the config names are read and checked here, at open, so a wrong
 * path or mode fails `cofre serve` at start rather than at the first trade.
 *
 * Every credential gets the config's `maxRetries` for its token requests (the backend also bounds each `getToken`:
 * see {@link tokenRequestBudgetMs}); `default` also bounds each developer-tool
 * process it may start (Azure CLI, Developer CLI, PowerShell) by `requestTimeout`, so a hung tool cannot hang cofre.
 *
 * SECURITY: a service principal's secret comes only from `clientSecretFile`, read here once; it lives on only
 * inside the SDK's credential object. `AZURE_CLIENT_SECRET` (or any other secret) in cofre's environment is never
 * read for `service-principal`, `managed-identity` or `workload-identity`; only `default` uses it, because
 * `DefaultAzureCredential`'s first link is the environment, and cofre warns when it is set.
 *
 * Throws `COFRE_CONFIG_INVALID` for a credential file that is missing, empty or malformed, a workload identity
 * missing its tenant, client or token file, or an environment the SDK refuses to build the credential in;
 * `COFRE_KEY_FILE_INSECURE` for a credential file others can read. Sign-in failures come later, from the calls
 * that need a token: map them with `mapAzureCredentialError`.
 */
export async function azureCredential(
  name: string,
  config: Config,
  options: AzureCredentialOptions = {},
): Promise<TokenCredential> {
  const identity = await import('@azure/identity');
  warnAboutEnvironmentSecret(name, config.credential.type, options.log ?? silentLog);
  try {
    return await build(identity, name, config);
  } catch (err) {
    if (err instanceof CofreError) throw err;
    // The SDK refuses some environments while constructing (a user-assigned id where Cloud Shell or Service Fabric
    // provides the identity, an unknown AZURE_TOKEN_CREDENTIALS). Its text quotes the environment: not copied.
    throw new CofreError(
      'COFRE_CONFIG_INVALID',
      `backend "${name}": the ${config.credential.type} credential cannot be used in this environment (${err instanceof Error ? err.name : 'error'}); check the credential block and the AZURE_*, IDENTITY_* and MSI_* variables cofre runs with${config.credential.type === 'default' ? ' (AZURE_TOKEN_CREDENTIALS, if set, must be prod, dev or a credential name)' : ''}`,
    );
  }
}

function build(identity: Identity, name: string, config: Config): TokenCredential | Promise<TokenCredential> {
  const credential = config.credential;
  switch (credential.type) {
    case 'default':
      return defaultCredential(identity, config, credential);
    case 'managed-identity':
      // Not `authority`: the platform's token endpoint (IMDS, App Service) is the authority here.
      return new identity.ManagedIdentityCredential({
        ...(credential.clientId === undefined ? {} : { clientId: credential.clientId }),
        retryOptions: { maxRetries: config.maxRetries },
      });
    case 'workload-identity':
      return workloadIdentityCredential(identity, name, config, credential);
    case 'service-principal':
      return servicePrincipalCredential(identity, name, config, credential);
  }
}

/** Options every Entra (authority) credential shares. */
function authorityOptions(config: Config): {
  authorityHost?: string;
  disableInstanceDiscovery: boolean;
  retryOptions: { maxRetries: number };
} {
  return {
    ...(config.authorityHost === undefined ? {} : { authorityHost: config.authorityHost }),
    disableInstanceDiscovery: !config.instanceDiscovery,
    retryOptions: { maxRetries: config.maxRetries },
  };
}

function defaultCredential(
  identity: Identity,
  config: Config,
  credential: CredentialConfig<'default'>,
): TokenCredential {
  return new identity.DefaultAzureCredential({
    ...authorityOptions(config),
    // The SDK leaves developer-tool processes unbounded: a CLI waiting on a prompt would hang every secret read.
    processTimeoutInMs: config.requestTimeout,
    ...(credential.managedIdentityClientId === undefined
      ? {}
      : { managedIdentityClientId: credential.managedIdentityClientId }),
    ...(credential.tenantId === undefined ? {} : { tenantId: credential.tenantId }),
  });
}

async function workloadIdentityCredential(
  identity: Identity,
  name: string,
  config: Config,
  credential: CredentialConfig<'workload-identity'>,
): Promise<TokenCredential> {
  // Field first, then the variables the AKS workload-identity webhook injects into the pod.
  const tenantId = credential.tenantId ?? nonEmpty(process.env['AZURE_TENANT_ID']);
  const clientId = credential.clientId ?? nonEmpty(process.env['AZURE_CLIENT_ID']);
  const tokenFile = credential.tokenFile ?? nonEmpty(process.env['AZURE_FEDERATED_TOKEN_FILE']);
  const missing = [
    tenantId === undefined ? 'tenantId (or AZURE_TENANT_ID)' : undefined,
    clientId === undefined ? 'clientId (or AZURE_CLIENT_ID)' : undefined,
    tokenFile === undefined ? 'tokenFile (or AZURE_FEDERATED_TOKEN_FILE)' : undefined,
  ].filter((m) => m !== undefined);
  if (tenantId === undefined || clientId === undefined || tokenFile === undefined) {
    throw new CofreError(
      'COFRE_CONFIG_INVALID',
      `backend "${name}": workload-identity needs ${missing.join(', ')}; set them in credential, or run where the AKS workload-identity webhook sets the variables (pod label azure.workload.identity/use: "true")`,
    );
  }
  // The SDK reads the file at each sign-in (kubelet rotates it); checked here so a wrong path fails at start.
  await access(tokenFile, constants.R_OK).catch((err: unknown) => {
    throw new CofreError(
      'COFRE_CONFIG_INVALID',
      `backend "${name}": workload-identity token file ${tokenFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); check the projected service-account token volume`,
      { details: { path: tokenFile } },
    );
  });
  return new identity.WorkloadIdentityCredential({
    ...authorityOptions(config),
    tenantId,
    clientId,
    tokenFilePath: tokenFile,
  });
}

async function servicePrincipalCredential(
  identity: Identity,
  name: string,
  config: Config,
  credential: CredentialConfig<'service-principal'>,
): Promise<TokenCredential> {
  const { tenantId, clientId } = credential;
  if (credential.certificateFile !== undefined) {
    const bytes = await readAzureCredentialFile(name, 'certificateFile', credential.certificateFile);
    const pem = bytes.toString('utf8');
    bytes.fill(0);
    checkCertificatePem(name, credential.certificateFile, pem);
    return new identity.ClientCertificateCredential(
      tenantId,
      clientId,
      { certificate: pem },
      authorityOptions(config),
    );
  }
  // The schema guarantees exactly one of the two files.
  const path = credential.clientSecretFile ?? '';
  const bytes = await readAzureCredentialFile(name, 'clientSecretFile', path);
  // The first line, as the schema documents; a trailing newline or CRLF from an editor or `echo` is not part of it.
  const secret = (bytes.toString('utf8').split(/\r?\n/, 1)[0] ?? '').trim();
  bytes.fill(0);
  if (secret === '') {
    throw new CofreError(
      'COFRE_CONFIG_INVALID',
      `backend "${name}": credential.clientSecretFile ${path} has an empty first line; the client secret goes on the first line`,
      { details: { path } },
    );
  }
  return new identity.ClientSecretCredential(tenantId, clientId, secret, authorityOptions(config));
}

function warnAboutEnvironmentSecret(name: string, kind: Config['credential']['type'], log: BackendLog): void {
  if (nonEmpty(process.env['AZURE_CLIENT_SECRET']) === undefined) return;
  // SECURITY: only the variable's name is logged, never its value.
  if (kind === 'default') {
    log(
      'warn',
      `backend "${name}": AZURE_CLIENT_SECRET is set, so DefaultAzureCredential signs in with the service principal secret from cofre's environment; put the secret in a mode-600 file and use credential type service-principal with clientSecretFile`,
      { backend: name, variable: 'AZURE_CLIENT_SECRET' },
    );
  } else {
    log(
      'warn',
      `backend "${name}": AZURE_CLIENT_SECRET is set in cofre's environment and ignored (credential type ${kind}); remove it, as every process that can read cofre's environment can read it`,
      { backend: name, variable: 'AZURE_CLIENT_SECRET' },
    );
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

// DefaultAzureCredential may start the Azure CLI, the Developer CLI and PowerShell one after the other, each bounded
// by requestTimeout.
const DEVELOPER_TOOLS = 3;

/**
 * How long one `getToken` may take in all: `requestTimeout` for each of the SDK's tries, and for `default` one more
 * for each developer tool its chain may start. Used with `withTokenTimeout` by the backend.
 */
export function tokenRequestBudgetMs(config: Config): number {
  const tries = config.maxRetries + 1 + (config.credential.type === 'default' ? DEVELOPER_TOOLS : 0);
  return config.requestTimeout * tries;
}
