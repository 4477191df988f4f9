import { CofreError } from '../errors.js';
import type { DelegationGrant } from '../identity/delegation-types.js';
import type { SessionAncestor } from '../identity/session-types.js';
import type { PolicyQuestion } from '../policy/policy-types.js';
import type { ApprovalRecord } from '../state/control-store.js';
import type { ActionName } from './actions.js';
import type { AuthenticatedAgent } from './agent-tokens.js';
import { payloadHashOf } from './approval-record.js';
import {
  encryptionQuestionOf,
  httpQuestionOf,
  type SendPayload,
  walletQuestionOf,
} from './resolve-action.js';

/**
 * Everything an approved request will do, fixed when it asks for approval: who asks, under which policy, the
 * validated input and the resolved payload that will be sent. Operators approve the SHA-256 of its canonical text,
 * so what runs is exactly what they saw.
 */
export interface BoundAction {
  readonly agentId: string;
  readonly policy: string;
  readonly action: ActionName;
  readonly account: string | undefined;
  /** The validated input (canonical), for actions that send it as it is (a cancel). */
  readonly input: unknown;
  /** The resolved order or withdrawal, for actions that send one. */
  readonly send: SendPayload | null;
  readonly rule: string;
  readonly policyHash: string;
  /**
   * Issue 17, a delegated agent only (absent otherwise, so other bound texts are unchanged): its chain, grants and
   * the stored credentials it depended on when it asked. It runs later with the same chain and grants, and not at
   * all once any of those credentials is revoked.
   */
  readonly onBehalfOf?: readonly string[] | undefined;
  readonly via?: AuthenticatedAgent['via'];
  readonly grants?: readonly DelegationGrant[] | undefined;
  readonly credentials?: readonly SessionAncestor[] | undefined;
}

/** The canonical text of a bound action and its SHA-256 (hex). */
export function bindAction(action: BoundAction): { readonly payload: string; readonly payloadHash: string } {
  const payload = canonicalJson(action);
  return { payload, payloadHash: payloadHashOf(payload) };
}

/**
 * The bound action of an approval, after checking its text still hashes to the hash operators approved.
 * SECURITY: a payload changed after approval (in the state file, by anyone) never runs.
 */
export function boundActionOf(approval: ApprovalRecord): BoundAction {
  if (payloadHashOf(approval.payload) !== approval.payloadHash) {
    throw new CofreError(
      'COFRE_APPROVAL_NOT_EXECUTABLE',
      `request ${approval.requestId}: its bound payload no longer matches the approved hash; it will not run`,
    );
  }
  return JSON.parse(approval.payload) as BoundAction;
}

/** The policy question a bound action answers, to re-check it when it is about to run. */
export function questionOf(bound: BoundAction): PolicyQuestion {
  const { send } = bound;
  const input = bound.input as { symbol?: unknown };
  return {
    // Asked for the principal, as at request time (resolve-action.ts plainQuestion).
    agentId: bound.onBehalfOf?.at(-1) ?? bound.agentId,
    policy: bound.policy,
    action: bound.action,
    account: bound.account,
    symbol: typeof input.symbol === 'string' ? input.symbol : undefined,
    ...(send?.kind === 'order' ? { order: send.order } : {}),
    ...(send?.kind === 'withdrawal' ? { withdrawal: send.withdrawal } : {}),
    ...(bound.action === 'http_request' ? { http: httpQuestionOf(bound.input) } : {}),
    // Issue 19: the wallet and the transaction as judged at request time; an encryption action's key and purpose.
    ...walletQuestionOf(bound.action, bound.input),
    ...(send?.kind === 'wallet' ? { transaction: send.transaction } : {}),
    ...encryptionQuestionOf(bound.action, bound.input),
  };
}

/** The agent a bound action runs for. */
export function agentOf(bound: BoundAction): AuthenticatedAgent {
  if (bound.onBehalfOf === undefined) return { id: bound.agentId, policy: bound.policy };
  return {
    id: bound.agentId,
    policy: bound.policy,
    via: bound.via,
    onBehalfOf: bound.onBehalfOf,
    grants: bound.grants,
  };
}

/**
 * Issue 17: what of `agent` a bound action keeps, for a delegated agent: its chain, its grants and the stored
 * credentials it depends on (its own session token and every ancestor's). Nothing for an agent acting for itself.
 */
export function chainBinding(
  agent: AuthenticatedAgent,
): Pick<BoundAction, 'onBehalfOf' | 'via' | 'grants' | 'credentials'> {
  if (agent.onBehalfOf === undefined || agent.onBehalfOf.length === 0) return {};
  const credential = agent.credential;
  const credentials: SessionAncestor[] =
    credential?.kind === 'session'
      ? [{ kind: 'session', tokenId: credential.tokenId }, ...credential.ancestors]
      : credential?.kind === 'agent'
        ? [{ kind: 'agent', tokenId: credential.tokenId }]
        : [];
  return { onBehalfOf: agent.onBehalfOf, via: agent.via, grants: agent.grants, credentials };
}

/** JSON with object keys sorted at every depth and `undefined` fields left out: one text for one value. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, sortKeys(v)]),
  );
}
