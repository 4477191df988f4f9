import type { ActionName } from '../broker/actions.js';
import type { AuthenticatedAgent } from '../broker/agent-tokens.js';
import { CofreError } from '../errors.js';
import { ACTION_CLASS, type ActionClass } from './action-classes.js';

/** May `agent` ask for `action` at all, as far as its access token's scopes go? Always, without an OAuth token. */
export function scopeAllows(agent: AuthenticatedAgent, action: ActionName): boolean {
  return agent.actionClasses === undefined || agent.actionClasses.has(ACTION_CLASS[action]);
}

/**
 * Refuses an action whose class the agent's access token has no scope for: `COFRE_INSUFFICIENT_SCOPE`, with the
 * class in `details.actionClass` (the HTTP surface names the scope in `WWW-Authenticate`, RFC 6750 §3.1). A scope
 * only narrows: an allowed class still goes to policy.
 */
export function requireScope(agent: AuthenticatedAgent, action: ActionName): void {
  if (scopeAllows(agent, action)) return;
  const actionClass: ActionClass = ACTION_CLASS[action];
  throw new CofreError(
    'COFRE_INSUFFICIENT_SCOPE',
    `${action} is a ${actionClass} action and this access token has no scope for ${actionClass} actions; ask the authorization server for a token with the ${actionClass} scope (agents.oauth[].scopes.${actionClass}). Nothing was executed.`,
    { details: { actionClass } },
  );
}
