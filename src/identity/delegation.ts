import { z } from 'zod';

import type { ActionName } from '../broker/actions.js';
import type { AgentCredential, AuthenticatedAgent } from '../broker/agent-tokens.js';
import { durationSchema, formatDuration } from '../config/duration.js';
import type { DelegationConfig } from '../config/identity-config.js';
import { CofreError } from '../errors.js';
import type { PolicyEngine } from '../policy/policy-types.js';
import type { StateStore } from '../state/state-store.js';
import { compareDecimal, isDecimal } from '../venues/decimal.js';
import { ACTION_CLASS } from './action-classes.js';
import { issueAgentSession } from './agent-sessions.js';
import type { DelegationGrant, DelegationLimit } from './delegation-types.js';
import type { SessionAncestor } from './session-types.js';

// Issue 17, narrowing delegation: an agent mints a child token (`POST /v1/tokens/delegate`) whose rights are a
// subset of its own. The child's requests are judged by the chain's root policy (its limits are the root's
// budget) and must also fit every grant of the chain (broker/delegation-gate.ts), so a chain can only narrow.

const NAME = /^[a-z][a-z0-9_-]{0,63}$/;
const ACCOUNT = /^[a-z][a-z0-9_-]{0,63}$/;
const SYMBOL = /^[A-Z0-9]{1,20}\/[A-Z0-9]{1,20}$/;
const ASSET = /^[A-Z0-9]{1,20}$/;
const ACTIONS = Object.keys(ACTION_CLASS) as [ActionName, ...ActionName[]];

/** `get_request` reads the agent's own earlier requests: every agent has it, so no grant grants or withholds it. */
const ALWAYS_ALLOWED: ActionName = 'get_request';

const limitSchema = z
  .strictObject({
    measure: z
      .enum(['notional', 'orders', 'withdrawals'])
      .describe('What is counted: order value (notional), orders placed, or amounts withdrawn.'),
    unit: z
      .string()
      .regex(ASSET, { error: 'invalid unit; use an asset code in capitals, e.g. USDT' })
      .optional()
      .describe('The quote asset for notional, the asset for withdrawals; none for orders.'),
    window: durationSchema({ min: 1_000 }).describe('Rolling window, e.g. "1h".'),
    cap: z
      .string()
      .refine((s) => isDecimal(s), { error: 'cap must be a decimal string, e.g. "250"' })
      .describe('At most this much per window, as a decimal string.'),
  })
  .superRefine((limit, ctx) => {
    if (limit.measure === 'orders' && limit.unit !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['unit'],
        message: 'an orders limit counts orders: give no unit',
      });
    if (limit.measure !== 'orders' && limit.unit === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['unit'],
        message: `a ${limit.measure} limit needs its unit (the ${limit.measure === 'notional' ? 'quote asset' : 'asset'}, e.g. USDT)`,
      });
  });

/**
 * What a parent asks for its child. Absent list: as much as the parent has (the child still can never exceed it);
 * an empty list: none at all (`actions: []` leaves only `get_request`; `accounts: []` no account; `symbols: []` no
 * market), since a narrower token is always the safe reading.
 */
export const delegationInputSchema = z.strictObject({
  name: z
    .string()
    .regex(NAME, { error: 'invalid name; use lowercase letters, digits, "-" and "_" (1-64, a letter first)' })
    .describe('The sub-agent\'s name; its agent id becomes "<your id>/<name>".'),
  accounts: z
    .array(z.string().regex(ACCOUNT, { error: 'invalid account id' }))
    .max(100)
    .optional()
    .describe('Accounts the child may use; absent: all of yours; [] none.'),
  actions: z
    .array(z.enum(ACTIONS))
    .max(ACTIONS.length)
    .optional()
    .describe('Actions the child may ask for; absent: all of yours; [] none but get_request.'),
  symbols: z
    .array(z.string().regex(SYMBOL, { error: 'invalid symbol; use BASE/QUOTE in capitals, e.g. BTC/USDT' }))
    .max(1000)
    .optional()
    .describe('Markets the child may trade or read; absent: all of yours; [] none.'),
  limits: z
    .array(limitSchema)
    .max(32)
    .optional()
    .describe(
      "The child's own budgets, drawn in addition to yours (every order of the child counts against both).",
    ),
  ttl: durationSchema({ min: 1_000 })
    .optional()
    .describe(
      'Lifetime, e.g. "15m"; default and maximum: agents.delegation.maxTtl, and never beyond your token\'s.',
    ),
});

export type DelegationInput = z.input<typeof delegationInputSchema>;

/** What an agent may do, as far as its own policy, grants and OAuth scopes say (before any rule's conditions). */
export interface AgentRights {
  /** Configured accounts it may use. */
  readonly accounts: readonly string[];
  /** Actions it could ever get other than denied, `get_request` included. */
  readonly actions: ReadonlySet<ActionName>;
  /** Markets it is held to; undefined: any its policy allows. */
  readonly symbols: readonly string[] | undefined;
}

