import type { AuditReader } from '../audit/audit-reader.js';
import type { ScannedRecord } from '../audit/scan-audit-records.js';
import { CofreError } from '../errors.js';
import type { AgentSessionRecord } from '../identity/session-types.js';
import type { LimitView, PolicyEngine } from '../policy/policy-types.js';
import type { OperatorRecord } from '../state/control-store.js';
import type { AgentRecord, RequestFilter, RequestRecord, StateStore } from '../state/state-store.js';
import type {
  ActivityJson,
  AgentJson,
  AuditRecordJson,
  LimitsJson,
  LimitUsageJson,
  OperatorJson,
  RequestsJson,
  RequestStoryJson,
  RequestSummaryJson,
} from '../surfaces/http/operator-api-types.js';
import { compareDecimal, subtractDecimal } from '../venues/decimal.js';
import { approvalView } from './operator-actions.js';

/** Requests the activity chart counts at most: a busier window is counted from its newest this many. */
export const ACTIVITY_MAX_REQUESTS = 200_000;

/** Requests of one millisecond a page holds at most when they are more than its limit (see newestFirstPage). */
const TIE_MAX = 1_000;

/** Rows read per `listRequests` call while counting activity. */
const ACTIVITY_PAGE = 5_000;

/** What {@link OperatorViews} reads. */
export interface OperatorViewsDependencies {
  readonly store: StateStore;
  readonly policy: PolicyEngine;
  /** Every policy name in the config. */
  readonly policies: readonly string[];
  readonly audit: AuditReader;
  readonly now: () => Date;
}

/**
 * What the operator console (issue 18) reads, in the JSON of `operator-api-types.ts`: requests and one request's
 * story, every limit with its usage, agents and operators, activity over time. Reads only; holds no secret (token
 * hashes never leave the store). Safe to call concurrently.
 */
export class OperatorViews {
  readonly #deps: OperatorViewsDependencies;

  constructor(deps: OperatorViewsDependencies) {
    this.#deps = deps;
  }

