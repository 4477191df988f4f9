import type { TokenCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';

import type { KeyVaultStandIn, StandInRequest } from '../../../../test/key-vault-standin/index.js';
import { azureKeyVaultBackendSchema } from '../../../config/backend-config.js';
import { azureCredential } from '../azure-credential.js';

/**
 * The `azure-key-vault` config a credential test uses against the stand-in: its vault and Entra authority,
 * instance discovery off (the stand-in is not a Microsoft cloud) and challenge-resource verification off (the
 * vault is `https://localhost`, which cannot be a subdomain of the challenge's resource).
 */
export function standInConfig(
  standIn: KeyVaultStandIn,
  credential: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return azureKeyVaultBackendSchema.parse({
    type: 'azure-key-vault',
    vaultUrl: standIn.vaultUrl,
    authorityHost: standIn.authorityHost,
    instanceDiscovery: false,
    verifyChallengeResource: false,
    credential,
    ...extra,
  });
}

/** A credential built by cofre's `azureCredential`, recording the access tokens the SDK obtained through it. */
export interface RecordingCredential extends TokenCredential {
  /** Each token handed to the SDK, in order; a repeat is a token the SDK's cache served again. */
  readonly tokens: string[];
}

/** `azureCredential('azure', config)`, wrapped to record the tokens it hands out. */
export async function recordingCredential(
  config: ReturnType<typeof standInConfig>,
  log?: Parameters<typeof azureCredential>[2],
): Promise<RecordingCredential> {
  const inner = await azureCredential('azure', config, log);
  const tokens: string[] = [];
  return {
    tokens,
    async getToken(scopes, options) {
      const token = await inner.getToken(scopes, options);
      if (token !== null) tokens.push(token.token);
      return token;
    },
  };
}

/** The official SDK's client on the stand-in, as the backend builds it: the config's retries and verification. */
export function secretClient(
  standIn: KeyVaultStandIn,
  credential: TokenCredential,
  config: ReturnType<typeof standInConfig>,
): SecretClient {
  return new SecretClient(standIn.vaultUrl, credential, {
    disableChallengeResourceVerification: !config.verifyChallengeResource,
    retryOptions: { maxRetries: config.maxRetries },
  });
}

/** Reads `name` through the SDK with cofre's credential for `credential`; returns the value. */
export async function readWith(
  standIn: KeyVaultStandIn,
  credential: Record<string, unknown>,
  name: string,
): Promise<string | undefined> {
  const config = standInConfig(standIn, credential);
  const client = secretClient(standIn, await azureCredential('azure', config), config);
  return (await client.getSecret(name)).value;
}

/** What an SDK call rejected with. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { statusCode?: number }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { statusCode?: number };
  }
  throw new Error('expected the call to fail');
}

/** Data-plane requests that carried a valid token of `clientId`. */
export function vaultRequestsOf(standIn: KeyVaultStandIn, clientId: string): readonly StandInRequest[] {
  return standIn.requests.filter((r) => r.clientId === clientId);
}

/** Managed-identity token requests for `clientId`, as `<endpoint> <status>`. */
export function tokenRequestsOf(standIn: KeyVaultStandIn, clientId: string): string[] {
  return standIn.tokenRequests.filter((r) => r.clientId === clientId).map((r) => `${r.endpoint} ${r.status}`);
}

/** Entra token requests of `clientId`, as `<status> secret|assertion`. */
export function entraSignInsOf(standIn: KeyVaultStandIn, clientId: string): string[] {
  return standIn.tokenRequests
    .filter((r) => r.endpoint === 'entra' && r.clientId === clientId)
    .map((r) => `${r.status} ${r.assertion === true ? 'assertion' : 'secret'}`);
}
