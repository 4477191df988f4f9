import type { z } from 'zod';

import { CofreError, type ErrorCode, isCofreError } from '../errors.js';
import { requireScope, scopeAllows } from '../identity/scope-check.js';
import type { PolicyDecision } from '../policy/policy-types.js';
import type { HaltState } from '../state/control-store.js';
import type { RequestRecord } from '../state/state-store.js';
import { ACTION_NAMES, type ActionInput, actionInputSchemas, type ActionName } from './actions.js';
import type { AuthenticatedAgent } from './agent-tokens.js';
import { agentOf, boundActionOf, questionOf } from './approval-binding.js';
import { awaitApproval, confirmAtClient } from './broker-approval.js';
import { auditIntent, recordIntent } from './broker-audit.js';
import { claim, settledPending, stored } from './broker-claim.js';
import type { BrokerControl, CancelAllReport } from './broker-control.js';
import { denied, finish, publicError } from './broker-finish.js';
import { reconcileInterrupted } from './broker-reconcile.js';
import { reserve } from './broker-reserve.js';
import { resolveStep } from './broker-resolve.js';
import { send, SPENDING_ACTIONS } from './broker-send.js';
import {
  type ActionResponse,
  type BrokerContext,
  type BrokerDependencies,
  type Claimed,
  emptyRecord,
  type ExecuteOptions,
  type ReconcileReport,
} from './broker-types.js';
import { HaltGate } from './halt-gate.js';
import { plainQuestion, type ResolvedAction } from './resolve-action.js';

export type {
  ActionResponse,
  BrokerDependencies,
  ConfirmQuestion,
  ExecuteOptions,
  ReconcileReport,
} from './broker-types.js';

/** Errors of resolution that are the agent's input, thrown like a schema error (nothing recorded). */
const UNRESOLVABLE_INPUT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'COFRE_INPUT_INVALID',
  'COFRE_DESTINATION_UNKNOWN',
]);

/** Stands for "no decision" when a request fails before policy: it claims no idempotency key. */
const UNRESOLVED: PolicyDecision = {
  decision: 'deny',
  rule: 'unresolved',
  reason: 'the action could not be resolved',
  policyHash: '',
  limits: [],
  shadow: [],
};

/**
 * The path of one request (DESIGN.md, issue 9): {@link Broker.execute} reads as the sequence of steps, each in its
 * own module —
 *
 *   admit (agent-quotas) → parse → halt check (halt-gate) → resolve (broker-resolve: the order fitted to the
 *   market, reference price, notional; a withdrawal's label) → policy decides on the resolved action → claim
 *   (broker-claim: idempotency) → wait for approval or confirmation, when policy asks (broker-approval) → reserve
 *   the limits it draws on (broker-reserve) → audit the intent (broker-audit) → send through the halt gate, settle
 *   the reservation (broker-send) → scrub, record, audit the outcome (broker-finish).
 *
 * Surfaces authenticate and call {@link Broker.execute}; the broker holds no HTTP, MCP or argv knowledge.
 *
 * Guarantees:
 * - SECURITY: policy judges what will be sent, and what is sent is exactly that (the resolved payload).
 * - SECURITY: nothing leaves the process before the intent is durable in the audit log; if it cannot be written
 *   the action is refused (fail closed). Nothing is sent past a limit: the reservation is taken first, atomically,
 *   in the state store (shared by every process on it).
 * - An order placed again with the same `clientOrderId` by the same agent returns the first request's answer,
 *   marked `replayed`, and is not sent again; the same key with a different order is refused with
 *   `COFRE_IDEMPOTENCY_CONFLICT`. A write whose outcome is unknown is reported as `COFRE_VENUE_OUTCOME_UNKNOWN`,
 *   never retried, and keeps its reservation until reconciled.
 * - SECURITY: responses are scrubbed, in every encoding, of the credentials the request's venue calls held; if
 *   scrubbing cannot be done the agent gets a generic error instead (fail closed).
 * - A request waiting for approval runs only when operators approve the hash of its bound payload, once, after
 *   halt, policy and limits are checked again.
 * - Every claimed request is finished on every path; one left `executing` by a crash is settled by
 *   {@link Broker.reconcileInterrupted}.
 *
 * Safe to call concurrently.
 */
export class Broker implements BrokerControl {
  readonly #ctx: BrokerContext;

