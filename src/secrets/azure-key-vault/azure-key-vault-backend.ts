import type { AzureKeyVaultBackendConfig } from '../../config/backend-config.js';
import type { DeepReadonly } from '../../config/deep-freeze.js';
import { CofreError } from '../../errors.js';
import type { BackendLog } from '../backend-log.js';
import type { SecretBackend } from '../secret-backend.js';

/** What opening the backend may need besides its config block. */
export interface AzureKeyVaultOpenOptions {
  readonly log?: BackendLog;
}

/**
 * Azure Key Vault through `@azure/keyvault-secrets` and `@azure/identity` (issue 13). PLACEHOLDER: the contract
 * other code is written against while the backend is built.
 */
export const AzureKeyVaultBackend = {
  // eslint-disable-next-line @typescript-eslint/require-await
  async open(
    name: string,
    _config: DeepReadonly<AzureKeyVaultBackendConfig>,
    _options: AzureKeyVaultOpenOptions = {},
  ): Promise<SecretBackend> {
    throw new CofreError('COFRE_BACKEND_UNSUPPORTED', `backend "${name}": azure-key-vault is not built yet`);
  },
};
