import { randomBytes } from 'node:crypto';

import type { Logger } from 'pino';
import type { z } from 'zod';

import type { AuditSink } from '../audit/audit-log.js';
import type { AccountConfig } from '../config/config-schema.js';
import { CofreError, type ErrorCode, isCofreError } from '../errors.js';
import type { LimitCheck, PolicyDecision, PolicyEngine } from '../policy/policy-types.js';
import type { SecretValue } from '../secrets/secret-value.js';
import type { ApprovalRecord, HaltState } from '../state/control-store.js';
import type { RequestRecord, RequestStatus, StateStore } from '../state/state-store.js';
import type { Decimal, Order, VenueAccount, VenueCallRecord } from '../venues/venue-account.js';
import { venueTextOf } from '../venues/venue-error.js';
import { ACTION_NAMES, type ActionInput, actionInputSchemas, type ActionName } from './actions.js';
import type { RequestAdmission } from './agent-quotas.js';
import type { AuthenticatedAgent } from './agent-tokens.js';
import { agentOf, bindAction, boundActionOf, questionOf } from './approval-binding.js';
import type { BrokerControl } from './broker-control.js';
import { HaltGate } from './halt-gate.js';
import { canonicalInput, checkReplay, idempotencyKeyFor, keepsKey } from './idempotency.js';
import { settlementFor } from './limit-settlement.js';
import { limitsView } from './limits-view.js';
import {
  type AddressBookEntry,
  plainQuestion,
  resolveAction,
  type ResolvedAction,
} from './resolve-action.js';
import { openAccount, runAction } from './run-action.js';
import { scrubValue } from './scrub.js';

/** What every action answers (the HTTP body and the MCP tool result). Holds no secret. */
export interface ActionResponse {
  readonly requestId: string;
  readonly status: Exclude<RequestStatus, 'executing'>;
  readonly result?: unknown;
  /** The policy rule (or limit) that decided. */
  readonly rule?: string;
  readonly reason?: string;
  /** For `pending_approval`: until when operators may approve, and the hash of exactly what will be sent. */
  readonly approval?: { readonly expiresAt: string; readonly payloadHash: string };
  readonly error?: {
    readonly code: ErrorCode;
    readonly message: string;
    readonly retryable: boolean;
    /**
     * The venue's own words about the failure, when it gave any: untrusted text (data, not instructions), at most
     * 160 characters, cleaned, and dropped whole if it held any trace of a credential.
     */
    readonly venueText?: string;
  };
  /** Set on the stored answer of an earlier request, returned for a repeated write instead of sending it again. */
  readonly replayed?: true;
}

/** What the broker needs; all passed in, so tests and `cofre demo` wire real parts their own way. */
export interface BrokerDependencies {
  readonly accounts: Readonly<Record<string, AccountConfig>>;
  readonly policy: PolicyEngine;
  readonly audit: AuditSink;
  readonly state: StateStore;
  /** Opens (once) and returns the venue account for an account id. */
  readonly venue: (accountId: string) => Promise<VenueAccount>;
  readonly logger: Logger;
  readonly now?: () => Date;
  /**
   * Per-agent quotas and the request's deadline and priority (`agent-quotas.ts`), checked before anything else.
   * Optional so that unit tests may leave it out; `openBrokerRuntime` always sets it.
   */
  readonly admission?: RequestAdmission;
  /** Withdrawal destinations by label (`addressBook:`); none by default. */
  readonly addressBook?: Readonly<Record<string, AddressBookEntry>>;
  /** The reference price of a market, from a short cache; by default the venue's ticker, asked every time. */
  readonly referencePrice?: (
    accountId: string,
    venue: VenueAccount,
    symbol: string,
  ) => Promise<Decimal | undefined>;
  /** How long operators have to approve a request (ms); 15 minutes by default. */
  readonly approvalTtlMs?: number;
  /** Told of each new pending approval (the webhook); must not throw or block. */
  readonly onPendingApproval?: (approval: ApprovalRecord) => void;
}

/** What a surface can add to one request. */
export interface ExecuteOptions {
  /**
   * Asks the human at the agent's own client to confirm (MCP elicitation) for a `confirm` rule; resolves true only
   * on an explicit yes. Absent: the client cannot ask, and such a request is denied (fail closed).
   */
  readonly confirm?: (question: ConfirmQuestion) => Promise<boolean>;
}

/** What the human at the agent's client is asked to confirm: the exact action and the hash it is bound to. */
export interface ConfirmQuestion {
  readonly requestId: string;
  readonly summary: string;
  readonly payloadHash: string;
}

/** A request the broker has claimed, as the steps after the claim need it. */
interface Claimed {
  readonly requestId: string;
  readonly agent: AuthenticatedAgent;
  readonly action: ActionName;
  readonly account: string | undefined;
  readonly idempotencyKey: string | undefined;
}

