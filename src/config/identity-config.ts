import { z } from 'zod';

import { durationSchema } from './duration.js';
import { isLoopbackUrl } from './services-config.js';

// Issue 17: agent identity without long-lived secrets. Three ways in besides `cofre agent add` tokens:
// - `agents.oauth`: JWT access tokens from external authorization servers (cofre is an OAuth protected resource);
// - `agents.exchange`: a workload's own signed identity (Kubernetes, GitHub Actions, SPIFFE) exchanged at
//   `POST /v1/token` (RFC 8693) for a short-lived cofre token;
// - `agents.delegation`: an agent mints a narrower child token for a sub-agent (`POST /v1/tokens/delegate`).

const AGENT_ID = /^[a-z][a-z0-9_-]{0,63}$/;

/** Signing algorithms accepted by default: asymmetric only (a shared secret would let the verifier forge tokens). */
export const DEFAULT_JWT_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const;
const JWT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

/** An https URL, or http on loopback only (a key set or discovery fetched in the clear could be swapped). */
const issuerUrlSchema = (what: string) =>
  z.url({ protocol: /^https?$/ }).refine((url) => url.startsWith('https://') || isLoopbackUrl(url), {
    error: `${what} must be https (http only on loopback: a key set fetched in the clear could be replaced)`,
  });

/** Claim conditions: every named claim must equal the value (or one of the values; `*` globs allowed). */
const claimConditionsSchema = z
  .record(
    z.string().min(1).max(200),
    z.union([z.string().min(1).max(1000), z.array(z.string().min(1).max(1000)).min(1).max(100)]),
  )
  .describe(
    'Claims the token must carry, by name (dotted paths reach nested claims, e.g. `kubernetes.io.namespace`): a value, or a list of allowed values; `*` in a value matches any run of characters. A claim that is an array matches when any element does.',
  );

/**
 * Who a verified token acts as: a fixed agent id, or `{claim}` templates filled from the token's claims (the
 * result must be a valid agent id, or the token is refused).
 */
const agentRuleSchema = z
  .strictObject({
    claims: claimConditionsSchema.prefault({}),
    agent: z
      .string()
      .min(1)
      .max(200)
      .describe(
        'The agent id the token acts as: fixed (`claude`), or with `{claim}` placeholders filled from the token (`gh-{repository_owner}`); the result must be lowercase letters, digits, "-" and "_" or the token is refused.',
      ),
    policy: z.string().min(1).describe('The policy the agent runs under (a name in `policies`).'),
  })
  .describe('First rule whose claims all match decides the agent and policy; no match: refused.');

const issuerSchema = {
  issuer: issuerUrlSchema('issuer').describe(
    'The `iss` every token must carry, exactly. Also where discovery starts (`<issuer>/.well-known/openid-configuration`, then `/.well-known/oauth-authorization-server`) when `jwks` is not given.',
  ),
  jwks: issuerUrlSchema('jwks')
    .optional()
    .describe(
      "URL of the issuer's JSON Web Key Set; discovered from the issuer when absent. Cached; refetched (at most every 30 s) when a token names a key it does not hold, so the issuer's key rotation needs no restart.",
    ),
  algorithms: z
    .array(z.enum(JWT_ALGORITHMS))
    .min(1)
    .default([...DEFAULT_JWT_ALGORITHMS])
    .describe('Signature algorithms accepted. Asymmetric only: `none` and HMAC are never accepted.'),
  clockSkew: durationSchema()
    .refine((ms) => ms <= 300_000, { error: 'clockSkew may be at most 5m' })
    .prefault('30s')
    .describe('Tolerance for `exp`, `nbf` and `iat` between the issuer and cofre. Parsed to milliseconds.'),
  rules: z.array(agentRuleSchema).min(1).max(1000),
};

