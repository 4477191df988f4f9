import { randomBytes } from 'node:crypto';

import type { Logger } from 'pino';
import type { z } from 'zod';

import type { AuditSink } from '../audit/audit-log.js';
import type { AccountConfig } from '../config/config-schema.js';
import { CofreError, type ErrorCode, isCofreError } from '../errors.js';
import type { PolicyDecision, PolicyEngine } from '../policy/policy-engine.js';
import type { SecretValue } from '../secrets/secret-value.js';
import type { RequestRecord, RequestStatus, StateStore } from '../state/state-store.js';
import { normalizeOrder } from '../venues/order-normalizer.js';
import type { OrderRef, VenueAccount } from '../venues/venue-account.js';
import { type ActionInput, actionInputSchemas, type ActionName, WRITE_ACTIONS } from './actions.js';
import type { RequestAdmission } from './agent-quotas.js';
import type { AuthenticatedAgent } from './agent-tokens.js';
import { scrubSecrets } from './scrub.js';

/** What every action answers (the HTTP body and the MCP tool result). Holds no secret. */
export interface ActionResponse {
  readonly requestId: string;
  readonly status: Exclude<RequestStatus, 'executing'>;
  readonly result?: unknown;
  /** The policy rule that decided. */
  readonly rule?: string;
  readonly reason?: string;
  readonly error?: { readonly code: ErrorCode; readonly message: string; readonly retryable: boolean };
}

/** What the broker needs; all passed in, so tests and `cofre demo` wire real parts their own way. */
export interface BrokerDependencies {
  readonly accounts: Readonly<Record<string, AccountConfig>>;
  readonly policy: PolicyEngine;
  readonly audit: AuditSink;
  readonly state: StateStore;
  /** Opens (once) and returns the venue account for an account id. */
  readonly venue: (accountId: string) => Promise<VenueAccount>;
  /** The account's resolved credential values, to scrub them from responses; the caller zeroes them. */
  readonly credentials: (accountId: string) => Promise<readonly SecretValue[]>;
  readonly logger: Logger;
  readonly now?: () => Date;
  /**
   * Per-agent quotas and the request's deadline and priority (`agent-quotas.ts`), checked before anything else.
   * Optional so that unit tests may leave it out; `openBrokerRuntime` always sets it.
   */
  readonly admission?: RequestAdmission;
}

