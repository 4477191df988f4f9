import { randomBytes } from 'node:crypto';

import type { Logger } from 'pino';

import type { AuditEvent, AuditSink } from '../audit/audit-log.js';
import { CofreError } from '../errors.js';
import type { ApprovalRecord, ApprovalStatus, ApproveResult, HaltState } from '../state/control-store.js';
import type { StateStore } from '../state/state-store.js';
import type { ApprovalJson } from '../surfaces/http/operator-api-types.js';
import type { ActionResponse } from './broker.js';
import type { BrokerControl, CancelAllReport } from './broker-control.js';
import type { OperatorAdmin } from './operator-admin.js';

/**
 * An approval as operators see it (HTTP JSON and the CLI): the bound payload parsed, times as ISO text. The operator
 * API's wire type itself, so the console and the CLI read one shape.
 */
export type ApprovalView = ApprovalJson;

/** What one operator's approval did. */
export type ApproveReport =
  | { readonly outcome: 'recorded'; readonly remaining: number; readonly approval: ApprovalView }
  | { readonly outcome: 'executed'; readonly approval: ApprovalView; readonly response: ActionResponse };

/** What a halt did. */
export interface HaltReport {
  readonly halt: { readonly reason: string; readonly by: string; readonly at: string };
  /** Agents whose tokens were revoked (`revokeAgents`). */
  readonly revokedAgents: readonly string[];
  /** Per account (`cancelOpenOrders`). */
  readonly cancelled?: readonly CancelAllReport[];
}

/** What {@link OperatorActions} works on. */
export interface OperatorActionsDependencies {
  readonly store: StateStore;
  readonly broker: BrokerControl;
  /** Where operator decisions are recorded (kind `operator`); optional so the CLI may run without it. */
  readonly audit?: AuditSink;
  readonly logger?: Logger;
  readonly now?: () => Date;
  /**
   * Issue 18: the operator console's views, agent and operator changes, audit verification and live events; only a
   * serving broker has them (`operatorActionsFor`), and only then are their routes served.
   */
  readonly admin?: OperatorAdmin;
}

/**
 * What an operator can do: list, show, approve and deny approvals; halt and resume. Shared by the operator HTTP API
 * and `cofre approval|halt|resume`, which authenticate the operator and pass its id; this class trusts that id.
 *
 * - Approving records one vote (`ControlStore.approve` checks the payload hash, expiry, status, the approver list
 *   and one vote per operator, atomically); the vote that reaches the quorum executes the bound payload through
 *   {@link BrokerControl.executeApproved}, which executes it once whoever calls. An approval that reached its quorum
 *   but was not executed (a crash in between) is executed by the next approve of it with the right hash.
 * - SECURITY: a vote is audited before the payload is executed; if the audit cannot be written, nothing is executed
 *   (it can be, by approving again, once the audit log works).
 * - Halting persists first (a restart stays halted, other processes see it), then stops this process's broker and
 *   waits for its in-flight writes, then optionally revokes every agent and cancels every open order. A failing
 *   audit never stops a halt.
 *
 * Safe to call concurrently.
 */
export class OperatorActions {
  readonly #deps: OperatorActionsDependencies;
  readonly #now: () => Date;
  /** See {@link OperatorActionsDependencies.admin}. */
  readonly admin: OperatorAdmin | undefined;

  constructor(deps: OperatorActionsDependencies) {
    this.#deps = deps;
    this.admin = deps.admin;
    this.#now = deps.now ?? (() => new Date());
  }

