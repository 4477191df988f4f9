import { vi } from 'vitest';

/**
 * Every environment variable through which `@azure/identity` (and msal-node under it) picks a credential, a token
 * endpoint or an authority. A test of a credential starts from none of them, so that what a developer's shell or a
 * CI runner happens to export can neither make a test pass nor send a real token anywhere.
 */
export const AZURE_IDENTITY_VARIABLES = [
  'AZURE_TENANT_ID',
  'AZURE_CLIENT_ID',
  'AZURE_CLIENT_SECRET',
  'AZURE_CLIENT_CERTIFICATE_PATH',
  'AZURE_CLIENT_CERTIFICATE_PASSWORD',
  'AZURE_CLIENT_SEND_CERTIFICATE_CHAIN',
  'AZURE_USERNAME',
  'AZURE_PASSWORD',
  'AZURE_FEDERATED_TOKEN_FILE',
  'AZURE_AUTHORITY_HOST',
  'AZURE_REGIONAL_AUTHORITY_NAME',
  'AZURE_ADDITIONALLY_ALLOWED_TENANTS',
  'AZURE_TOKEN_CREDENTIALS',
  'AZURE_POD_IDENTITY_AUTHORITY_HOST',
  'IDENTITY_ENDPOINT',
  'IDENTITY_HEADER',
  'IDENTITY_SERVER_THUMBPRINT',
  'IMDS_ENDPOINT',
  'MSI_ENDPOINT',
  'MSI_SECRET',
] as const;

/**
 * Clears {@link AZURE_IDENTITY_VARIABLES} and points `PATH` and the Azure CLI's config at `toolDir`, so the
 * developer tools of `DefaultAzureCredential` (az, azd, pwsh) are the ones the test put there, or none. Undone by
 * `vi.unstubAllEnvs()`.
 */
export function isolateAzureIdentity(toolDir: string): void {
  for (const name of AZURE_IDENTITY_VARIABLES) vi.stubEnv(name, undefined);
  vi.stubEnv('PATH', toolDir);
  vi.stubEnv('AZURE_CONFIG_DIR', toolDir);
  vi.stubEnv('AZD_CONFIG_DIR', toolDir);
}
