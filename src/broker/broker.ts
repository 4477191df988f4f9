import { randomBytes } from 'node:crypto';

import type { Logger } from 'pino';
import type { z } from 'zod';

import type { AuditSink } from '../audit/audit-log.js';
import type { AccountConfig } from '../config/config-schema.js';
import { CofreError, type ErrorCode, isCofreError } from '../errors.js';
import type { PolicyDecision, PolicyEngine } from '../policy/policy-engine.js';
import type { SecretValue } from '../secrets/secret-value.js';
import type { RequestRecord, RequestStatus, StateStore } from '../state/state-store.js';
import type { VenueAccount, VenueCallRecord } from '../venues/venue-account.js';
import { venueTextOf } from '../venues/venue-error.js';
import { type ActionInput, actionInputSchemas, type ActionName } from './actions.js';
import type { RequestAdmission } from './agent-quotas.js';
import type { AuthenticatedAgent } from './agent-tokens.js';
import { canonicalInput, checkReplay, idempotencyKeyFor, keepsKey } from './idempotency.js';
import { type BrokerAction, openAccount, runAction } from './run-action.js';
import { scrubValue } from './scrub.js';

/** What every action answers (the HTTP body and the MCP tool result). Holds no secret. */
export interface ActionResponse {
  readonly requestId: string;
  readonly status: Exclude<RequestStatus, 'executing'>;
  readonly result?: unknown;
  /** The policy rule that decided. */
  readonly rule?: string;
  readonly reason?: string;
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
}

/** A request the broker has claimed, as the steps after the claim need it. */
interface Claimed {
  readonly requestId: string;
  readonly agent: AuthenticatedAgent;
  readonly action: BrokerAction;
  readonly account: string | undefined;
  readonly idempotencyKey: string | undefined;
}

/** What {@link Broker.reconcileInterrupted} did with each request left `executing`. */
export interface ReconcileReport {
  readonly resolved: readonly { readonly requestId: string; readonly status: 'executed' | 'failed' }[];
  readonly unresolved: readonly { readonly requestId: string; readonly reason: string }[];
}

/**
 * The path of one request (DESIGN.md): validate → policy → claim (idempotency for writes) → audit intent → venue →
 * scrub → record → audit outcome. Surfaces authenticate and call {@link Broker.execute}; the broker holds no HTTP,
 * MCP or argv knowledge.
 *
 * Guarantees:
 * - SECURITY: nothing leaves the process before the intent is durable in the audit log; if it cannot be written
 *   the action is refused (fail closed).
 * - An order placed again with the same `clientOrderId` by the same agent returns the first request's answer,
 *   marked `replayed`, and is not sent again; the same key with a different order is refused with
 *   `COFRE_IDEMPOTENCY_CONFLICT`. Keys are the agent's own, and are given back when nothing was placed
 *   (see idempotency.ts). A write whose outcome is unknown is reported as `COFRE_VENUE_OUTCOME_UNKNOWN`, never
 *   retried.
 * - SECURITY: responses are scrubbed, in every encoding, of the credentials the request's venue calls held; if
 *   scrubbing cannot be done the agent gets a generic error instead (fail closed). Nothing is resolved for a
 *   request that sends nothing.
 * - Every claimed request is finished (executed or failed) on every path; one left `executing` by a crash is settled
 *   by {@link Broker.reconcileInterrupted}.
 *
 * Safe to call concurrently.
 */
export class Broker {
  readonly #deps: BrokerDependencies;
  readonly #now: () => Date;