  /** Approvals, pending first, newest first; `status` filters. */
  async list(status?: ApprovalStatus): Promise<readonly ApprovalView[]> {
    const now = this.#now();
    return (await this.#deps.store.listApprovals(now, status)).map((a) => approvalView(a, now));
  }

  /** One approval; `COFRE_APPROVAL_NOT_FOUND` if there is none. */
  async show(requestId: string): Promise<ApprovalView> {
    return approvalView(await this.#record(requestId), this.#now());
  }

  /** One operator's approval of `payloadHash`; throws a `COFRE_APPROVAL_*` error when it is refused. */
  async approve(
    requestId: string,
    operator: string,
    payloadHash: string,
    comment: string | undefined,
  ): Promise<ApproveReport> {
    const result = await this.#deps.store.approve(requestId, operator, payloadHash, comment, this.#now());
    if (result.outcome === 'refused') {
      const record = await this.#deps.store.approval(requestId);
      // Quorum reached earlier but not executed: executing is idempotent (one claim wins), so finish the job.
      if (result.reason !== 'approved' || record?.payloadHash !== payloadHash) {
        // Recorded too: a refused approval (another hash, someone not among the approvers) is worth a look.
        await this.#audit(
          requestId,
          'approve',
          { operator, outcome: `refused: ${result.reason}`, payloadHash },
          { bestEffort: true },
        );
        throw refusal(requestId, result.reason);
      }
    } else {
      await this.#audit(requestId, 'approve', {
        operator,
        comment,
        outcome: result.outcome,
        payloadHash,
      });
      if (result.outcome === 'recorded') {
        return { outcome: 'recorded', remaining: result.remaining, approval: await this.show(requestId) };
      }
    }
    const response = await this.#deps.broker.executeApproved(requestId, operator);
    return { outcome: 'executed', approval: await this.show(requestId), response };
  }

  /** Denies a pending approval (any operator may: stopping is always allowed); the request is never executed. */
  async deny(requestId: string, operator: string, comment: string | undefined): Promise<ApprovalView> {
    if (!(await this.#deps.store.deny(requestId, operator, comment, this.#now()))) {
      const record = await this.#record(requestId);
      throw refusal(
        requestId,
        approvalView(record, this.#now()).status as Exclude<ApprovalStatus, 'pending'>,
      );
    }
    await this.#audit(requestId, 'deny', { operator, comment });
    return await this.show(requestId);
  }

  /** The persisted halt, if any. */
  async halted(): Promise<HaltState | undefined> {
    return await this.#deps.store.halted();
  }

  /** The kill switch; see the class comment for the order of its steps. */
  async halt(
    by: string,
    input: { reason: string; cancelOpenOrders?: boolean | undefined; revokeAgents?: boolean | undefined },
  ): Promise<HaltReport> {
    const state: HaltState = { reason: input.reason, by, at: this.#now() };
    await this.#deps.store.setHalt(state);
    await this.#deps.broker.halt(state);
    const revokedAgents: string[] = [];
    if (input.revokeAgents === true) {
      for (const agent of await this.#deps.store.listAgents()) {
        if (await this.#deps.store.revokeAgent(agent.id, state.at)) revokedAgents.push(agent.id);
      }
      // Issue 17: exchanged and delegated tokens too (a delegated one already dies with its ancestor, but an
      // exchanged agent may have no agent token at all). The halt must outlast a resume for every credential.
      for (const session of await this.#deps.store.listAgentSessions({ now: state.at })) {
        const revoked = await this.#deps.store.revokeAgentSession(session.tokenId, state.at);
        if (revoked && !revokedAgents.includes(session.agentId)) revokedAgents.push(session.agentId);
      }
    }
    const cancelled =
      input.cancelOpenOrders === true ? await this.#deps.broker.cancelAllOpenOrders(by) : undefined;
    const report: HaltReport = {
      halt: { reason: state.reason, by, at: state.at.toISOString() },
      revokedAgents,
      ...(cancelled === undefined ? {} : { cancelled }),
    };
    await this.#audit(`halt_${randomBytes(9).toString('base64url')}`, 'halt', report, { bestEffort: true });
    return report;
  }

  /** Lifts the halt; `resumed: false` when it was not halted. */
  async resume(by: string): Promise<{ readonly resumed: boolean }> {
    const resumed = await this.#deps.store.clearHalt();
    this.#deps.broker.resume();
    if (resumed) await this.#audit(`resume_${randomBytes(9).toString('base64url')}`, 'resume', { by });
    return { resumed };
  }

  async #record(requestId: string): Promise<ApprovalRecord> {
    const record = await this.#deps.store.approval(requestId);
    if (record === undefined) {
      throw new CofreError('COFRE_APPROVAL_NOT_FOUND', `no approval for request ${requestId}`);
    }
    return record;
  }

  async #audit(
    requestId: string,
    action: string,
    detail: unknown,
    options: { bestEffort?: boolean } = {},
  ): Promise<void> {
    const audit = this.#deps.audit;
    if (audit === undefined) return;
    const record = await this.#deps.store.approval(requestId);
    const event: AuditEvent = {
      kind: 'operator',
      requestId,
      agent: record?.agentId ?? '-',
      action,
      account: record?.account,
      detail,
    };
    try {
      await audit.append(event);
    } catch (err) {
      if (options.bestEffort !== true) throw err;
      this.#deps.logger?.error({ err, action }, 'audit append of an operator action failed');
    }
  }
}

/** The error for a refused approval or denial. */
function refusal(
  requestId: string,
  reason: Extract<ApproveResult, { outcome: 'refused' }>['reason'],
): CofreError {
  switch (reason) {
    case 'not-found':
      return new CofreError('COFRE_APPROVAL_NOT_FOUND', `no approval for request ${requestId}`);
    case 'hash-mismatch':
      return new CofreError(
        'COFRE_APPROVAL_HASH_MISMATCH',
        `the payload hash given is not the one of request ${requestId}; show it again and approve its payloadHash`,
      );
    case 'already-approved-by-you':
      return new CofreError('COFRE_APPROVAL_ALREADY_VOTED', `you already approved request ${requestId}`);
    case 'not-an-approver':
      return new CofreError(
        'COFRE_APPROVAL_NOT_APPROVER',
        `you are not among the approvers of request ${requestId}`,
      );
    default:
      return new CofreError('COFRE_APPROVAL_NOT_PENDING', `request ${requestId} is ${reason}, not pending`);
  }
}

/** An approval as operators see it at `now` (a pending one past its expiry reads `expired`). */
export function approvalView(record: ApprovalRecord, now: Date): ApprovalView {
  const expired = record.status === 'pending' && now.getTime() >= record.expiresAt.getTime();
  return {
    requestId: record.requestId,
    agent: record.agentId,
    action: record.action,
    account: record.account ?? null,
    status: expired ? 'expired' : record.status,
    payload: parsePayload(record.payload),
    payloadHash: record.payloadHash,
    rule: record.rule,
    required: record.required,
    approvers: record.approvers,
    approvals: record.approvals.map((a) => ({
      operator: a.operator,
      at: a.at.toISOString(),
      comment: a.comment ?? null,
    })),
    decidedBy: record.decidedBy ?? null,
    comment: record.comment ?? null,
    createdAt: record.createdAt.toISOString(),
    expiresAt: record.expiresAt.toISOString(),
    decidedAt: record.decidedAt?.toISOString() ?? null,
  };
}

function parsePayload(payload: string): unknown {
  try {
    return JSON.parse(payload) as unknown;
  } catch {
    return payload;
  }
}