  constructor(deps: BrokerDependencies) {
    this.#ctx = {
      deps,
      now: deps.now ?? (() => new Date()),
      halt: new HaltGate(deps.state),
      running: new Set(),
    };
  }

  /**
   * Runs one action for an authenticated agent. Throws `COFRE_AGENT_QUOTA_EXCEEDED` for an agent over its quotas,
   * `COFRE_HALTED` while trading is halted (not for `http_request`, which moves no money), and
   * `COFRE_ACTION_UNKNOWN`, `COFRE_INPUT_INVALID`, `COFRE_DESTINATION_UNKNOWN` or `COFRE_IDEMPOTENCY_CONFLICT` for a request that is not understood or contradicts
   * an earlier one (nothing is recorded); every other request gets a `requestId` and an {@link ActionResponse},
   * including denials, pending approvals and failures.
   */
  execute(
    agent: AuthenticatedAgent,
    action: string,
    rawInput: unknown,
    options: ExecuteOptions = {},
  ): Promise<ActionResponse> {
    // Quotas first (issue 8, items 17-18): a refused request is parsed, stored and audited nowhere. The admission
    // also sets the request's deadline and priority, which the account queue in front of each venue honours.
    const admission = this.#ctx.deps.admission;
    if (admission === undefined) return this.#execute(agent, action, rawInput, options);
    return admission.run(agent.id, action, () => this.#execute(agent, action, rawInput, options));
  }

  /** The path of one admitted request, step by step. */
  async #execute(
    agent: AuthenticatedAgent,
    action: string,
    rawInput: unknown,
    options: ExecuteOptions,
  ): Promise<ActionResponse> {
    const ctx = this.#ctx;
    const name = parseActionName(action);
    // Issue 17: an OAuth access token's scopes narrow the classes of action, before anything is recorded or sent.
    requireScope(agent, name);
    const input = parseInput(name, rawInput);
    if (name === 'get_request')
      return this.#getRequest(agent, (input as ActionInput<'get_request'>).requestId);
    // The kill switch halts trading: an http_request (news, market data) moves no money, so it goes on while halted.
    if (name !== 'http_request') await ctx.halt.check();
    let resolved: ResolvedAction;
    try {
      resolved = await resolveStep(ctx, agent, name, input);
    } catch (err) {
      // An order the market cannot take, an unknown label: the agent's input, refused like a schema error. The
      // venue failing to give its rules or price is a failed request like any other venue failure.
      if (!isCofreError(err) || UNRESOLVABLE_INPUT.has(err.code)) throw err;
      return this.#failUnresolved(agent, name, input, err);
    }
    const decision = ctx.deps.policy.decide(resolved.question);
    const claimed = await claim(ctx, agent, name, input, decision);
    if (claimed.replay !== undefined) return claimed.replay;
    const { request } = claimed;
    return this.#tracked(request.requestId, async () => {
      switch (decision.decision) {
        case 'deny':
          return this.#deny(request, resolved, decision, input);
        case 'approval':
          return awaitApproval(ctx, request, resolved, decision, input);
        case 'confirm': {
          const refused = await confirmAtClient(ctx, request, resolved, decision, input, options);
          if (refused === undefined) return this.#run(request, input, resolved, decision);
          return this.#deny(request, resolved, { ...decision, decision: 'deny', reason: refused }, input);
        }
        case 'allow':
          return this.#run(request, input, resolved, decision);
      }
    });
  }

  /** Runs `step` with `requestId` counted as in flight in this process ({@link BrokerContext.running}). */
  async #tracked<T>(requestId: string, step: () => Promise<T>): Promise<T> {
    this.#ctx.running.add(requestId);
    try {
      return await step();
    } finally {
      this.#ctx.running.delete(requestId);
    }
  }

  /** Requests this process is working on now (the replica loop leaves them alone). */
  inFlight(): ReadonlySet<string> {
    return this.#ctx.running;
  }

  /**
   * The actions an agent could ever get other than denied under its policy, plus `get_request` (its own requests),
   * of the classes its OAuth access token's scopes allow: the tools listed to it (MCP `tools/list`, its OpenAPI document).
   */
  actionsFor(agent: AuthenticatedAgent): ReadonlySet<ActionName> {
    const allowed = this.#ctx.deps.policy.actionsFor(agent.policy);
    return new Set(
      ACTION_NAMES.filter(
        (name) => (name === 'get_request' || allowed.has(name)) && scopeAllows(agent, name),
      ),
    );
  }

  /**
   * The allowed path: reserve the limits, audit the intent, send, settle. A reservation refused is a denial naming
   * the limit; an intent that cannot be audited sends nothing and gives everything back.
   */
  async #run(
    request: Claimed,
    input: unknown,
    resolved: ResolvedAction,
    decision: PolicyDecision,
    approvedBy?: string,
  ): Promise<ActionResponse> {
    const ctx = this.#ctx;
    // Only what spends budget reserves it: a preview or a read draws on nothing, whatever limits its rule names.
    const checks = SPENDING_ACTIONS.has(request.action) ? decision.limits : [];
    const refusal = await reserve(ctx, request, resolved, checks);
    if (refusal !== undefined) return finish(ctx, request, refusal, emptyRecord());
    let credentials;
    try {
      credentials = await recordIntent(ctx, { request, resolved, decision, input, approvedBy });
    } catch (err) {
      // Fail closed: nothing was sent, so the reservation and the claim are given back. If even that cannot be
      // written (PostgreSQL down as well), the row stays `executing` and its replica settles it later
      // (replica-loop.ts); the agent gets the reason nothing was sent.
      try {
        await ctx.deps.state.settleReservation(request.requestId, { kind: 'release' });
        await ctx.deps.state.releaseRequest(request.requestId);
      } catch (cleanup) {
        ctx.deps.logger.error(
          { err: cleanup, requestId: request.requestId },
          'could not give back the claim of a request whose intent was not recorded; it is settled later',
        );
      }
      throw err;
    }
    return send(ctx, request, input, resolved, decision, credentials);
  }

  /** A denial is recorded too; if even that cannot be written, the agent still gets the denial. */
  async #deny(
    request: Claimed,
    resolved: ResolvedAction,
    decision: PolicyDecision,
    input: unknown,
  ): Promise<ActionResponse> {
    const ctx = this.#ctx;
    // Written, not waited for to be durable: nothing is sent for a denial.
    await auditIntent(ctx, { request, resolved, decision, input }, { wait: 'written' }).catch(
      (err: unknown) => {
        ctx.deps.logger.error(
          { err, requestId: request.requestId },
          'audit append failed for a denied request',
        );
      },
    );
    return finish(ctx, request, denied(request.requestId, decision), emptyRecord());
  }

  /** A request whose action could not be resolved because the venue failed: recorded as failed, nothing sent. */
  async #failUnresolved(
    agent: AuthenticatedAgent,
    name: ActionName,
    input: unknown,
    err: unknown,
  ): Promise<ActionResponse> {
    const ctx = this.#ctx;
    const claimed = await claim(ctx, agent, name, input, UNRESOLVED);
    if (claimed.replay !== undefined) return claimed.replay;
    const { requestId } = claimed.request;
    const response: ActionResponse = { requestId, status: 'failed', error: publicError(ctx, err, requestId) };
    return this.#tracked(requestId, () => finish(ctx, claimed.request, response, emptyRecord()));
  }

  /**
   * Runs an approved request's bound payload, once (BrokerControl). Checks, in order: the payload still hashes to
   * what operators approved; trading is not halted; the approval is approved, unexpired and not yet executed (an
   * atomic claim in the state store: two operators approving at once run it once, and both get its answer); the
   * agent is not revoked; the policy still permits it; the limits have room now. Then the allowed path runs as for
   * any request.
   */
  async executeApproved(requestId: string, operator: string): Promise<ActionResponse> {
    const ctx = this.#ctx;
    const { state } = ctx.deps;
    const approval = await state.approval(requestId);
    if (approval === undefined) {
      throw new CofreError('COFRE_APPROVAL_NOT_EXECUTABLE', `no request ${requestId} waits for approval`);
    }
    const bound = boundActionOf(approval);
    if (bound.action !== 'http_request') await ctx.halt.check(); // as in execute: a halt stops trading only
    if (!(await state.claimApprovedForExecution(requestId, ctx.now()))) {
      const row = await state.request(requestId);
      if ((await state.approval(requestId))?.status === 'executed' && row !== undefined) return stored(row);
      throw new CofreError(
        'COFRE_APPROVAL_NOT_EXECUTABLE',
        `request ${requestId} is ${approval.status}: only an approved, unexpired request runs, and only once`,
      );
    }
    return this.#tracked(requestId, () => this.#runApproved(requestId, bound, operator));
  }

  async #runApproved(
    requestId: string,
    bound: ReturnType<typeof boundActionOf>,
    operator: string,
  ): Promise<ActionResponse> {
    const ctx = this.#ctx;
    const { state } = ctx.deps;
    const agent = agentOf(bound);
    const request: Claimed = {
      requestId,
      agent,
      action: bound.action,
      account: bound.account,
      idempotencyKey: (await state.request(requestId))?.idempotencyKey,
    };
    await state.resumeRequest(requestId, ctx.now());
    const resolved: ResolvedAction = { question: questionOf(bound), payload: bound.send ?? undefined };
    const revoked = (await state.listAgents()).find((a) => a.id === agent.id)?.revokedAt !== undefined;
    const decision = ctx.deps.policy.decide(resolved.question);
    if (revoked || decision.decision === 'deny') {
      const reason = revoked ? `agent ${agent.id} was revoked before approval` : decision.reason;
      return this.#deny(request, resolved, { ...decision, decision: 'deny', reason }, bound.input);
    }
    return this.#run(request, bound.input, resolved, decision, operator);
  }

  /**
   * Cancels every open order of every configured account through the audited path (BrokerControl, for `cofre halt
   * --cancel-open-orders`). Runs while halted: a cancel only lowers risk.
   */
  async cancelAllOpenOrders(by: string): Promise<readonly CancelAllReport[]> {
    const ctx = this.#ctx;
    const operator: AuthenticatedAgent = { id: `operator:${by}`, policy: '' };
    const decision: PolicyDecision = {
      decision: 'allow',
      rule: 'operator',
      reason: `halt by ${by}`,
      policyHash: '',
      limits: [],
      shadow: [],
    };
    const reports: CancelAllReport[] = [];
    for (const account of Object.keys(ctx.deps.accounts)) {
      const input = { account };
      const claimed = await claim(ctx, operator, 'cancel_all_orders', input, decision);
      if (claimed.replay !== undefined) continue;
      const resolved: ResolvedAction = {
        question: plainQuestion(operator, 'cancel_all_orders', input),
        payload: undefined,
      };
      const answer = await this.#tracked(claimed.request.requestId, () =>
        this.#run(claimed.request, input, resolved, decision, by),
      );
      const orders = (answer.result as { orders?: readonly unknown[] } | undefined)?.orders ?? [];
      reports.push({
        account,
        cancelled: orders.length,
        ...(answer.error === undefined ? {} : { error: `${answer.error.code}: ${answer.error.message}` }),
      });
    }
    return reports;
  }

  /** Refuses new actions in this process; resolves once no venue write that passed the gate is in flight. */
  halt(state: HaltState): Promise<void> {
    return this.#ctx.halt.halt(state);
  }

  resume(): void {
    this.#ctx.halt.resume();
  }

  /** The halt in force, if any (this process's or one persisted by another). */
  halted(): Promise<HaltState | undefined> {
    return this.#ctx.halt.current();
  }

  /** Settles requests a stopped process left `executing`, and unknown outcomes' reservations (broker-reconcile). */
  reconcileInterrupted(before: Date, rows?: readonly RequestRecord[]): Promise<ReconcileReport> {
    return reconcileInterrupted(this.#ctx, before, rows);
  }

  /** The stored answer of an earlier request by the same agent (other agents' requests look missing). */
  async #getRequest(agent: AuthenticatedAgent, requestId: string): Promise<ActionResponse> {
    const record = await this.#ctx.deps.state.request(requestId);
    if (record?.agentId !== agent.id) {
      throw new CofreError('COFRE_REQUEST_NOT_FOUND', `no request ${requestId} of yours`);
    }
    return stored(await settledPending(this.#ctx, record));
  }
}

function parseActionName(action: string): ActionName {
  if (!Object.hasOwn(actionInputSchemas, action)) {
    throw new CofreError('COFRE_ACTION_UNKNOWN', `unknown action "${action.slice(0, 64)}"`, {
      details: { action },
    });
  }
  return action as ActionName;
}

function parseInput(name: ActionName, raw: unknown): unknown {
  const schema: z.ZodType = actionInputSchemas[name];
  const parsed = schema.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`);
    throw new CofreError('COFRE_INPUT_INVALID', `invalid input for ${name}: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  return parsed.data;
}
