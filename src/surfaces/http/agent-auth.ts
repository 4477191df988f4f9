import type { FastifyRequest } from 'fastify';

import type { AuthenticatedAgent } from '../../broker/agent-tokens.js';
import { CofreError } from '../../errors.js';
import type { AgentAuthenticator } from '../../identity/agent-authenticator.js';
import { bearerToken } from './bearer-token.js';

/** Bearer authentication for the agent routes: a hook that authenticates, and a lookup of the result. */
export interface AgentAuth {
  /**
   * An `onRequest` hook: runs before the body is read, so an unauthenticated caller cannot make the server parse
   * anything. Throws `COFRE_UNAUTHENTICATED` (same answer for missing, unknown, expired and revoked tokens).
   */
  readonly authenticate: (request: FastifyRequest) => Promise<void>;
  /** The agent {@link AgentAuth.authenticate} found for this request; throws if the route has no such hook. */
  readonly agentOf: (request: FastifyRequest) => AuthenticatedAgent;
  /** The agent found for this request, if it was authenticated (an error answer names its token's scopes). */
  readonly authenticatedAgent: (request: FastifyRequest) => AuthenticatedAgent | undefined;
}

/** Builds {@link AgentAuth} over an authenticator. Safe to use for concurrent requests. */
export function createAgentAuth(authenticator: AgentAuthenticator, now: () => Date): AgentAuth {
  // A WeakMap rather than a request decoration: no global type augmentation, and nothing to leak into logs.
  const agents = new WeakMap<FastifyRequest, AuthenticatedAgent>();
  return {
    authenticate: async (request) => {
      agents.set(
        request,
        await authenticator.authenticate(bearerToken(request.headers.authorization), now()),
      );
    },
    agentOf: (request) => {
      const agent = agents.get(request);
      if (agent === undefined)
        throw new CofreError('COFRE_INTERNAL', 'route is missing its authentication hook');
      return agent;
    },
    authenticatedAgent: (request) => agents.get(request),
  };
}