/** What {@link Broker.reconcileInterrupted} did with each request left `executing`. */
export interface ReconcileReport {
  readonly resolved: readonly { readonly requestId: string; readonly status: 'executed' | 'failed' }[];
  readonly unresolved: readonly { readonly requestId: string; readonly reason: string }[];
}

const DEFAULT_APPROVAL_TTL_MS = 15 * 60_000;

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

/** Actions that spend limit budgets: they reserve before they are sent and settle after. */
const SPENDING_ACTIONS: ReadonlySet<ActionName> = new Set(['place_order', 'withdraw']);

/**
 * The path of one request (DESIGN.md, issue 9), one step per method, in this order:
 *
 *   admit → parse → halt check → resolve (order fitted to the market, reference price, notional; withdrawal label)
 *   → policy decides on the resolved action → claim (idempotency) → confirm or wait for approval, when policy asks
 *   → reserve the limits it draws on → audit intent → send (through the halt gate) → settle the reservation
 *   → scrub → record → audit outcome.
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
  readonly #deps: BrokerDependencies;
  readonly #now: () => Date;
  readonly #halt: HaltGate;

  constructor(deps: BrokerDependencies) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
    this.#halt = new HaltGate(deps.state);
  }

  /**
   * Runs one action for an authenticated agent. Throws `COFRE_AGENT_QUOTA_EXCEEDED` for an agent over its quotas,
   * `COFRE_HALTED` while trading is halted, and `COFRE_ACTION_UNKNOWN`, `COFRE_INPUT_INVALID`,
   * `COFRE_DESTINATION_UNKNOWN` or `COFRE_IDEMPOTENCY_CONFLICT` for a request that is not understood or contradicts
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
    const admission = this.#deps.admission;
    if (admission === undefined) return this.#execute(agent, action, rawInput, options);
    return admission.run(agent.id, action, () => this.#execute(agent, action, rawInput, options));
  }

  /**
   * The actions an agent could ever get other than denied under its policy, plus `get_request` (its own requests):
   * the tools listed to it (MCP `tools/list`, its OpenAPI document).
   */
  actionsFor(agent: AuthenticatedAgent): ReadonlySet<ActionName> {
    const allowed = this.#deps.policy.actionsFor(agent.policy);
    return new Set(ACTION_NAMES.filter((name) => name === 'get_request' || allowed.has(name)));
  }

  /** The path of one admitted request, step by step. */
  async #execute(
    agent: AuthenticatedAgent,
    action: string,
    rawInput: unknown,
    options: ExecuteOptions,
  ): Promise<ActionResponse> {
    const name = parseActionName(action);
    const input = parseInput(name, rawInput);
    if (name === 'get_request')
      return this.#getRequest(agent, (input as ActionInput<'get_request'>).requestId);
    this.#halt.check();
    let resolved: ResolvedAction;
    try {
      resolved = await this.#resolve(agent, name, input);
    } catch (err) {
      // An order the market cannot take, an unknown label: the agent's input, refused like a schema error. The
      // venue failing to give its rules or price is a failed request like any other venue failure.
      if (!isCofreError(err) || UNRESOLVABLE_INPUT.has(err.code)) throw err;
      return this.#failUnresolved(agent, name, input, err);
    }
    const decision = this.#deps.policy.decide(resolved.question);
    const claim = this.#claim(agent, name, input, decision);
    if (claim.replay !== undefined) return claim.replay;
    const { request } = claim;
    switch (decision.decision) {
      case 'deny':
        return this.#deny(request, resolved, decision, input);
      case 'approval':
        return this.#awaitApproval(request, resolved, decision, input);
      case 'confirm':
        return this.#confirmThenRun(request, resolved, decision, input, options);
      case 'allow':
        return this.#run(request, input, resolved, decision);
    }
  }

  /**
   * Resolves what the action would send. An action the agent's policy can never allow on that account is not
   * resolved at all: it is denied from its plain question, without asking the venue anything.
   */
  async #resolve(agent: AuthenticatedAgent, name: ActionName, input: unknown): Promise<ResolvedAction> {
    const plain = plainQuestion(agent, name, input);
    const { policy } = this.#deps;
    const reachable =
      policy.actionsFor(agent.policy).has(plain.action) &&
      (plain.account === undefined ||
        policy.accountsFor(agent.policy).includes(plain.account) ||
        this.#deps.accounts[plain.account] === undefined);
    if (!reachable) return { question: plain, payload: undefined };
    return resolveAction(
      {
        venue: (id) => openAccount(this.#deps, id),
        addressBook: this.#deps.addressBook ?? {},
        referencePrice: this.#deps.referencePrice ?? tickerPrice,
      },
      agent,
      name,
      input,
    );
  }

  /** A request whose action could not be resolved because the venue failed: recorded as failed, nothing sent. */
  #failUnresolved(
    agent: AuthenticatedAgent,
    name: ActionName,
    input: unknown,
    err: unknown,
  ): Promise<ActionResponse> {
    const claim = this.#claim(agent, name, input, UNRESOLVED);
    if (claim.replay !== undefined) return Promise.resolve(claim.replay);
    const { requestId } = claim.request;
    const response: ActionResponse = {
      requestId,
      status: 'failed',
      error: this.#publicError(err, requestId),
    };
    return this.#finish(claim.request, response, emptyRecord());
  }

  /**
   * Records the request as `executing`, claiming its idempotency key if it has one; or, when this agent already used
   * that key, the answer to give instead (see {@link replay}).
   */
  #claim(
    agent: AuthenticatedAgent,
    action: ActionName,
    input: unknown,
    decision: PolicyDecision,
  ): { readonly request: Claimed; readonly replay?: undefined } | { readonly replay: ActionResponse } {
    const canonical = canonicalInput(input);
    // A denied request claims no key: the same clientOrderId may be used once policy allows it.
    const idempotencyKey =
      decision.decision === 'deny' ? undefined : idempotencyKeyFor(agent.id, action, input);
    const account = plainQuestion(agent, action, input).account;
    const request: Claimed = { requestId: newRequestId(), agent, action, account, idempotencyKey };
    const now = this.#now();
    const claim = this.#deps.state.claimRequest({
      requestId: request.requestId,
      agentId: agent.id,
      action,
      account,
      idempotencyKey,
      input: canonical,
      status: 'executing',
      response: undefined,
      createdAt: now,
      updatedAt: now,
    });
    if (claim.claimed) return { request };
    return { replay: replay(this.#settledPending(claim.existing), canonical, input) };
  }

  /** A denial is recorded too; if even that cannot be written, the agent still gets the denial. */
  async #deny(
    request: Claimed,
    resolved: ResolvedAction,
    decision: PolicyDecision,
    input: unknown,
  ): Promise<ActionResponse> {
    await this.#auditIntent(request, resolved, decision, input).catch((err: unknown) => {
      this.#deps.logger.error(
        { err, requestId: request.requestId },
        'audit append failed for a denied request',
      );
    });
    return this.#finish(request, denied(request.requestId, decision), emptyRecord());
  }

  /**
   * An `approve` rule matched: the request is bound to the hash of exactly what will be sent and waits for
   * operators (`cofre approval approve`, `/v1/operator/approvals`). Nothing is reserved yet: limits are checked when
   * it is approved, so a pending request blocks no budget.
   */
  async #awaitApproval(
    request: Claimed,
    resolved: ResolvedAction,
    decision: PolicyDecision,
    input: unknown,
  ): Promise<ActionResponse> {
    const now = this.#now();
    const expiresAt = new Date(now.getTime() + (this.#deps.approvalTtlMs ?? DEFAULT_APPROVAL_TTL_MS));
    const { payload, payloadHash } = bindAction({
      agentId: request.agent.id,
      policy: request.agent.policy,
      action: request.action,
      account: request.account,
      input,
      send: resolved.payload ?? null,
      rule: decision.rule,
      policyHash: decision.policyHash,
    });
    try {
      await this.#auditIntent(request, resolved, decision, input);
    } catch (err) {
      this.#deps.state.releaseRequest(request.requestId);
      throw err;
    }
    const approval: ApprovalRecord = {
      requestId: request.requestId,
      agentId: request.agent.id,
      action: request.action,
      account: request.account,
      payload,
      payloadHash,
      rule: decision.rule,
      required: decision.approvers?.count ?? 1,
      approvers: decision.approvers?.of ?? [],
      status: 'pending',
      approvals: [],
      decidedBy: undefined,
      comment: undefined,
      createdAt: now,
      expiresAt,
      decidedAt: undefined,
    };
    this.#deps.state.createApproval(approval);
    const answer = await this.#finish(
      request,
      {
        requestId: request.requestId,
        status: 'pending_approval',
        rule: decision.rule,
        reason: `${decision.reason}; waiting for an operator's approval until ${expiresAt.toISOString()}: ask get_request with this requestId for the result, do not send it again`,
        approval: { expiresAt: expiresAt.toISOString(), payloadHash },
      },
      emptyRecord(),
    );
    this.#deps.onPendingApproval?.(approval);
    return answer;
  }

  /**
   * A `confirm` rule matched: the human at the agent's client confirms the exact action, or it is denied. Fails
   * closed: a client that cannot ask, or any error while asking, is a denial.
   */
  async #confirmThenRun(
    request: Claimed,
    resolved: ResolvedAction,
    decision: PolicyDecision,
    input: unknown,
    options: ExecuteOptions,
  ): Promise<ActionResponse> {
    const { payloadHash } = bindAction({
      agentId: request.agent.id,
      policy: request.agent.policy,
      action: request.action,
      account: request.account,
      input,
      send: resolved.payload ?? null,
      rule: decision.rule,
      policyHash: decision.policyHash,
    });
    const summary = `${request.agent.id} asks to ${request.action} ${describe(resolved, input)} (rule ${decision.rule})`;
    let confirmed = false;
    if (options.confirm !== undefined) {
      confirmed = await options
        .confirm({ requestId: request.requestId, summary, payloadHash })
        .catch((err: unknown) => {
          this.#deps.logger.warn({ err, requestId: request.requestId }, 'confirmation at the client failed');
          return false;
        });
    }
    if (!confirmed) {
      const why =
        options.confirm === undefined
          ? 'this action needs confirmation by the person at your client, and your client cannot ask (MCP elicitation)'
          : 'the person at your client did not confirm it';
      return this.#deny(request, resolved, { ...decision, decision: 'deny', reason: why }, input);
    }
    return this.#run(request, input, resolved, decision);
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
    // Only what spends budget reserves it: a preview or a read draws on nothing, whatever limits its rule names.
    const checks = SPENDING_ACTIONS.has(request.action) ? decision.limits : [];
    const refusal = await this.#reserve(request, resolved, checks);
    if (refusal !== undefined) return this.#finish(request, refusal, emptyRecord());
    try {
      await this.#auditIntent(request, resolved, decision, input, approvedBy);
    } catch (err) {
      // Fail closed: nothing was sent, so the reservation and the claim are given back.
      this.#deps.state.settleReservation(request.requestId, { kind: 'release' });
      this.#deps.state.releaseRequest(request.requestId);
      throw err;
    }
    return this.#send(request, input, resolved, decision);
  }

  /**
   * Reserves every limit the request draws on, atomically; a denial naming the first limit it would exceed
   * otherwise. An `openOrders` limit that looks full is checked once against the venue's own open orders first,
   * since fills and cancels made elsewhere are not seen otherwise (one venue request, only at the cap).
   */
  async #reserve(
    request: Claimed,
    resolved: ResolvedAction,
    checks: readonly LimitCheck[],
  ): Promise<ActionResponse | undefined> {
    const { state } = this.#deps;
    let result = state.reserve(request.requestId, checks, this.#now());
    const account = resolved.question.account;
    const refusedKey = result.ok ? undefined : result.key;
    const full = checks.find((c) => c.key === refusedKey);
    if (!result.ok && full?.measure === 'openOrders' && account !== undefined) {
      // Orders committed after this moment stay counted even if the venue's list, asked now, misses them.
      const asOf = this.#now();
      const open = await this.#venueOpenOrders(account, request.requestId);
      if (open !== undefined) {
        state.syncOpenOrders(
          account,
          open.map((o) => o.id),
          asOf,
        );
        result = state.reserve(request.requestId, checks, this.#now());
      }
    }
    if (result.ok) return undefined;
    return {
      requestId: request.requestId,
      status: 'denied',
      rule: result.limit,
      reason: `limit ${result.limit} would be exceeded: ${result.used} used of ${result.cap}, this request needs ${result.requested}; see get_limits`,
    };
  }

  /**
   * The venue's open orders, to recount a full `openOrders` limit; undefined when the venue cannot list them, so the
   * limit stays full as counted and the request is denied (and finished) instead of failing after its claim.
   */
  async #venueOpenOrders(account: string, requestId: string): Promise<readonly Order[] | undefined> {
    try {
      const venue = await openAccount(this.#deps, account);
      return await venue.fetchOpenOrders(undefined);
    } catch (err) {
      this.#deps.logger.warn({ err, requestId }, 'could not list open orders to recount an openOrders limit');
      return undefined;
    }
  }

  #auditIntent(
    request: Claimed,
    resolved: ResolvedAction,
    decision: PolicyDecision,
    input: unknown,
    approvedBy?: string,
  ): Promise<void> {
    return this.#deps.audit.append({
      kind: 'intent',
      requestId: request.requestId,
      agent: request.agent.id,
      action: request.action,
      account: request.account,
      decision: decision.decision,
      rule: decision.rule,
      policyHash: decision.policyHash,
      ...(decision.shadow.length === 0 ? {} : { shadow: decision.shadow }),
      ...(approvedBy === undefined ? {} : { approvedBy }),
      // SECURITY: a withdrawal is recorded by its label; the address stays in the operator's address book.
      detail: resolved.question.order ?? resolved.question.withdrawal ?? input,
    });
  }

  /** Runs an allowed request at its venue and finishes it, whatever happens; the held credentials are zeroed. */
  async #send(
    request: Claimed,
    input: unknown,
    resolved: ResolvedAction,
    decision: PolicyDecision,
  ): Promise<ActionResponse> {
    const { requestId } = request;
    const record: VenueCallRecord = { held: [], writeSent: false };
    const { rule } = decision;
    try {
      let response: ActionResponse;
      try {
        const result = await this.#result(request, input, resolved, record);
        response = { requestId, status: 'executed', result, rule };
      } catch (err) {
        response = { requestId, status: 'failed', rule, error: this.#publicError(err, requestId) };
      }
      this.#settle(request, SPENDING_ACTIONS.has(request.action) ? decision.limits : [], response, record);
      return await this.#finish(request, response, record);
    } finally {
      for (const value of record.held) value.zero();
    }
  }

  /** The result of an allowed action: cofre's own answers, or the venue's. */
  async #result(
    request: Claimed,
    input: unknown,
    resolved: ResolvedAction,
    record: VenueCallRecord,
  ): Promise<unknown> {
    const { action, agent } = request;
    if (action === 'get_limits') {
      return { limits: limitsView(this.#deps.policy, this.#deps.state, agent, this.#now()) };
    }
    if (action === 'preview_order') return this.#preview(resolved);
    if (action === 'get_request') throw new CofreError('COFRE_INTERNAL', 'get_request is not sent');
    return runAction(this.#deps, action, input, agent, {
      record,
      payload: resolved.payload,
      write: (send) => this.#halt.write(send),
    });
  }

  /** `preview_order`: the order as it would be sent and the decision `place_order` would get; nothing reserved. */
  #preview(resolved: ResolvedAction): unknown {
    const question = { ...resolved.question, action: 'place_order' as const };
    const decision = this.#deps.policy.decide(question);
    const usage = this.#deps.state.usage(decision.limits, this.#now());
    return {
      order: resolved.question.order,
      sent: false,
      decision: {
        decision: decision.decision,
        rule: decision.rule,
        reason: decision.reason,
        limits: decision.limits.map((check) => ({
          limit: check.limit,
          cap: check.cap,
          used: usage.get(check.key) ?? '0',
          needs: check.amount,
        })),
      },
    };
  }

  /**
   * Ends the request's reservation from its outcome (see limit-settlement.ts), and keeps the count of open orders
   * true for cancels and orders seen closed. Never throws: a failure here is logged, and the reservation stays
   * (counted, never forgotten) until reconciled.
   */
  #settle(
    request: Claimed,
    checks: readonly LimitCheck[],
    response: ActionResponse,
    record: VenueCallRecord,
  ): void {
    const { state } = this.#deps;
    const account = request.account ?? '';
    try {
      const result = response.result as { order?: Order; orders?: readonly Order[] } | undefined;
      const failure = response.error?.code;
      const outcome =
        response.status === 'executed'
          ? request.action === 'place_order' && result?.order !== undefined
            ? ({ kind: 'order', account, order: result.order } as const)
            : ({ kind: 'done' } as const)
          : keepsKey(failure, record.writeSent)
            ? ({ kind: 'unknown' } as const)
            : ({ kind: 'nothing-happened' } as const);
      const settlement = settlementFor(checks, outcome, this.#now());
      if (settlement !== undefined) state.settleReservation(request.requestId, settlement);
      if (request.action === 'place_order') return;
      const seen = result?.orders ?? (result?.order === undefined ? [] : [result.order]);
      for (const order of seen) if (order.status !== 'open') state.closeOpenOrder(account, order.id);
    } catch (err) {
      this.#deps.logger.error(
        { err, requestId: request.requestId },
        'could not settle the limits of a request; its reservation stays until reconciled',
      );
    }
  }

  /**
   * Runs an approved request's bound payload, once (BrokerControl). Checks, in order: the payload still hashes to
   * what operators approved; trading is not halted; the approval is approved, unexpired and not yet executed (an
   * atomic claim in the state store: two operators approving at once run it once); the agent is not revoked; the
   * policy still permits it; the limits have room now. Then the allowed path runs as for any request.
   */
  async executeApproved(requestId: string, operator: string): Promise<ActionResponse> {
    const { state } = this.#deps;
    const approval = state.approval(requestId);
    if (approval === undefined) {
      throw new CofreError('COFRE_APPROVAL_NOT_EXECUTABLE', `no request ${requestId} waits for approval`);
    }
    const bound = boundActionOf(approval);
    this.#halt.check();
    if (!state.claimApprovedForExecution(requestId, this.#now())) {
      // Another caller won the claim (two operators approving at once): its answer, never a second execution.
      const row = state.request(requestId);
      if (state.approval(requestId)?.status === 'executed' && row !== undefined) return stored(row);
      throw new CofreError(
        'COFRE_APPROVAL_NOT_EXECUTABLE',
        `request ${requestId} is ${approval.status}: only an approved, unexpired request runs, and only once`,
      );
    }
    const agent = agentOf(bound);
    const row = state.request(requestId);
    const request: Claimed = {
      requestId,
      agent,
      action: bound.action,
      account: bound.account,
      idempotencyKey: row?.idempotencyKey,
    };
    state.resumeRequest(requestId, this.#now());
    const resolved: ResolvedAction = { question: questionOf(bound), payload: bound.send ?? undefined };
    const revoked = state.listAgents().find((a) => a.id === agent.id)?.revokedAt !== undefined;
    const decision = this.#deps.policy.decide(resolved.question);
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
  async cancelAllOpenOrders(
    by: string,
  ): Promise<readonly { account: string; cancelled: number; error?: string }[]> {
    const operator: AuthenticatedAgent = { id: `operator:${by}`, policy: '' };
    const decision: PolicyDecision = {
      decision: 'allow',
      rule: 'operator',
      reason: `halt by ${by}`,
      policyHash: '',
      limits: [],
      shadow: [],
    };
    const reports = [];
    for (const account of Object.keys(this.#deps.accounts)) {
      const input = { account };
      const claim = this.#claim(operator, 'cancel_all_orders', input, decision);
      if (claim.replay !== undefined) continue;
      const resolved: ResolvedAction = {
        question: plainQuestion(operator, 'cancel_all_orders', input),
        payload: undefined,
      };
      const answer = await this.#run(claim.request, input, resolved, decision, by);
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
    return this.#halt.halt(state);
  }

  resume(): void {
    this.#halt.resume();
  }

  /** The halt in force, if any (this process's or one persisted by another). */
  halted(): HaltState | undefined {
    return this.#halt.current();
  }

  /** The stored answer of an earlier request by the same agent (other agents' requests look missing). */
  #getRequest(agent: AuthenticatedAgent, requestId: string): ActionResponse {
    const record = this.#deps.state.request(requestId);
    if (record?.agentId !== agent.id) {
      throw new CofreError('COFRE_REQUEST_NOT_FOUND', `no request ${requestId} of yours`);
    }
    return stored(this.#settledPending(record));
  }

  /**
   * A request still `pending_approval` whose approval was denied or expired is finished as denied, its key given
   * back, the first time anyone looks at it; otherwise the record as it is.
   */
  #settledPending(record: RequestRecord): RequestRecord {
    if (record.status !== 'pending_approval') return record;
    const now = this.#now();
    const approval = this.#deps.state.approval(record.requestId);
    const ended =
      approval === undefined
        ? 'its approval is missing'
        : approval.status === 'denied'
          ? `an operator denied it${approval.comment === undefined ? '' : `: ${approval.comment}`}`
          : approval.status === 'expired' ||
              (approval.status === 'pending' && approval.expiresAt.getTime() <= now.getTime())
            ? `no operator approved it before ${approval.expiresAt.toISOString()}`
            : undefined;
    if (ended === undefined) return record;
    const answer: ActionResponse = {
      requestId: record.requestId,
      status: 'denied',
      ...(approval === undefined ? {} : { rule: approval.rule }),
      reason: ended,
    };
    const response = JSON.stringify(answer);
    this.#deps.state.finishRequest(record.requestId, {
      status: 'denied',
      response,
      at: now,
      releaseKey: true,
    });
    return { ...record, status: 'denied', response, idempotencyKey: undefined };
  }

  /**
   * Settles requests left `executing` by a process that stopped in the middle of them (created before `before`;
   * pass a time at least the venue's signed-request window, e.g. 60 s, before now, so no signed request of theirs
   * can still arrive). An order is looked up at the venue by its clientOrderId: found, the request is `executed`
   * with it and its reservation committed; unknown to the venue, it `failed` with `COFRE_REQUEST_INTERRUPTED`, its
   * key and its reservation given back. Any other request (a read, a cancel, which is safe to send again) `failed`
   * with `COFRE_REQUEST_INTERRUPTED`. Then every order whose outcome was unknown, and that still holds a reservation,
   * is looked up the same way, so its budget is committed or given back. A venue that cannot answer leaves the
   * request as it is (its reservation counting), reported as unresolved. Each settled request gets an audit outcome.
   */
  async reconcileInterrupted(before: Date): Promise<ReconcileReport> {
    const resolved: { requestId: string; status: 'executed' | 'failed' }[] = [];
    const unresolved: { requestId: string; reason: string }[] = [];
    const unsettled = (requestId: string, err: unknown): void => {
      const reason = isCofreError(err) ? `${err.code}: ${err.message}` : 'unexpected error (see the log)';
      this.#deps.logger.warn({ err, requestId }, 'could not settle an interrupted request');
      unresolved.push({ requestId, reason });
    };
    for (const row of this.#deps.state.executingRequests(before)) {
      const request: Claimed = {
        requestId: row.requestId,
        agent: { id: row.agentId, policy: '' },
        action: row.action as ActionName,
        account: row.account,
        idempotencyKey: row.idempotencyKey,
      };
      const record: VenueCallRecord = { held: [], writeSent: false };
      try {
        const response = await this.#settleInterrupted(row, record);
        this.#settle(request, [], response, { held: [], writeSent: false });
        const finished = await this.#finish(request, response, record);
        resolved.push({
          requestId: row.requestId,
          status: finished.status === 'executed' ? 'executed' : 'failed',
        });
      } catch (err) {
        unsettled(row.requestId, err);
      } finally {
        for (const value of record.held) value.zero();
      }
    }
    for (const requestId of this.#deps.state.reservedRequests()) {
      const row = this.#deps.state.request(requestId);
      if (row === undefined || row.status === 'executing' || row.createdAt >= before) continue;
      try {
        await this.#settleUnknownReservation(row);
      } catch (err) {
        unsettled(requestId, err);
      }
    }
    return { resolved, unresolved };
  }

  /** Commits or releases the reservation of a finished request whose outcome was unknown, by asking the venue. */
  async #settleUnknownReservation(row: RequestRecord): Promise<void> {
    const { state } = this.#deps;
    if (row.status !== 'failed') {
      // Finished but left reserved (a failure while settling): it executed or waited, so it counts as reserved.
      state.settleReservation(row.requestId, { kind: 'commit', at: this.#now() });
      return;
    }
    if (row.action !== 'place_order') {
      throw new CofreError(
        'COFRE_INTERNAL',
        `request ${row.requestId} (${row.action}) has an unknown outcome; its reservation stays until an operator checks the venue`,
      );
    }
    const record: VenueCallRecord = { held: [], writeSent: false };
    try {
      const found = await this.#findInterruptedOrder(row, record);
      const account = row.account ?? '';
      const outcome =
        found === undefined
          ? ({ kind: 'nothing-happened' } as const)
          : ({ kind: 'order', account, order: found } as const);
      const settlement = settlementFor([], outcome, this.#now());
      if (settlement !== undefined) state.settleReservation(row.requestId, settlement);
    } finally {
      for (const value of record.held) value.zero();
    }
  }

  /** The answer an interrupted request ends with; throws when the venue cannot tell. */
  async #settleInterrupted(row: RequestRecord, record: VenueCallRecord): Promise<ActionResponse> {
    const interrupted = (message: string): ActionResponse => ({
      requestId: row.requestId,
      status: 'failed',
      error: { code: 'COFRE_REQUEST_INTERRUPTED', message, retryable: true },
    });
    if (row.action !== 'place_order') {
      return interrupted(
        `cofre stopped while ${row.action} was running; nothing more is known. It is safe to send again (a cancel of an order already cancelled fails with a clear reason).`,
      );
    }
    const found = await this.#findInterruptedOrder(row, record);
    if (found === undefined) {
      const { clientOrderId } = JSON.parse(row.input ?? '{}') as { clientOrderId?: string };
      return interrupted(
        `cofre stopped before order ${clientOrderId ?? '?'} reached the venue; nothing was placed and the clientOrderId may be used again`,
      );
    }
    return {
      requestId: row.requestId,
      status: 'executed',
      result: { order: found },
      reason: 'cofre stopped while placing this order; the venue has it',
    };
  }

  /** The venue's order for a stored `place_order` request, by its clientOrderId; undefined when the venue has none. */
  async #findInterruptedOrder(row: RequestRecord, record: VenueCallRecord): Promise<Order | undefined> {
    const order = JSON.parse(row.input ?? '{}') as Partial<ActionInput<'place_order'>>;
    if (order.account === undefined || order.symbol === undefined || order.clientOrderId === undefined) {
      throw new CofreError('COFRE_INTERNAL', `request ${row.requestId} has no stored order to look up`);
    }
    const venue = await openAccount(this.#deps, order.account);
    try {
      return await venue.fetchOrder(order.symbol, { clientOrderId: order.clientOrderId }, record);
    } catch (err) {
      if (!isCofreError(err, 'COFRE_VENUE_REJECTED') || err.details?.['error'] !== 'OrderNotFound') throw err;
      return undefined;
    }
  }

  /**
   * The last steps of every claimed request: scrub, record the outcome (giving the key back when nothing was
   * placed), and audit it. Never throws: the agent gets its answer even when the state store or the audit log fails
   * at this point (logged loudly; a request whose outcome could not be recorded stays `executing` until
   * {@link Broker.reconcileInterrupted} settles it).
   */
  async #finish(
    request: Claimed,
    response: ActionResponse,
    record: VenueCallRecord,
  ): Promise<ActionResponse> {
    const { requestId } = request;
    const { answer, text } = this.#scrubbed(response, record.held);
    const releaseKey = answer.status === 'denied' || !keepsKey(answer.error?.code, record.writeSent);
    try {
      this.#deps.state.finishRequest(requestId, {
        status: answer.status,
        response: text,
        at: this.#now(),
        releaseKey: request.idempotencyKey !== undefined && releaseKey,
      });
    } catch (err) {
      this.#deps.logger.error(
        { err, requestId },
        'could not record the outcome of a request; it stays executing until `cofre request reconcile` settles it',
      );
    }
    if (answer.status !== 'denied' && answer.status !== 'pending_approval') {
      await this.#deps.audit
        .append({
          kind: 'outcome',
          requestId,
          agent: request.agent.id,
          action: request.action,
          account: request.account,
          status: answer.status,
          detail: answer.error === undefined ? summarize(answer.result) : { error: answer.error.code },
        })
        .catch((err: unknown) => {
          // The action already happened; the intent is on record. Losing the outcome line is logged loudly.
          this.#deps.logger.error({ err, requestId }, 'audit append of an outcome failed');
        });
    }
    return answer;
  }
  /**
   * `response` with every credential the request's venue calls held removed, in every encoding, and its JSON text.
   * SECURITY: fails closed — if the response cannot be scrubbed and serialised (a held credential already zeroed, a
   * value JSON cannot hold), the agent gets a generic internal error, never the raw response.
   */
  #scrubbed(
    response: ActionResponse,
    held: readonly SecretValue[],
  ): { readonly answer: ActionResponse; readonly text: string } {
    try {
      const answer = scrubValue(response, held);
      return { answer, text: JSON.stringify(answer) };
    } catch (err) {
      this.#deps.logger.error(
        { err, requestId: response.requestId },
        'could not scrub a response; answered with a generic error instead',
      );
      const answer: ActionResponse = {
        requestId: response.requestId,
        status: 'failed',
        ...(response.rule === undefined ? {} : { rule: response.rule }),
        error: internalError(response.requestId),
      };
      return { answer, text: JSON.stringify(answer) };
    }
  }

  /** Domain errors pass through with their code; anything else is logged and shown generically. */
  #publicError(err: unknown, requestId: string): NonNullable<ActionResponse['error']> {
    if (isCofreError(err, 'COFRE_CREDENTIALS_UNAVAILABLE')) {
      // The agent is told only that the account cannot be used now; the operator needs the reason.
      this.#deps.logger.error(
        { err: err.cause, requestId },
        'the credentials of an account could not be read',
      );
    }
    if (isCofreError(err) && err.code !== 'COFRE_INTERNAL') {
      const venueText = venueTextOf(err);
      return {
        code: err.code,
        message: err.message,
        retryable: err.retryable,
        ...(venueText === undefined ? {} : { venueText }),
      };
    }
    this.#deps.logger.error({ err, requestId }, 'unexpected error while executing an action');
    return internalError(requestId);
  }
}