/**
 * The rights of `agent`: its policy's accounts and actions, narrowed by every grant of its chain and by the classes
 * of its OAuth scopes. Pure.
 */
export function rightsOf(
  agent: AuthenticatedAgent,
  policy: Pick<PolicyEngine, 'accountsFor' | 'actionsFor'>,
): AgentRights {
  const grants = agent.grants ?? [];
  const policyActions = policy.actionsFor(agent.policy);
  const actions = ACTIONS.filter(
    (action) =>
      action === ALWAYS_ALLOWED ||
      (policyActions.has(action) &&
        (agent.actionClasses?.has(ACTION_CLASS[action]) ?? true) &&
        grants.every((g) => g.actions?.includes(action) ?? true)),
  );
  const accounts = policy
    .accountsFor(agent.policy)
    .filter((account) => grants.every((g) => g.accounts?.includes(account) ?? true));
  let symbols: string[] | undefined;
  for (const grant of grants) {
    if (grant.symbols === undefined) continue;
    symbols = (symbols ?? grant.symbols).filter((s) => grant.symbols?.includes(s) === true);
  }
  return { accounts, actions: new Set(actions), symbols };
}

/** What minting needs. */
export interface DelegationDependencies {
  readonly state: StateStore;
  readonly policy: Pick<PolicyEngine, 'accountsFor' | 'actionsFor'>;
  readonly config: DelegationConfig;
  readonly now: Date;
}

/** A minted child token, handed to the parent once; `token` is never stored, logged or audited. */
export interface MintedDelegation {
  readonly token: string;
  /** The child's agent id, `<parent id>/<name>`. */
  readonly agent: string;
  readonly expiresAt: Date;
  /** The child's own grant (its `tokenId` is the child token's public id). */
  readonly grant: DelegationGrant;
  /** The agents it acts on behalf of, nearest first. */
  readonly onBehalfOf: readonly string[];
}

/** The request parsed and checked against the parent's rights, ready to issue; or what makes it wider. */
export interface DelegationPlan {
  readonly agent: string;
  readonly grant: Omit<DelegationGrant, 'tokenId'>;
  readonly expiresAt: Date;
  /** Why it is refused: every right asked for that the parent lacks. Empty when it may be minted. */
  readonly wider: readonly string[];
}

/**
 * Parses a delegation request (throws `COFRE_INPUT_INVALID`) and checks it against `parent`'s rights: every account,
 * action, symbol, limit and the lifetime asked for must be within the parent's, and the chain within
 * `maxDepth`. Pure (the clock is `deps.now`).
 */
