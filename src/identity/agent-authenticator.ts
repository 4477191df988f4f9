import { authenticateAgent, type AuthenticatedAgent } from '../broker/agent-tokens.js';
import { CofreError } from '../errors.js';
import type { StateStore } from '../state/state-store.js';
import { authenticateAgentSession, looksLikeSessionToken } from './agent-sessions.js';
import { looksLikeJwt } from './jwt-issuer.js';

/** Verifies JWT access tokens from `agents.oauth` issuers (oauth-verifier.ts). */
export interface OAuthVerifier {
  verify(token: string, now: Date): Promise<AuthenticatedAgent>;
}

/**
 * The one way every surface (HTTP, `/mcp`, `cofre mcp`, the database listener) turns a bearer credential into an
 * agent, by the credential's shape: a JWT goes to the OAuth issuers, a `cofre_st_` token to the session store, and
 * anything else is checked as a `cofre agent add` token (which also refuses operator tokens by name).
 */
export interface AgentAuthenticator {
  authenticate(token: string | undefined, now: Date): Promise<AuthenticatedAgent>;
}

export function createAgentAuthenticator(
  state: StateStore,
  options: { readonly oauth?: OAuthVerifier | undefined } = {},
): AgentAuthenticator {
  return {
    authenticate(token, now) {
      if (looksLikeJwt(token)) {
        if (options.oauth === undefined) {
          throw new CofreError(
            'COFRE_UNAUTHENTICATED',
            'a JWT access token was given, but this cofre accepts none (no `agents.oauth` issuer is configured)',
          );
        }
        return options.oauth.verify(token as string, now);
      }
      if (looksLikeSessionToken(token)) return authenticateAgentSession(state, token as string, now);
      return authenticateAgent(state, token, now);
    },
  };
}