const oauthIssuerSchema = z
  .strictObject({
    ...issuerSchema,
    audience: z
      .array(z.url())
      .min(1)
      .optional()
      .describe(
        "Values of `aud` accepted (RFC 8707 audience binding). Default: cofre's own resource identifiers, `server.publicUrl` and `server.publicUrl` + `/mcp`. A token whose `aud` names none of them was issued for another resource and is refused.",
      ),
    scopes: z
      .strictObject({
        read: z.string().min(1).default('cofre:read'),
        trade: z.string().min(1).default('cofre:trade'),
        withdraw: z.string().min(1).default('cofre:withdraw'),
        services: z.string().min(1).default('cofre:services'),
        wallet: z.string().min(1).default('cofre:wallet'),
        encryption: z.string().min(1).default('cofre:encryption'),
      })
      .prefault({})
      .describe(
        'The scope (in the `scope` or `scp` claim) each class of action needs: read (balances, tickers, orders, limits, previews), trade (place and cancel orders), withdraw, services (`http_request`, databases), wallet (`send_transaction`, `sign_typed_data`), encryption (`encrypt`, `decrypt`, `generate_data_key`). Policy still decides; a scope only narrows.',
      ),
  })
  .describe('An external authorization server whose JWT access tokens cofre accepts (RFC 9068 style).');

const exchangeIssuerSchema = z
  .strictObject({
    ...issuerSchema,
    audience: z
      .string()
      .min(1)
      .max(1000)
      .describe(
        'The `aud` the subject token must carry, e.g. the audience of a Kubernetes projected token or of a GitHub Actions OIDC token request (`cofre`, or the public URL).',
      ),
    tokenTtl: durationSchema({ min: 60_000 })
      .refine((ms) => ms <= 86_400_000, {
        error: 'tokenTtl may be at most 24h: these tokens are meant to be short-lived',
      })
      .prefault('10m')
      .describe(
        "Lifetime of the cofre token issued; never beyond the subject token's own `exp`. Parsed to milliseconds.",
      ),
  })
  .describe(
    'An identity issuer whose tokens may be exchanged at `POST /v1/token` (RFC 8693): a Kubernetes cluster (service-account issuer), GitHub Actions (`https://token.actions.githubusercontent.com`), a SPIFFE JWT-SVID issuer.',
  );

const delegationSchema = z
  .strictObject({
    maxDepth: z
      .int()
      .min(0)
      .max(8)
      .default(3)
      .describe('How many delegations deep a chain may go; 0 turns delegation off.'),
    maxTtl: durationSchema({ min: 60_000 })
      .refine((ms) => ms <= 7 * 86_400_000, { error: 'maxTtl may be at most 7d' })
      .prefault('1h')
      .describe(
        "Longest lifetime of a delegated token; never beyond its parent's own expiry. Parsed to milliseconds.",
      ),
  })
  .describe(
    'Narrowing delegation (`POST /v1/tokens/delegate`): an agent mints a child token whose rights are a strict subset of its own.',
  );

export const identitySchemas = {
  oauth: z
    .array(oauthIssuerSchema)
    .max(32)
    .default([])
    .describe(
      'External OAuth authorization servers whose JWT access tokens agents may present (MCP authorization). Needs `server.publicUrl`.',
    ),
  exchange: z
    .array(exchangeIssuerSchema)
    .max(32)
    .default([])
    .describe(
      'Workload identity issuers whose tokens `POST /v1/token` exchanges for short-lived cofre tokens.',
    ),
  delegation: delegationSchema.prefault({}),
};

export const publicUrlSchema = z
  .url({ protocol: /^https?$/ })
  .refine((url) => url.startsWith('https://') || isLoopbackUrl(url), {
    error: 'publicUrl must be https (http only on loopback)',
  })
  .refine((url) => !/[?#]/.test(url), { error: 'publicUrl takes no query or fragment' })
  .transform((url) => url.replace(/\/+$/, ''))
  .describe(
    "The URL agents reach cofre at (behind any proxy), e.g. `https://cofre.example.com`: cofre's OAuth resource identifier (RFC 9728), the `aud` JWT access tokens must carry by default. Needed for `agents.oauth`.",
  );

/** Is `id` a valid agent id (what `cofre agent add` accepts, and what a rule's template must produce)? */
export function isAgentId(id: string): boolean {
  return AGENT_ID.test(id);
}

export type OAuthIssuerConfig = z.output<typeof oauthIssuerSchema>;
export type ExchangeIssuerConfig = z.output<typeof exchangeIssuerSchema>;
export type AgentRuleConfig = z.output<typeof agentRuleSchema>;
export type DelegationConfig = z.output<typeof delegationSchema>;