export function planDelegation(
  deps: Pick<DelegationDependencies, 'policy' | 'config' | 'now'>,
  parent: AuthenticatedAgent,
  rawInput: unknown,
): DelegationPlan {
  const parsed = delegationInputSchema.safeParse(rawInput ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`);
    throw new CofreError('COFRE_INPUT_INVALID', `invalid delegation: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  const input = parsed.data;
  const rights = rightsOf(parent, deps.policy);
  const wider: string[] = [];

  const depth = (parent.onBehalfOf?.length ?? 0) + 1;
  if (deps.config.maxDepth === 0) wider.push('delegation is turned off here (agents.delegation.maxDepth: 0)');
  else if (depth > deps.config.maxDepth)
    wider.push(
      `the chain would be ${depth} delegations deep; agents.delegation.maxDepth allows ${deps.config.maxDepth}`,
    );

  for (const account of unique(input.accounts ?? [])) {
    if (!rights.accounts.includes(account))
      wider.push(`account "${account}" is not yours to use (yours: ${listed(rights.accounts)})`);
  }
  for (const action of unique(input.actions ?? [])) {
    if (!rights.actions.has(action))
      wider.push(`action ${action} is not yours to ask for (yours: ${listed([...rights.actions])})`);
  }
  for (const symbol of unique(input.symbols ?? [])) {
    if (rights.symbols !== undefined && !rights.symbols.includes(symbol))
      wider.push(`symbol ${symbol} is outside your grant (yours: ${listed(rights.symbols)})`);
  }
  const limits = input.limits?.map((l): DelegationLimit => ({
    measure: l.measure,
    ...(l.unit === undefined ? {} : { unit: l.unit }),
    windowMs: l.window,
    cap: l.cap,
  }));
  wider.push(...widerLimits(limits ?? [], parent.grants ?? []));

  const { expiresAt, problem } = lifetime(deps, parent, input.ttl);
  if (problem !== undefined) wider.push(problem);

  // A child of an OAuth-authenticated parent: its session stores no scopes, so the actions the parent's scopes
  // allow are written into the grant (otherwise the child could ask for classes its parent's token lacks).
  const actions = input.actions ?? (parent.actionClasses === undefined ? undefined : [...rights.actions]);
  const grant: Omit<DelegationGrant, 'tokenId'> = {
    ...(input.accounts === undefined ? {} : { accounts: unique(input.accounts) }),
    ...(actions === undefined ? {} : { actions: unique(actions).filter((a) => a !== ALWAYS_ALLOWED) }),
    ...(input.symbols === undefined ? {} : { symbols: unique(input.symbols) }),
    ...(limits === undefined ? {} : { limits }),
  };
  return { agent: `${parent.id}/${input.name}`, grant, expiresAt, wider };
}

/**
 * Mints a child token for `parent` after {@link planDelegation}; throws `COFRE_DELEGATION_REFUSED` naming every
 * right asked for beyond the parent's, and when the parent's token cannot delegate. The child depends on the
 * parent's stored credential and its ancestors: revoking any of them stops the child at its next request
 * (`authenticateAgentSession`).
 */
export async function mintDelegation(
  deps: DelegationDependencies,
  parent: AuthenticatedAgent,
  rawInput: unknown,
): Promise<MintedDelegation> {
  const plan = planDelegation(deps, parent, rawInput);
  const credential = parent.credential;
  // Said first: without a credential to depend on, the child could not be revoked with its parent.
  if (credential === undefined) throw refused('not minted: this caller cannot delegate', plan);
  if (plan.wider.length > 0) throw refused(`not minted: ${plan.wider.join('; ')}`, plan);
  const onBehalfOf = [parent.id, ...(parent.onBehalfOf ?? [])];
  const { session, token } = await issueAgentSession(deps.state, {
    agentId: plan.agent,
    policy: parent.policy,
    kind: 'delegation',
    onBehalfOf,
    ancestors: ancestorsOf(credential),
    grants: [...(parent.grants ?? []), plan.grant],
    now: deps.now,
    expiresAt: plan.expiresAt,
  });
  return {
    token,
    agent: plan.agent,
    expiresAt: plan.expiresAt,
    grant: { ...plan.grant, tokenId: session.tokenId },
    onBehalfOf,
  };
}

function refused(message: string, plan: DelegationPlan): CofreError {
  return new CofreError('COFRE_DELEGATION_REFUSED', message, {
    details: { agent: plan.agent, wider: plan.wider },
  });
}

/** The stored credentials a child depends on: the parent's own first, then what the parent depends on. */
function ancestorsOf(credential: AgentCredential): SessionAncestor[] {
  switch (credential.kind) {
    case 'agent':
      return [{ kind: 'agent', tokenId: credential.tokenId }];
    case 'session':
      return [{ kind: 'session', tokenId: credential.tokenId }, ...credential.ancestors];
    case 'oauth':
      // cofre stores no OAuth token; the child's expiry is bounded by the access token's instead.
      return [];
  }
}

/** The child's lifetime: `ttl`, or by default the longest allowed, min(maxTtl, the parent token's expiry). */
function lifetime(
  deps: Pick<DelegationDependencies, 'config' | 'now'>,
  parent: AuthenticatedAgent,
  ttl: number | undefined,
): { readonly expiresAt: Date; readonly problem?: string } {
  const now = deps.now.getTime();
  const parentExpiry = parent.credential?.expiresAt.getTime() ?? now;
  const latest = Math.min(now + deps.config.maxTtl, parentExpiry);
  if (ttl === undefined) return { expiresAt: new Date(latest) };
  const expiresAt = new Date(now + ttl);
  if (expiresAt.getTime() <= latest) return { expiresAt };
  const byParent = parentExpiry < now + deps.config.maxTtl;
  return {
    expiresAt,
    problem: byParent
      ? `ttl ${formatDuration(ttl)} would outlive your own token (it expires at ${new Date(parentExpiry).toISOString()})`
      : `ttl ${formatDuration(ttl)} is longer than agents.delegation.maxTtl (${formatDuration(deps.config.maxTtl)})`,
  };
}

/** Each child limit above an ancestor grant's cap for the same measure, unit and window; duplicates too. */
function widerLimits(limits: readonly DelegationLimit[], grants: readonly DelegationGrant[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const limit of limits) {
    const what = describeLimit(limit);
    if (seen.has(what)) problems.push(`limit ${what} is given twice`);
    seen.add(what);
    for (const grant of grants) {
      for (const own of grant.limits ?? []) {
        if (describeLimit(own) === what && compareDecimal(limit.cap, own.cap) > 0)
          problems.push(`limit ${what} cap ${limit.cap} is above your own cap ${own.cap}`);
      }
    }
  }
  return problems;
}

/** `notional USDT per 1h`: one limit's measure, unit and window. */
export function describeLimit(limit: Pick<DelegationLimit, 'measure' | 'unit' | 'windowMs'>): string {
  return `${limit.measure}${limit.unit === undefined ? '' : ` ${limit.unit}`} per ${formatDuration(limit.windowMs)}`;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function listed(values: readonly string[]): string {
  return values.length === 0 ? 'none' : values.join(', ');
}