/**
 * The path of one request (DESIGN.md): validate → policy → idempotency claim (writes) → audit intent → venue →
 * scrub → audit outcome. Surfaces authenticate and call {@link Broker.execute}; the broker holds no HTTP, MCP or
 * argv knowledge.
 *
 * Guarantees:
 * - SECURITY: nothing leaves the process before the intent is durable in the audit log; if it cannot be written
 *   the action is refused (fail closed).
 * - A write with a `clientOrderId` already used on that account returns the first request's answer and is not sent
 *   again; a write whose outcome is unknown is reported as failed with `COFRE_VENUE_OUTCOME_UNKNOWN`, never retried.
 * - Responses are scrubbed of the account's credentials in every encoding.
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
   * `COFRE_ACTION_UNKNOWN` or `COFRE_INPUT_INVALID` for a request that is not understood (nothing is recorded);
   * every understood request gets a `requestId` and an {@link ActionResponse}, including denials and failures.
   */
  execute(agent: AuthenticatedAgent, action: string, rawInput: unknown): Promise<ActionResponse> {
    // Quotas first (issue 8, items 17-18): a refused request is parsed, stored and audited nowhere. The admission
    // also sets the request's deadline and priority, which the account queue in front of each venue honours.
    const admission = this.#deps.admission;
    if (admission === undefined) return this.#execute(agent, action, rawInput);
    return admission.run(agent.id, action, () => this.#execute(agent, action, rawInput));
  }

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
    const requestId = newRequestId();
    const now = this.#now();
    const idempotencyKey = WRITE_ACTIONS.has(name) ? idempotencyKeyFor(name, input) : undefined;

    const claim = this.#deps.state.claimRequest({
      requestId,
      agentId: agent.id,
      action: name,
      account,
      // A denied request claims nothing: the same clientOrderId may be used once policy allows it.
      idempotencyKey: decision.decision === 'allow' ? idempotencyKey : undefined,
      status: 'executing',
      response: undefined,
      createdAt: now,
      updatedAt: now,
    });
    if (!claim.claimed) return this.#replay(agent, claim.existing);

    const intent = {
      kind: 'intent',
      requestId,
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
        this.#deps.logger.error({ err, requestId }, 'audit append failed for a denied request');
      });
      return this.#finish(requestId, agent, name, account, denied(requestId, decision));
    }
    try {
      await this.#deps.audit.append(intent);
    } catch (err) {
      // Fail closed: nothing was sent, so the claim is released and the same clientOrderId may be tried again.
      this.#deps.state.releaseRequest(requestId);
      throw err;
    }

    let response: ActionResponse;
    try {
      const result = await this.#run(name, input, agent);
      response = { requestId, status: 'executed', result, rule: decision.rule };
    } catch (err) {
      response = {
        requestId,
        status: 'failed',
        rule: decision.rule,
        error: this.#publicError(err, requestId),
      };
    }
    return this.#finish(requestId, agent, name, account, response);
  }

  /** The stored answer of an earlier request by the same agent (other agents' requests look missing). */
  #getRequest(agent: AuthenticatedAgent, requestId: string): ActionResponse {
    const record = this.#deps.state.request(requestId);
    if (record?.agentId !== agent.id) {
      throw new CofreError('COFRE_REQUEST_NOT_FOUND', `no request ${requestId} of yours`);
    }
    return replayed(record);
  }

  #replay(agent: AuthenticatedAgent, existing: RequestRecord): ActionResponse {
    if (existing.agentId !== agent.id) {
      // Another agent used this clientOrderId on this account: refuse without revealing that agent's result.
      throw new CofreError(
        'COFRE_INPUT_INVALID',
        'clientOrderId already used on this account; choose a new one',
      );
    }
    return replayed(existing);
  }

  async #finish(
    requestId: string,
    agent: AuthenticatedAgent,
    action: ActionName,
    account: string | undefined,
    response: ActionResponse,
  ): Promise<ActionResponse> {
    const secrets = account === undefined ? [] : await this.#deps.credentials(account).catch(() => []);
    const scrubbed = JSON.parse(scrubSecrets(JSON.stringify(response), secrets)) as ActionResponse;
    for (const s of secrets) s.zero();
    this.#deps.state.finishRequest(requestId, scrubbed.status, JSON.stringify(scrubbed), this.#now());
    if (scrubbed.status !== 'denied') {
      await this.#deps.audit
        .append({
          kind: 'outcome',
          requestId,
          agent: agent.id,
          action,
          account,
          status: scrubbed.status,
          detail: scrubbed.error === undefined ? summarize(scrubbed.result) : { error: scrubbed.error.code },
        })
        .catch((err: unknown) => {
          // The action already happened; the intent is on record. Losing the outcome line is logged loudly.
          this.#deps.logger.error({ err, requestId }, 'audit append of an outcome failed');
        });
    }
    return scrubbed;
  }

  async #run(
    name: Exclude<ActionName, 'get_request'>,
    input: unknown,
    agent: AuthenticatedAgent,
  ): Promise<unknown> {
    switch (name) {
      case 'list_accounts':
        return {
          accounts: this.#deps.policy
            .accountsFor(agent.policy)
            .filter((id) => this.#deps.accounts[id] !== undefined)
            .map((id) => ({
              account: id,
              venue: this.#deps.accounts[id]?.venue,
              mode: this.#deps.accounts[id]?.mode,
            })),
        };
      case 'get_balance': {
        const i = input as ActionInput<'get_balance'>;
        return { balance: await (await this.#venue(i.account)).fetchBalance() };
      }
      case 'get_ticker': {
        const i = input as ActionInput<'get_ticker'>;
        return { ticker: await (await this.#venue(i.account)).fetchTicker(i.symbol) };
      }
      case 'get_open_orders': {
        const i = input as ActionInput<'get_open_orders'>;
        return { orders: await (await this.#venue(i.account)).fetchOpenOrders(i.symbol) };
      }
      case 'get_order': {
        const i = input as ActionInput<'get_order'>;
        return { order: await (await this.#venue(i.account)).fetchOrder(i.symbol, orderRef(i)) };
      }
      case 'preview_order': {
        const i = input as ActionInput<'preview_order'>;
        const venue = await this.#venue(i.account);
        return { order: await this.#normalize(venue, i), sent: false };
      }
      case 'place_order': {
        const i = input as ActionInput<'place_order'>;
        const venue = await this.#venue(i.account);
        const order = await this.#normalize(venue, i);
        return {
          order: await venue.placeOrder({
            symbol: order.symbol,
            side: order.side,
            type: order.type,
            amount: order.amount,
            price: order.price,
            clientOrderId: i.clientOrderId,
          }),
        };
      }
      case 'cancel_order': {
        const i = input as ActionInput<'cancel_order'>;
        return { order: await (await this.#venue(i.account)).cancelOrder(i.symbol, orderRef(i)) };
      }
    }
  }

  async #normalize(venue: VenueAccount, i: ActionInput<'preview_order'>) {
    const rules = await venue.market(i.symbol);
    // A market order's value is estimated at the last price; a limit order's at its own price.
    const reference = i.price ?? (await venue.fetchTicker(i.symbol)).last;
    if (reference === undefined) {
      throw new CofreError('COFRE_INPUT_INVALID', `no price for ${i.symbol} to estimate the order value`);
    }
    return normalizeOrder(rules, { ...i, price: i.price }, reference);
  }

  #venue(accountId: string): Promise<VenueAccount> {
    if (this.#deps.accounts[accountId] === undefined) {
      // Policy allowed an account that is not configured: a config mistake, not the agent's.
      throw new CofreError('COFRE_INTERNAL', `account "${accountId}" is not configured`);
    }
    return this.#deps.venue(accountId);
  }

  /** Domain errors pass through with their code; anything else is logged and shown generically. */
  #publicError(err: unknown, requestId: string): NonNullable<ActionResponse['error']> {
    if (isCofreError(err) && err.code !== 'COFRE_INTERNAL') {
      return { code: err.code, message: err.message, retryable: err.retryable };
    }
    this.#deps.logger.error({ err, requestId }, 'unexpected error while executing an action');
    return {
      code: 'COFRE_INTERNAL',
      message: `internal error; see the server log for request ${requestId}`,
      retryable: false,
    };
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

function accountOf(input: unknown): string | undefined {
  const account = (input as { account?: unknown }).account;
  return typeof account === 'string' ? account : undefined;
}

function idempotencyKeyFor(name: ActionName, input: unknown): string {
  const i = input as { account: string; clientOrderId?: string; orderId?: string };
  const ref = i.clientOrderId !== undefined ? `c:${i.clientOrderId}` : `o:${i.orderId ?? ''}`;
  return `${name}:${i.account}:${ref}`;
}

function orderRef(i: { orderId?: string | undefined; clientOrderId?: string | undefined }): OrderRef {
  return i.orderId !== undefined ? { orderId: i.orderId } : { clientOrderId: i.clientOrderId ?? '' };
}

function denied(requestId: string, decision: PolicyDecision): ActionResponse {
  return {
    requestId,
    status: decision.decision === 'approval' ? 'pending_approval' : 'denied',
    rule: decision.rule,
    reason: decision.reason,
  };
}

function replayed(record: RequestRecord): ActionResponse {
  if (record.response === undefined || record.status === 'executing') {
    // The first request with this key is still running: say so instead of sending a second order.
    return {
      requestId: record.requestId,
      status: 'failed',
      error: {
        code: 'COFRE_REQUEST_IN_PROGRESS',
        message: 'a request with this clientOrderId is still in progress; ask get_request with its requestId',
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