  /**
   * Newest first, at most `limit`; `nextBefore` pages on. Requests created in the same millisecond are never split
   * across two pages (the page ends before them and `nextBefore` includes them), so paging loses none; a page is
   * longer than `limit` only when more than `limit` requests share one millisecond.
   */
  async requests(filter: Omit<RequestFilter, 'limit'>, limit: number): Promise<RequestsJson> {
    const page = await newestFirstPage(this.#deps.store, filter, limit);
    return { requests: page.rows.map(requestSummary), nextBefore: page.nextBefore?.toISOString() ?? null };
  }

  /** One request's story; `COFRE_REQUEST_NOT_FOUND` when the state store has no such request (any more). */
  async story(requestId: string): Promise<RequestStoryJson> {
    const record = await this.#deps.store.request(requestId);
    if (record === undefined) {
      throw new CofreError(
        'COFRE_REQUEST_NOT_FOUND',
        `no request ${requestId} in the state store (older ones are in the audit log: cofre audit query --request)`,
      );
    }
    const approval = await this.#deps.store.approval(requestId);
    const records = await this.#deps.audit.recordsOf(requestId, record.createdAt);
    const audit = records.map(auditRecordJson);
    const first = audit[0] === undefined ? NaN : Date.parse(audit[0].at);
    return {
      request: requestSummary(record),
      response: record.response === undefined ? null : parseJson(record.response),
      approval: approval === undefined ? null : approvalView(approval, this.#deps.now()),
      audit,
      timings: audit.map((r) => ({ seq: r.seq, kind: r.kind, afterMs: Date.parse(r.at) - first })),
    };
  }

  /**
   * Every limit of every active agent (and workload identity with a live exchanged token) with its usage now; a
   * budget several agents share (an account's, a policy's) is one ledger key, listed once with all of them.
   */
  async limits(): Promise<LimitsJson> {
    const at = this.#deps.now();
    const agents = await this.agents();
    const byKey = new Map<string, { view: LimitView; policies: Set<string>; agents: Set<string> }>();
    for (const agent of agents.agents) {
      if (agent.status !== 'active') continue;
      for (const view of this.#deps.policy.limitsFor(agent.id, agent.policy)) {
        const entry = byKey.get(view.key) ?? { view, policies: new Set(), agents: new Set() };
        entry.policies.add(agent.policy);
        entry.agents.add(agent.id);
        byKey.set(view.key, entry);
      }
    }
    const entries = [...byKey.values()];
    const usage = await this.#deps.store.usage(
      entries.map((e) => e.view),
      at,
    );
    const limits: LimitUsageJson[] = entries.map(({ view, policies, agents: users }) => {
      const used = usage.get(view.key) ?? '0';
      return {
        limit: view.limit,
        key: view.key,
        measure: view.measure,
        scope: view.scope,
        windowMs: view.windowMs ?? null,
        unit: view.unit ?? null,
        cap: view.cap,
        used,
        remaining: compareDecimal(used, view.cap) >= 0 ? '0' : subtractDecimal(view.cap, used),
        policies: [...policies].sort(),
        agents: [...users].sort(),
      };
    });
    return { limits, agents: agents.agents, policies: agents.policies, at: at.toISOString() };
  }

  /**
   * Agents with their policy and live session tokens (their own and their sub-agents'); an agent known only by
   * exchanged session tokens (a workload identity) is listed too, active while one lives.
   */
  async agents(): Promise<{ readonly agents: readonly AgentJson[]; readonly policies: readonly string[] }> {
    const now = this.#deps.now();
    const sessions = await this.#deps.store.listAgentSessions({ now });
    const records = await this.#deps.store.listAgents();
    const agents = records.map((a) => agentJson(a, sessions, now));
    const known = new Set(records.map((a) => a.id));
    for (const session of sessions) {
      if (session.kind !== 'exchange' || known.has(session.agentId)) continue;
      known.add(session.agentId);
      agents.push(sessionAgentJson(session.agentId, sessions));
    }
    return { agents, policies: this.#deps.policies };
  }

  async operators(): Promise<readonly OperatorJson[]> {
    const now = this.#deps.now();
    return (await this.#deps.store.listOperators()).map((o) => operatorJson(o, now));
  }

  /**
   * Requests per bucket over the last `windowMs`, oldest bucket first, by status at their creation bucket (a request
   * still executing is counted nowhere). Counts at most {@link ACTIVITY_MAX_REQUESTS} requests (the newest).
   */
  async activity(windowMs: number, bucketMs: number): Promise<ActivityJson> {
    const now = this.#deps.now().getTime();
    const count = Math.ceil(windowMs / bucketMs);
    const start = now - count * bucketMs;
    const buckets = Array.from({ length: count }, (_, i) => ({
      start: new Date(start + i * bucketMs).toISOString(),
      executed: 0,
      denied: 0,
      failed: 0,
      pendingApproval: 0,
    }));
    let before: Date | undefined;
    for (let seen = 0; seen < ACTIVITY_MAX_REQUESTS;) {
      const page = await newestFirstPage(
        this.#deps.store,
        { since: new Date(start), ...(before === undefined ? {} : { before }) },
        ACTIVITY_PAGE,
      );
      for (const r of page.rows) {
        const bucket = buckets[Math.floor((r.createdAt.getTime() - start) / bucketMs)];
        if (bucket === undefined || r.status === 'executing') continue;
        if (r.status === 'pending_approval') bucket.pendingApproval += 1;
        else bucket[r.status] += 1;
      }
      seen += page.rows.length;
      if (page.nextBefore === null) break;
      before = page.nextBefore;
    }
    return { windowMs: count * bucketMs, bucketMs, buckets };
  }
}

/** One page of requests, newest first, and where the next one starts (see {@link OperatorViews.requests}). */
export async function newestFirstPage(
  store: Pick<StateStore, 'listRequests'>,
  filter: Omit<RequestFilter, 'limit'>,
  limit: number,
): Promise<{ readonly rows: readonly RequestRecord[]; readonly nextBefore: Date | null }> {
  const rows = await store.listRequests({ ...filter, limit: limit + 1 });
  const cut = rows[limit];
  const last = rows[limit - 1];
  if (cut === undefined || last === undefined) return { rows, nextBefore: null };
  if (last.createdAt.getTime() !== cut.createdAt.getTime()) {
    return { rows: rows.slice(0, limit), nextBefore: last.createdAt };
  }
  // The page would end inside one millisecond: end it before that millisecond, and let the next page start with it.
  const tie = cut.createdAt.getTime();
  const kept = rows.slice(0, limit).filter((r) => r.createdAt.getTime() > tie);
  if (kept.length > 0) return { rows: kept, nextBefore: new Date(tie + 1) };
  // More than `limit` requests in one millisecond: this page is that millisecond, whole (up to a bound), longer than
  // `limit` rather than losing any.
  const group = await store.listRequests({
    ...filter,
    since: cut.createdAt,
    before: new Date(tie + 1),
    limit: TIE_MAX,
  });
  return { rows: group, nextBefore: cut.createdAt };
}

/** A request as the activity list shows it: from its stored (scrubbed) answer, the rule and reason, never a secret. */
export function requestSummary(r: RequestRecord): RequestSummaryJson {
  const response = r.response === undefined ? undefined : parseJson(r.response);
  const body = typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : {};
  const error =
    typeof body['error'] === 'object' && body['error'] !== null
      ? (body['error'] as Record<string, unknown>)
      : undefined;
  const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
  return {
    requestId: r.requestId,
    agent: r.agentId,
    action: r.action,
    account: r.account ?? null,
    status: r.status,
    rule: text(body['rule']),
    reason: text(body['reason']) ?? text(error?.['message']),
    errorCode: text(error?.['code']),
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

/** One audit record without its chain fields (`v`, `prev`: the verifier's business). */
function auditRecordJson(r: ScannedRecord): AuditRecordJson {
  const { v: _v, seq, ts, prev: _prev, kind, ...fields } = r.record;
  return {
    seq: typeof seq === 'number' ? seq : -1,
    at: typeof ts === 'string' ? ts : '',
    kind: typeof kind === 'string' ? kind : '',
    fields,
  };
}

function statusOf(revokedAt: Date | undefined, expiresAt: Date, now: Date): 'active' | 'revoked' | 'expired' {
  if (revokedAt !== undefined) return 'revoked';
  return expiresAt.getTime() <= now.getTime() ? 'expired' : 'active';
}

/** Live sessions of `id` and of its sub-agents (`<id>/...`). */
function sessionsOf(id: string, sessions: readonly AgentSessionRecord[]): number {
  return sessions.filter((s) => s.agentId === id || s.agentId.startsWith(`${id}/`)).length;
}

function agentJson(a: AgentRecord, sessions: readonly AgentSessionRecord[], now: Date): AgentJson {
  return {
    id: a.id,
    policy: a.policy,
    status: statusOf(a.revokedAt, a.expiresAt, now),
    createdAt: a.createdAt.toISOString(),
    expiresAt: a.expiresAt.toISOString(),
    revokedAt: a.revokedAt?.toISOString() ?? null,
    sessions: sessionsOf(a.id, sessions),
  };
}

/** An agent that exists through exchanged session tokens only: its earliest and latest live ones. */
function sessionAgentJson(id: string, sessions: readonly AgentSessionRecord[]): AgentJson {
  const own = sessions.filter((s) => s.agentId === id);
  const times = (pick: (s: AgentSessionRecord) => Date) => own.map((s) => pick(s).getTime());
  return {
    id,
    policy: own[0]?.policy ?? '',
    status: 'active',
    createdAt: new Date(Math.min(...times((s) => s.createdAt))).toISOString(),
    expiresAt: new Date(Math.max(...times((s) => s.expiresAt))).toISOString(),
    revokedAt: null,
    sessions: sessionsOf(id, sessions),
  };
}

export function operatorJson(o: OperatorRecord, now: Date): OperatorJson {
  return {
    id: o.id,
    status: statusOf(o.revokedAt, o.expiresAt, now),
    createdAt: o.createdAt.toISOString(),
    expiresAt: o.expiresAt.toISOString(),
    revokedAt: o.revokedAt?.toISOString() ?? null,
  };
}

export { agentJson };

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
