/**
 * OpenBao's identity tokens as the authorization server of cofre's OAuth tests: an issuer no one here wrote. Set up
 * over OpenBao's HTTP API as its docs describe (secrets/identity/identity-token): the issuer URL
 * (`identity/oidc/config`), a named signing key, roles whose `client_id` becomes the token's `aud` and whose
 * `template` adds claims (the `scope` claim cofre reads, and the agent name), an entity (a userpass login), and
 * `identity/oidc/token/<role>`, which signs an RS256 JWT. Discovery is at
 * `<issuer>/.well-known/openid-configuration`, keys at `<issuer>/.well-known/keys`.
 *
 * Shares no code with `src/`.
 */
import { randomBytes } from 'node:crypto';

import type { OpenBaoPeer } from '../peers/peers.js';
import { baoApi } from '../vault/vault-fixture.js';

export interface OpenBaoIssuer {
  /** The `iss` of every token: `<addr>/v1/identity/oidc`. */
  readonly issuer: string;
  /** Creates (or replaces) a role on the key `cofre`: tokens for `clientId` (their `aud`), with `scope`. */
  role(
    name: string,
    settings: {
      readonly clientId: string;
      /** A string goes in `scope` (space-separated), a list in `scp`. */
      readonly scope?: string | readonly string[];
      readonly ttl?: string;
      /** A fixed `cofre_agent` claim instead of the entity's name. */
      readonly agent?: string;
    },
  ): Promise<void>;
  /** A token of `role` for the agent's entity, signed by OpenBao. */
  token(role: string): Promise<string>;
  /** Rotates the key `cofre`: new tokens carry a new `kid`; the old key stays published for its verification TTL. */
  rotate(): Promise<void>;
  /** The key ids OpenBao publishes now. */
  keyIds(): Promise<string[]>;
}

const KEY = 'cofre';

/** Makes `bao` an issuer of identity tokens for one entity named `agentName` (a userpass user). */
export async function openBaoIssuer(bao: OpenBaoPeer, agentName: string): Promise<OpenBaoIssuer> {
  await baoApi(bao, 'POST', 'identity/oidc/config', { issuer: bao.addr });
  await baoApi(bao, 'POST', `identity/oidc/key/${KEY}`, {
    algorithm: 'RS256',
    allowed_client_ids: ['*'],
    rotation_period: '24h',
    verification_ttl: '24h',
  });
  await baoApi(bao, 'PUT', 'sys/policies/acl/oidc-tokens', {
    policy: 'path "identity/oidc/token/*" { capabilities = ["read"] }',
  });
  await baoApi(bao, 'POST', 'sys/auth/userpass', { type: 'userpass' });
  const password = randomBytes(16).toString('hex');
  await baoApi(bao, 'POST', `auth/userpass/users/${agentName}`, {
    password,
    token_policies: ['oidc-tokens'],
  });
  const login = await baoApi(bao, 'POST', `auth/userpass/login/${agentName}`, { password });
  const entityToken = login.auth.client_token as string;
  // The login made an entity with a generated name; give it the agent's name, which the template puts in the token.
  await baoApi(bao, 'POST', `identity/entity/id/${login.auth.entity_id as string}`, { name: agentName });

  return {
    issuer: `${bao.addr}/v1/identity/oidc`,
    async role(name, settings) {
      const claims: string[] = [
        `"cofre_agent": ${settings.agent === undefined ? '{{identity.entity.name}}' : JSON.stringify(settings.agent)}`,
      ];
      if (typeof settings.scope === 'string') claims.push(`"scope": ${JSON.stringify(settings.scope)}`);
      else if (settings.scope !== undefined) claims.push(`"scp": ${JSON.stringify(settings.scope)}`);
      await baoApi(bao, 'POST', `identity/oidc/role/${name}`, {
        key: KEY,
        client_id: settings.clientId,
        ttl: settings.ttl ?? '1h',
        template: `{ ${claims.join(', ')} }`,
      });
    },
    async token(role) {
      const answer = await baoApi(bao, 'GET', `identity/oidc/token/${role}`, undefined, {
        token: entityToken,
      });
      return answer.data.token as string;
    },
    async rotate() {
      await baoApi(bao, 'POST', `identity/oidc/key/${KEY}/rotate`, {});
    },
    async keyIds() {
      const response = await fetch(`${bao.addr}/v1/identity/oidc/.well-known/keys`);
      const jwks = (await response.json()) as { keys: { kid: string }[] };
      return jwks.keys.map((k) => k.kid);
    },
  };
}
