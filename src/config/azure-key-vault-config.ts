import { z } from 'zod';

import { byteSizeSchema } from './byte-size.js';
import { durationSchema } from './duration.js';

/**
 * Config of the `azure-key-vault` backend. The backend object itself is assembled in `backend-config.ts` with
 * `backendObject('azure-key-vault', …)` from {@link azureKeyVaultBackendShape}.
 *
 * SECURITY: no field holds a credential. A service principal's secret or certificate is read from a file cofre is
 * pointed at; managed and workload identity need none at all. An Azure client secret never sits in cofre's config
 * or in its environment.
 */

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
// Entra tenants are named by GUID or by a verified domain (contoso.onmicrosoft.com).
const TENANT =
  /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[A-Za-z0-9.-]{1,253})$/;

const clientIdSchema = z.string().regex(GUID, { error: 'an application (client) id: a GUID' });
const tenantIdSchema = z
  .string()
  .regex(TENANT, { error: 'a directory (tenant) id: a GUID or a domain like contoso.onmicrosoft.com' });

/** `DefaultAzureCredential`: environment, workload identity, managed identity, then developer tools. */
export const azureDefaultCredentialSchema = z
  .strictObject({
    type: z.literal('default').describe('`DefaultAzureCredential`, the Azure SDK default chain.'),
    managedIdentityClientId: clientIdSchema
      .optional()
      .describe(
        'Client id of a user-assigned managed identity for the chain to use; default system-assigned.',
      ),
    tenantId: tenantIdSchema.optional().describe('Tenant for the chain’s credentials that need one.'),
  })
  .describe(
    'The Azure SDK default chain: environment variables, workload identity, managed identity, then Azure CLI / Developer CLI / PowerShell sign-ins. Convenient on a laptop; pin a credential in production.',
  );

/** Managed identity: system-assigned, or user-assigned by client id. */
export const azureManagedIdentityCredentialSchema = z
  .strictObject({
    type: z
      .literal('managed-identity')
      .describe('The managed identity of the VM, App Service, Container App or pod.'),
    clientId: clientIdSchema
      .optional()
      .describe('Client id of a user-assigned identity. Absent: the system-assigned identity.'),
  })
  .describe(
    'Managed identity through the platform token endpoint (IMDS on VMs, `IDENTITY_ENDPOINT` on App Service).',
  );

/** Workload identity (AKS, or any federated OIDC issuer). */
export const azureWorkloadIdentityCredentialSchema = z
  .strictObject({
    type: z
      .literal('workload-identity')
      .describe('Workload identity federation: a projected token file traded for an Entra token.'),
    tenantId: tenantIdSchema.optional().describe('Default: `AZURE_TENANT_ID`, which the AKS webhook sets.'),
    clientId: clientIdSchema.optional().describe('Default: `AZURE_CLIENT_ID`, which the AKS webhook sets.'),
    tokenFile: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Federated token file. Default: `AZURE_FEDERATED_TOKEN_FILE`, which the AKS webhook sets. Relative paths resolve against the config file directory.',
      ),
  })
  .describe(
    'Workload identity federation, as on AKS: the pod’s projected service-account token is exchanged for an Entra token.',
  );

/** A service principal whose secret or certificate is in a file. */
export const azureServicePrincipalCredentialSchema = z
  .strictObject({
    type: z.literal('service-principal').describe('An app registration (service principal).'),
    tenantId: tenantIdSchema.describe('Directory (tenant) id.'),
    clientId: clientIdSchema.describe('Application (client) id.'),
    clientSecretFile: z
      .string()
      .min(1)
      .optional()
      .describe(
        'File whose first line is the client secret (mode 600). Relative paths resolve against the config file directory.',
      ),
    certificateFile: z
      .string()
      .min(1)
      .optional()
      .describe(
        'PEM file with the certificate and its private key (mode 600). Relative paths resolve against the config file directory.',
      ),
  })
  .superRefine(
    (sp, ctx) => {
      const raw = sp as { clientSecretFile?: unknown; certificateFile?: unknown };
      const set = (['clientSecretFile', 'certificateFile'] as const).filter((k) => raw[k] !== undefined);
      if (set.length === 1) return;
      ctx.addIssue({
        code: 'custom',
        message:
          set.length === 0
            ? 'no credential file; set exactly one of clientSecretFile, certificateFile'
            : 'set exactly one of clientSecretFile and certificateFile, not both',
      });
    },
    { when: () => true },
  )
  .describe(
    'A service principal. Its secret or certificate is read from a file; cofre takes neither inline nor from its environment.',
  );

export const azureCredentialSchema = z
  .discriminatedUnion('type', [
    azureDefaultCredentialSchema,
    azureManagedIdentityCredentialSchema,
    azureWorkloadIdentityCredentialSchema,
    azureServicePrincipalCredentialSchema,
  ])
  .describe(
    'How cofre signs in to Entra ID: `default`, `managed-identity`, `workload-identity` or `service-principal`.',
  );

/** Credential fields that name files; the loader resolves them against the config file directory. */
export const AZURE_CREDENTIAL_FILE_FIELDS = ['tokenFile', 'clientSecretFile', 'certificateFile'] as const;

export const azureKeyVaultBackendShape = {
  vaultUrl: z
    .url({ protocol: /^https$/, error: 'a vault URL such as https://my-vault.vault.azure.net' })
    .describe('The vault’s URL, `https://<vault-name>.vault.azure.net` (or the sovereign cloud’s domain).'),
  credential: azureCredentialSchema.prefault({ type: 'default' }),
  authorityHost: z
    .url({ protocol: /^https$/, error: 'an https URL such as https://login.microsoftonline.us' })
    .optional()
    .describe(
      'Entra ID authority for sovereign clouds (`https://login.microsoftonline.us`, `https://login.chinacloudapi.cn`). Default: the SDK’s (`AZURE_AUTHORITY_HOST`, then the public cloud).',
    ),
  instanceDiscovery: z
    .boolean()
    .default(true)
    .describe(
      'Ask Entra ID to validate the authority before signing in. Turn off only for Azure Stack or a private authority that Microsoft’s discovery does not know.',
    ),
  verifyChallengeResource: z
    .boolean()
    .default(true)
    .describe(
      'Check that the vault’s authentication challenge names a resource whose domain the vault URL belongs to, so a wrong URL cannot obtain a token meant for Key Vault. Turn off only for an emulator or a private endpoint on another domain.',
    ),
  maxRetries: z
    .int()
    .min(0)
    .max(10)
    .default(3)
    .describe(
      'Retries per call after the first attempt. The SDK retries throttling (429, honouring `Retry-After`), 5xx and network errors with exponential backoff; 401 and 403 are never retried.',
    ),
  requestTimeout: durationSchema({ min: 100 })
    .prefault('10s')
    .describe('Timeout of one HTTP attempt (retries get their own). Parsed to milliseconds.'),
  maxResponseSize: byteSizeSchema({ min: 4096, max: 64 * 1024 ** 2 })
    .prefault('1MiB')
    .describe(
      'Largest answer read from Key Vault: bytes, or a size like "1MiB". Parsed to bytes. A bigger answer is refused (`COFRE_BACKEND_RESPONSE_TOO_LARGE`); Key Vault itself caps a secret at 25 KiB.',
    ),
  purgeOnDelete: z
    .boolean()
    .default(false)
    .describe(
      'When true, `cofre secret rm` also purges the soft-deleted secret (needs the purge permission). Default: the secret stays recoverable for the vault’s retention period, and its name cannot be reused until then.',
    ),
} as const;