  constructor(deps: BrokerDependencies) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
  }

  /**
   * Runs one action for an authenticated agent. Throws `COFRE_AGENT_QUOTA_EXCEEDED` for an agent over its quotas,
   * and `COFRE_ACTION_UNKNOWN`, `COFRE_INPUT_INVALID` or `COFRE_IDEMPOTENCY_CONFLICT` for a request that is not
   * understood or contradicts an earlier one (nothing is recorded); every other request gets a `requestId` and an
   * {@link ActionResponse}, including denials and failures.
   */
  execute(agent: AuthenticatedAgent, action: string, rawInput: unknown): Promise<ActionResponse> {
    // Quotas first (issue 8, items 17-18): a refused request is parsed, stored and audited nowhere. The admission
    // also sets the request's deadline and priority, which the account queue in front of each venue honours.
    const admission = this.#deps.admission;
    if (admission === undefined) return this.#execute(agent, action, rawInput);
    return admission.run(agent.id, action, () => this.#execute(agent, action, rawInput));
  }

  /** The path of one admitted request, step by step. */
  async #execute(agent: AuthenticatedAgent, action: string, rawInput: unknown): Promise<ActionResponse> {
    const name = parseActionName(action);
    const input = parseInput(name, rawInput);
    if (name === 'get_request')
      return this.#getRequest(agent, (input as ActionInput<'get_request'>).requestId);

    const account = accountOf(input);
    const decision = this.#deps.policy.decide({
      agentId: agent.id,
      policy: agent.policy,
      action: name,
      account,
    });
    const claim = this.#claim(agent, name, account, input, decision);
    if (claim.replay !== undefined) return claim.replay;
    const { request } = claim;
    const intent = {
      kind: 'intent',
      requestId: request.requestId,
      agent: agent.id,
      action: name,
      account,
      decision: decision.decision,
      rule: decision.rule,
      detail: input,
    } as const;
    if (decision.decision !== 'allow') {
      // A denial is recorded too; if even that cannot be written, the agent still gets the denial.
      await this.#deps.audit.append(intent).catch((err: unknown) => {
        this.#deps.logger.error(
          { err, requestId: request.requestId },
          'audit append failed for a denied request',
        );
      });
      return this.#finish(request, denied(request.requestId, decision), { held: [], writeSent: false });
    }
    try {
      await this.#deps.audit.append(intent);
    } catch (err) {
      // Fail closed: nothing was sent, so the claim is released and the same clientOrderId may be tried again.
      this.#deps.state.releaseRequest(request.requestId);
      throw err;
    }
    return this.#send(request, input, decision.rule);
  }

  /**
   * Records the request as `executing`, claiming its idempotency key if it has one; or, when this agent already used
   * that key, the answer to give instead (see {@link replay}).
   */
  #claim(
    agent: AuthenticatedAgent,
    action: BrokerAction,
    account: string | undefined,
    input: unknown,
    decision: PolicyDecision,
  ): { readonly request: Claimed; readonly replay?: undefined } | { readonly replay: ActionResponse } {
    const canonical = canonicalInput(input);
    // A denied request claims no key: the same clientOrderId may be used once policy allows it.
    const idempotencyKey =
      decision.decision === 'allow' ? idempotencyKeyFor(agent.id, action, input) : undefined;
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
    return claim.claimed ? { request } : { replay: replay(claim.existing, canonical, input) };
  }

  /** Runs an allowed request at its venue and finishes it, whatever happens; the held credentials are zeroed. */
  async #send(request: Claimed, input: unknown, rule: string): Promise<ActionResponse> {
    const { requestId } = request;
    const record: VenueCallRecord = { held: [], writeSent: false };
    try {
      let response: ActionResponse;
      try {
        const result = await runAction(this.#deps, request.action, input, request.agent, record);
        response = { requestId, status: 'executed', result, rule };
      } catch (err) {
        response = { requestId, status: 'failed', rule, error: this.#publicError(err, requestId) };
      }
      return await this.#finish(request, response, record);
    } finally {
      for (const value of record.held) value.zero();
    }
  }

  /**
   * Settles requests left `executing` by a process that stopped in the middle of them (created before `before`;
   * pass a time at least the venue's signed-request window, e.g. 60 s, before now, so no signed request of theirs
   * can still arrive). An order is looked up at the venue by its clientOrderId: found, the request is `executed`
   * with it; unknown to the venue, it `failed` with `COFRE_REQUEST_INTERRUPTED` and its key is given back. Any other
   * request (a read, a cancel, which is safe to send again) `failed` with `COFRE_REQUEST_INTERRUPTED`. A venue that
   * cannot answer leaves the request as it is, reported as unresolved. Each settled request gets an audit outcome.
   */
  async reconcileInterrupted(before: Date): Promise<ReconcileReport> {
    const resolved: { requestId: string; status: 'executed' | 'failed' }[] = [];
    const unresolved: { requestId: string; reason: string }[] = [];
    for (const row of this.#deps.state.executingRequests(before)) {
      const request: Claimed = {
        requestId: row.requestId,
        agent: { id: row.agentId, policy: '' },
        action: row.action as BrokerAction,
        account: row.account,
        idempotencyKey: row.idempotencyKey,
      };
      const record: VenueCallRecord = { held: [], writeSent: false };
      try {
        const response = await this.#settleInterrupted(row, record);
        const finished = await this.#finish(request, response, record);
        resolved.push({
          requestId: row.requestId,
          status: finished.status === 'executed' ? 'executed' : 'failed',
        });
      } catch (err) {
        const reason = isCofreError(err) ? `${err.code}: ${err.message}` : 'unexpected error (see the log)';
        this.#deps.logger.warn({ err, requestId: row.requestId }, 'could not settle an interrupted request');
        unresolved.push({ requestId: row.requestId, reason });
      } finally {
        for (const value of record.held) value.zero();
      }
    }
    return { resolved, unresolved };
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
    const order = JSON.parse(row.input ?? '{}') as Partial<ActionInput<'place_order'>>;
    if (order.account === undefined || order.symbol === undefined || order.clientOrderId === undefined) {
      throw new CofreError('COFRE_INTERNAL', `request ${row.requestId} has no stored order to look up`);
    }
    const venue = await openAccount(this.#deps, order.account);
    try {
      const found = await venue.fetchOrder(order.symbol, { clientOrderId: order.clientOrderId }, record);
      return {
        requestId: row.requestId,
        status: 'executed',
        result: { order: found },
        reason: 'cofre stopped while placing this order; the venue has it',
      };
    } catch (err) {
      if (!isCofreError(err, 'COFRE_VENUE_REJECTED') || err.details?.['error'] !== 'OrderNotFound') throw err;
      return interrupted(
        `cofre stopped before order ${order.clientOrderId} reached the venue; nothing was placed and the clientOrderId may be used again`,
      );
    }
  }

  /** The stored answer of an earlier request by the same agent (other agents' requests look missing). */
  #getRequest(agent: AuthenticatedAgent, requestId: string): ActionResponse {
    const record = this.#deps.state.request(requestId);
    if (record?.agentId !== agent.id) {
      throw new CofreError('COFRE_REQUEST_NOT_FOUND', `no request ${requestId} of yours`);
    }
    return stored(record);
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
    try {
      this.#deps.state.finishRequest(requestId, {
        status: answer.status,
        response: text,
        at: this.#now(),
        releaseKey: request.idempotencyKey !== undefined && !keepsKey(answer.error?.code, record.writeSent),
      });
    } catch (err) {
      this.#deps.logger.error(
        { err, requestId },
        'could not record the outcome of a request; it stays executing until `cofre request reconcile` settles it',
      );
    }
    if (answer.status !== 'denied') {
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

function accountOf(input: unknown): string | undefined {
  const account = (input as { account?: unknown }).account;
  return typeof account === 'string' ? account : undefined;
}

function denied(requestId: string, decision: PolicyDecision): ActionResponse {
  return {
    requestId,
    status: decision.decision === 'approval' ? 'pending_approval' : 'denied',
    rule: decision.rule,
    reason: decision.reason,
  };
}

/**
 * The answer to a write whose key this agent already used: the stored answer marked `replayed` when the request is
 * the same, `COFRE_REQUEST_IN_PROGRESS` while the first one runs, `COFRE_IDEMPOTENCY_CONFLICT` when it differs.
 */
function replay(existing: RequestRecord, canonical: string, input: unknown): ActionResponse {
  checkReplay(existing.input, canonical, (input as { clientOrderId: string }).clientOrderId);
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
