import type { AppendOptions } from '../audit/audit-log.js';
import type { PolicyDecision } from '../policy/policy-types.js';
import type { VenueCredentials } from '../venues/venue-account.js';
import { type ActionName, WRITE_ACTIONS } from './actions.js';
import type { AuthenticatedAgent } from './agent-tokens.js';
import { type SecretAccess, zeroCredentials } from './audited-secrets.js';
import type { BrokerContext, Claimed } from './broker-types.js';
import type { ResolvedAction } from './resolve-action.js';

/** Actions whose venue calls are signed with the account's credentials. */
const SIGNED_ACTIONS: ReadonlySet<ActionName> = new Set<ActionName>([
  'get_balance',
  'get_open_orders',
  'get_order',
  'place_order',
  'cancel_order',
  'cancel_all_orders',
  'withdraw',
]);

/**
 * Puts an allowed request on record just before it is sent: its intent and the reads of the credentials it will be
 * signed with, appended together so they share one batch (one fdatasync) of the audit log. Returns those
 * credentials — the request's venue calls use copies of them (see `RequestIdentity.credentials`); the caller
 * zeroes them — or undefined when the action signs nothing, or when they could not be read here (the venue call
 * then reads them itself and fails as it always did).
 *
 * SECURITY: a write (an order, a cancel, a withdrawal) waits until the batch is durable: nothing that changes
 * anything at a venue leaves the process before its intent is on disk, and no credential is used before its read
 * is. A read waits until the batch is written (in the file, synced within milliseconds): a power failure in
 * between can lose the record of a balance read, never of a write. If the batch fails, the credentials are zeroed
 * and the error thrown (fail closed).
 */
export async function recordIntent(
  ctx: BrokerContext,
  intent: Intent,
): Promise<VenueCredentials | undefined> {
  const { request } = intent;
  const wait = WRITE_ACTIONS.has(request.action) ? 'durable' : 'written';
  const read = await readCredentials(ctx, request);
  const identity = { requestId: request.requestId, agent: request.agent.id };
  const secrets = ctx.deps.secrets;
  try {
    await Promise.all([
      auditIntent(ctx, intent, { wait }),
      ...(read === undefined || secrets === undefined
        ? []
        : read.accesses.map((access) => secrets.recordFor(access, identity, { wait }))),
    ]);
  } catch (err) {
    if (read !== undefined) zeroCredentials(read.values);
    throw err;
  }
  return read?.values;
}

async function readCredentials(
  ctx: BrokerContext,
  request: Claimed,
): Promise<{ readonly values: VenueCredentials; readonly accesses: readonly SecretAccess[] } | undefined> {
  const { secrets, accounts } = ctx.deps;
  if (secrets === undefined || request.account === undefined || !SIGNED_ACTIONS.has(request.action)) {
    return undefined;
  }
  return secrets.readVenueCredentials(request.account, { accounts }).catch(() => undefined);
}

/** What an intent record says: the request, what it resolved to, what policy decided, and who approved it. */
export interface Intent {
  readonly request: Claimed;
  readonly resolved: ResolvedAction;
  readonly decision: PolicyDecision;
  readonly input: unknown;
  readonly approvedBy?: string | undefined;
}

/** Appends the intent of a request: what is about to be done (or was decided), before anything is sent. */
export function auditIntent(ctx: BrokerContext, intent: Intent, options?: AppendOptions): Promise<void> {
  const { request, resolved, decision, input, approvedBy } = intent;
  return ctx.deps.audit.append(
    {
      kind: 'intent',
      requestId: request.requestId,
      agent: request.agent.id,
      ...chainOf(request.agent),
      action: request.action,
      account: request.account,
      decision: decision.decision,
      rule: decision.rule,
      policyHash: decision.policyHash,
      ...(decision.shadow.length === 0 ? {} : { shadow: decision.shadow }),
      ...(approvedBy === undefined ? {} : { approvedBy }),
      // The venue knows an order by its clientOrderId: naming it in the intent matches every order that reached the
      // venue to its intent, even when the process died before the outcome (test/invariants/audit-kill9.test.ts).
      ...clientOrderIdOf(input),
      // Issue 11: a withdrawal's own id too, so reconciliation can rebuild its key and ask the venue for it.
      ...clientWithdrawIdOf(input),
      // SECURITY: a withdrawal is recorded by its label; the address stays in the operator's address book.
      // An http_request by service, method and path: its query and body are the agent's data, not cofre's to keep.
      // Issue 19: a transaction by what policy judged (labels, never addresses); an encryption action by key and
      // purpose only — SECURITY: never its plaintext or ciphertext.
      detail:
        resolved.question.order ??
        resolved.question.withdrawal ??
        resolved.question.http ??
        resolved.question.transaction ??
        resolved.question.encryption ??
        input,
    },
    options,
  );
}

/**
 * Issue 17: who a delegated agent acts for (nearest first) and how it came by its token, for its audit records;
 * nothing for an agent acting for itself, so their records read as before.
 */
export function chainOf(agent: AuthenticatedAgent): { onBehalfOf?: readonly string[]; via?: string } {
  if (agent.onBehalfOf === undefined || agent.onBehalfOf.length === 0) return {};
  return { onBehalfOf: agent.onBehalfOf, ...(agent.via === undefined ? {} : { via: agent.via }) };
}

function clientOrderIdOf(input: unknown): { clientOrderId?: string } {
  const id =
    typeof input === 'object' && input !== null
      ? (input as { clientOrderId?: unknown }).clientOrderId
      : undefined;
  return typeof id === 'string' ? { clientOrderId: id } : {};
}

function clientWithdrawIdOf(input: unknown): { clientWithdrawId?: string } {
  const id =
    typeof input === 'object' && input !== null
      ? (input as { clientWithdrawId?: unknown }).clientWithdrawId
      : undefined;
  return typeof id === 'string' ? { clientWithdrawId: id } : {};
}
