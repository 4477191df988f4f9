import { readFile } from 'node:fs/promises';

import type { TokenCredential } from '@azure/identity';

import type { AzureKeyVaultBackendConfig } from '../../config/backend-config.js';
import type { DeepReadonly } from '../../config/deep-freeze.js';
import { CofreError } from '../../errors.js';

/**
 * The Entra ID credential the config names (issue 13). Lazily imports `@azure/identity`, so only processes with an
 * Azure backend load it. A service principal's secret is read from its file here, once; it lives on only inside
 * the SDK's credential object.
 */
export async function azureCredential(
  name: string,
  config: DeepReadonly<AzureKeyVaultBackendConfig>,
): Promise<TokenCredential> {
  const identity = await import('@azure/identity');
  const authority = {
    ...(config.authorityHost === undefined ? {} : { authorityHost: config.authorityHost }),
    disableInstanceDiscovery: !config.instanceDiscovery,
  };
  const credential = config.credential;
  switch (credential.type) {
    case 'default':
      return new identity.DefaultAzureCredential({
        ...authority,
        ...(credential.managedIdentityClientId === undefined
          ? {}
          : { managedIdentityClientId: credential.managedIdentityClientId }),
        ...(credential.tenantId === undefined ? {} : { tenantId: credential.tenantId }),
      });
    case 'managed-identity':
      return credential.clientId === undefined
        ? new identity.ManagedIdentityCredential()
        : new identity.ManagedIdentityCredential({ clientId: credential.clientId });
    case 'workload-identity':
      return new identity.WorkloadIdentityCredential({
        ...authority,
        ...(credential.tenantId === undefined ? {} : { tenantId: credential.tenantId }),
        ...(credential.clientId === undefined ? {} : { clientId: credential.clientId }),
        ...(credential.tokenFile === undefined ? {} : { tokenFilePath: credential.tokenFile }),
      });
    case 'service-principal': {
      if (credential.certificateFile !== undefined) {
        return new identity.ClientCertificateCredential(
          credential.tenantId,
          credential.clientId,
          { certificatePath: credential.certificateFile },
          authority,
        );
      }
      const secret = await readSecretFile(name, credential.clientSecretFile ?? '');
      return new identity.ClientSecretCredential(credential.tenantId, credential.clientId, secret, authority);
    }
  }
}

async function readSecretFile(name: string, path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CofreError(
      'COFRE_CONFIG_INVALID',
      `backend "${name}": cannot read clientSecretFile ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  const secret = text.split(/\r?\n/, 1)[0]?.trim() ?? '';
  if (secret === '') {
    throw new CofreError('COFRE_CONFIG_INVALID', `backend "${name}": clientSecretFile ${path} is empty`);
  }
  return secret;
}
