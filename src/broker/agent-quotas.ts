/**
 * Per-agent quotas, checked first thing for every request, before anything is parsed, stored or audited (issue 8,
 * items 17 and 18): one agent must not be able to slow down another, neither with a flood of allowed requests nor
 * with a flood of requests that policy denies (each denial costs a state row and an audit line).
 *
 * Each agent has, in memory:
 * - a token bucket of requests (`requestsPerSecond`, `burst`);
 * - a limit on its requests in flight (`concurrency`);
 * - a token bucket of *denials* (`deniedPerMinute`, `deniedBurst`): every request policy denies takes a token; an
 *   agent with none left has all its requests refused until the bucket refills. A denied request is still recorded
 *   in full (state row, audit intent) while the agent is within this budget, so the audit trail keeps the first
 *   denials of a flood with every detail; what comes after is refused without touching the disk.
 *
 * A refused request gets `COFRE_AGENT_QUOTA_EXCEEDED` (retryable, with `details.retryAfterMs`) and costs a counter
 * increment. What the audit trail holds of refusals (the choice): once per `summaryIntervalMs` (a minute), per agent
 * that had any, one `quota` audit record and one warning log line with the counts by reason (rate, concurrency,
 * denials) and the number of denials the broker recorded — not a line per refusal, which is what the flood exploits.
 *
 * It also gives each admitted request its deadline and priority (see `venues/request-context.ts`), which the account
 * queue in front of each venue honours.
 *
 * Safe to call concurrently (single-threaded bookkeeping; no await between a check and its update).
 */
import { randomBytes } from 'node:crypto';

import type { Logger } from 'pino';

import type { AuditSink } from '../audit/audit-log.js';
import { CofreError } from '../errors.js';
import { runInRequestContext, type VenuePriority } from '../venues/request-context.js';

/** The limits, from `agents.quotas` and `agents.requestDeadline` in the config. */
export interface AgentQuotaLimits {
  /** Sustained requests per second per agent. */
  readonly requestsPerSecond: number;
  /** Requests an idle agent may send at once before the rate applies. */
  readonly burst: number;
  /** Requests of one agent in flight at once. */
  readonly concurrency: number;
  /** Sustained denied requests per minute per agent before all its requests are refused for a while. */
  readonly deniedPerMinute: number;
  /** Denied requests an agent may have in a row before `deniedPerMinute` applies. */
  readonly deniedBurst: number;
  /** How long a request may wait for its venue before it is refused unsent, in ms. */
  readonly requestDeadlineMs: number;
}

/** Defaults, the same as the config schema's. */
export const DEFAULT_AGENT_QUOTA_LIMITS: AgentQuotaLimits = {
  requestsPerSecond: 10,
  burst: 20,
  concurrency: 8,
  deniedPerMinute: 30,
  deniedBurst: 10,
  requestDeadlineMs: 20_000,
};

/** What the broker needs from the quotas: a wrapper around one request. */
export interface RequestAdmission {
  /**
   * Runs `next` (the whole broker path of one request) if the agent is within its quotas, inside the request's
   * deadline and priority context; throws `COFRE_AGENT_QUOTA_EXCEEDED` without calling it otherwise. Counts a
   * response whose `status` is `denied` against the agent's denial budget.
   */
  run<T extends { readonly status: string }>(
    agentId: string,
    action: string,
    next: () => Promise<T>,
  ): Promise<T>;
}

type Reason = 'rate' | 'concurrency' | 'denials';

interface Bucket {
  tokens: number;
  at: number;
}

interface AgentState {
  readonly requests: Bucket;
  readonly denials: Bucket;
  inFlight: number;
  /** Since the last summary. */
  readonly refused: Record<Reason, number>;
  denied: number;
}

/** The quotas of every agent; see the module comment. */
export class AgentQuotas implements RequestAdmission {
  readonly #limits: AgentQuotaLimits;
  readonly #now: () => number;
  readonly #logger: Logger;
  readonly #audit: AuditSink | undefined;
  readonly #agents = new Map<string, AgentState>();
  readonly #timer: NodeJS.Timeout;
  #windowStart: number;