/** What a caller sees of an unexpected error: the code and where to look, nothing of the error itself. */
function internalError(requestId: string): NonNullable<ActionResponse['error']> {
  return {
    code: 'COFRE_INTERNAL',
    message: `internal error; see the server log for request ${requestId}`,
    retryable: false,
  };
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

function denied(requestId: string, decision: PolicyDecision): ActionResponse {
  return { requestId, status: 'denied', rule: decision.rule, reason: decision.reason };
}

/** A record for a request that calls no venue. */
function emptyRecord(): VenueCallRecord {
  return { held: [], writeSent: false };
}

/** The reference price without a cache: the venue's last price, asked every time. */
async function tickerPrice(
  _account: string,
  venue: VenueAccount,
  symbol: string,
): Promise<Decimal | undefined> {
  return (await venue.fetchTicker(symbol)).last;
}

/** A one-line description of an action for a person confirming it; no secret (a withdrawal shows its label). */
function describe(resolved: ResolvedAction, input: unknown): string {
  const { order, withdrawal, account } = resolved.question;
  if (order !== undefined) {
    const price = order.price === undefined ? 'at market' : `at ${order.price}`;
    return `${order.side} ${order.amount} ${order.symbol} ${price} (about ${order.notional} ${order.quote}) on ${account ?? '?'}`;
  }
  if (withdrawal !== undefined) {
    return `${withdrawal.amount} ${withdrawal.asset} from ${account ?? '?'} to ${withdrawal.destination}`;
  }
  return JSON.stringify(input);
}
/**
 * The answer to a write whose key this agent already used: the stored answer marked `replayed` when the request is
 * the same, `COFRE_REQUEST_IN_PROGRESS` while the first one runs, `COFRE_IDEMPOTENCY_CONFLICT` when it differs.
 */
function replay(existing: RequestRecord, canonical: string, input: unknown): ActionResponse {
  const ids = input as { clientOrderId?: string; clientWithdrawId?: string };
  checkReplay(
    existing.input,
    canonical,
    ids.clientWithdrawId === undefined
      ? { field: 'clientOrderId', value: ids.clientOrderId ?? '' }
      : { field: 'clientWithdrawId', value: ids.clientWithdrawId },
  );
  const answer = stored(existing);
  return answer.error?.code === 'COFRE_REQUEST_IN_PROGRESS' ? answer : { ...answer, replayed: true };
}

/** A stored request's answer; one still running says so instead of inviting a second order. */
function stored(record: RequestRecord): ActionResponse {
  if (record.response === undefined || record.status === 'executing') {
    return {
      requestId: record.requestId,
      status: 'failed',
      error: {
        code: 'COFRE_REQUEST_IN_PROGRESS',
        message: `request ${record.requestId} is still in progress; ask get_request with its requestId for the result`,
        retryable: true,
      },
      reason: `in progress as request ${record.requestId}`,
    };
  }
  return JSON.parse(record.response) as ActionResponse;
}

/** A short, secret-free summary of a result for the audit outcome line. */
function summarize(result: unknown): unknown {
  if (typeof result !== 'object' || result === null) return undefined;
  const order = (result as { order?: { id?: string; clientOrderId?: string; status?: string } }).order;
  if (order !== undefined)
    return { orderId: order.id, clientOrderId: order.clientOrderId, orderStatus: order.status };
  return undefined;
}

function newRequestId(): string {
  return `req_${randomBytes(12).toString('base64url')}`;
}