  constructor(
    limits: AgentQuotaLimits,
    options: { logger: Logger; audit?: AuditSink; now?: () => number; summaryIntervalMs?: number },
  ) {
    checkLimits(limits);
    this.#limits = limits;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
    this.#audit = options.audit;
    this.#windowStart = this.#now();
    this.#timer = setInterval(() => {
      void this.flush();
    }, options.summaryIntervalMs ?? 60_000);
    this.#timer.unref();
  }

  async run<T extends { readonly status: string }>(
    agentId: string,
    action: string,
    next: () => Promise<T>,
  ): Promise<T> {
    const now = this.#now();
    const agent = this.#agent(agentId, now);
    const perMs = {
      requests: this.#limits.requestsPerSecond / 1000,
      denials: this.#limits.deniedPerMinute / 60_000,
    };
    refill(agent.requests, now, perMs.requests, this.#limits.burst);
    refill(agent.denials, now, perMs.denials, this.#limits.deniedBurst);
    if (agent.denials.tokens < 1) {
      throw this.#refuse(agent, 'denials', waitFor(agent.denials, perMs.denials));
    }
    if (agent.inFlight >= this.#limits.concurrency) throw this.#refuse(agent, 'concurrency', 1000);
    if (agent.requests.tokens < 1) {
      throw this.#refuse(agent, 'rate', waitFor(agent.requests, perMs.requests));
    }
    agent.requests.tokens -= 1;
    agent.inFlight += 1;
    try {
      const context = { deadline: now + this.#limits.requestDeadlineMs, priority: priorityOf(action) };
      const response = await runInRequestContext(context, next);
      // Reading back an earlier request decides nothing: its stored answer may be `denied`, but polling it is not a
      // new denial (an agent waiting on an operator who refused would otherwise lock itself out).
      if (response.status === 'denied' && action !== 'get_request') {
        agent.denied += 1;
        agent.denials.tokens = Math.max(0, agent.denials.tokens - 1);
      }
      return response;
    } finally {
      agent.inFlight -= 1;
    }
  }

  /**
   * Writes the summary of the window that ends now (one audit record and one log line per agent with refusals or
   * denials) and forgets idle agents. Called every `summaryIntervalMs` and by {@link close}.
   */
  async flush(): Promise<void> {
    const start = this.#windowStart;
    const end = this.#now();
    this.#windowStart = end;
    const appends: Promise<void>[] = [];
    for (const [agentId, agent] of this.#agents) {
      const refused = agent.refused.rate + agent.refused.concurrency + agent.refused.denials;
      if (refused > 0 || agent.denied > 0) {
        const detail = {
          from: new Date(start).toISOString(),
          to: new Date(end).toISOString(),
          refused: { ...agent.refused },
          deniedAndRecorded: agent.denied,
        };
        this.#logger.warn({ agent: agentId, ...detail }, 'agent quota summary: requests refused or denied');
        if (refused > 0 && this.#audit !== undefined) {
          appends.push(
            this.#audit
              .append({
                kind: 'quota',
                requestId: `quota_${randomBytes(12).toString('base64url')}`,
                agent: agentId,
                action: '*',
                status: 'refused',
                detail,
              })
              .catch((err: unknown) => {
                this.#logger.error({ err, agent: agentId }, 'audit append of a quota summary failed');
              }),
          );
        }
        agent.refused.rate = agent.refused.concurrency = agent.refused.denials = 0;
        agent.denied = 0;
      } else if (agent.inFlight === 0 && isFull(agent, end, this.#limits)) {
        this.#agents.delete(agentId);
      }
    }
    await Promise.all(appends);
  }

  /** Stops the summary timer and writes the last summary. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  #agent(agentId: string, now: number): AgentState {
    let agent = this.#agents.get(agentId);
    if (agent === undefined) {
      agent = {
        requests: { tokens: this.#limits.burst, at: now },
        denials: { tokens: this.#limits.deniedBurst, at: now },
        inFlight: 0,
        refused: { rate: 0, concurrency: 0, denials: 0 },
        denied: 0,
      };
      this.#agents.set(agentId, agent);
    }
    return agent;
  }

  #refuse(agent: AgentState, reason: Reason, retryAfterMs: number): CofreError {
    agent.refused[reason] += 1;
    const wait = Math.max(1, Math.ceil(retryAfterMs));
    const what = {
      rate: `more than ${this.#limits.requestsPerSecond} requests per second (burst ${this.#limits.burst})`,
      concurrency: `more than ${this.#limits.concurrency} requests in flight at once`,
      denials: `more than ${this.#limits.deniedPerMinute} denied requests per minute (burst ${this.#limits.deniedBurst}); ask only for what your policy allows`,
    }[reason];
    return new CofreError(
      'COFRE_AGENT_QUOTA_EXCEEDED',
      `too many requests from this agent: ${what}; nothing was done, retry in ${Math.ceil(wait / 1000)} s`,
      { details: { quota: reason, retryAfterMs: wait } },
    );
  }
}

/** Cancels go first, then new orders, then everything else (see `venues/account-queue.ts`). */
function priorityOf(action: string): VenuePriority {
  if (action === 'cancel_order' || action === 'cancel_all_orders') return 'cancel';
  if (action === 'place_order' || action === 'withdraw') return 'write';
  return 'read';
}

function refill(bucket: Bucket, now: number, perMs: number, capacity: number): void {
  if (now > bucket.at) bucket.tokens = Math.min(capacity, bucket.tokens + (now - bucket.at) * perMs);
  bucket.at = now;
}

/** Ms until the bucket holds one token. */
function waitFor(bucket: Bucket, perMs: number): number {
  return (1 - bucket.tokens) / perMs;
}

function isFull(agent: AgentState, now: number, limits: AgentQuotaLimits): boolean {
  refill(agent.requests, now, limits.requestsPerSecond / 1000, limits.burst);
  refill(agent.denials, now, limits.deniedPerMinute / 60_000, limits.deniedBurst);
  return agent.requests.tokens >= limits.burst && agent.denials.tokens >= limits.deniedBurst;
}

function checkLimits(limits: AgentQuotaLimits): void {
  const ok =
    limits.requestsPerSecond > 0 &&
    limits.burst >= 1 &&
    Number.isInteger(limits.concurrency) &&
    limits.concurrency >= 1 &&
    limits.deniedPerMinute > 0 &&
    limits.deniedBurst >= 1 &&
    limits.requestDeadlineMs > 0;
  if (!ok) {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      'agent quotas must be positive: requestsPerSecond, burst, concurrency, deniedPerMinute, deniedBurst, requestDeadline',
    );
  }
}
