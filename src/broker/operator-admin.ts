import type { Logger } from 'pino';

import type { AuditSink } from '../audit/audit-log.js';
import type { AuditReader } from '../audit/audit-reader.js';
import type { PolicyEngine } from '../policy/policy-types.js';
import type { StateStore } from '../state/state-store.js';
import type {
  AgentAddedJson,
  AgentRevokedJson,
  OperatorAddedJson,
} from '../surfaces/http/operator-api-types.js';
import { addAgent, addOperator, choosePolicy, revokeAgent, revokeOperator } from './access-changes.js';
import { AuditVerifications } from './audit-verifications.js';
import { OperatorEvents } from './operator-events.js';
import { agentJson, operatorJson, OperatorViews } from './operator-views.js';

/** What {@link OperatorAdmin} works on: the serving broker's state and audit log, and the config's policies. */
export interface OperatorAdminDependencies {
  readonly store: StateStore;
  /** Where every change is recorded (kind `operator`, with the acting operator's id). */
  readonly audit: AuditSink;
  /** Reads the same audit chain back (stories, status, verification). */
  readonly auditReader: AuditReader;
  readonly policy: PolicyEngine;
  /** Every policy name in the config. */
  readonly policies: readonly string[];
  /** `agents.tokenTtl`: an added agent's token lifetime unless the operator gives one. */
  readonly agentTokenTtlMs: number;
  /** An added operator's token lifetime unless given (`cofre operator add`'s default). */
  readonly operatorTokenTtlMs: number;
  readonly now: () => Date;
  readonly logger?: Logger | undefined;
  /** Poll and ping intervals of the live events (tests shorten them). */
  readonly events?: { readonly pollMs?: number; readonly pingMs?: number };
}

/**
 * What the operator console (issue 18) needs beyond approvals and the halt: the read-side views, agents and
 * operators added and revoked (each an audit record naming the operator who did it; a token only in the answer that
 * issues it), the audit chain's status and background verification, and live change events. The operator id given
 * to each method is the authenticated one; this class trusts it. Safe to call concurrently.
 */
export class OperatorAdmin {
  readonly views: OperatorViews;
  readonly verifications: AuditVerifications;
  readonly events: OperatorEvents;
  readonly #deps: OperatorAdminDependencies;

  constructor(deps: OperatorAdminDependencies) {
    this.#deps = deps;
    this.views = new OperatorViews({
      store: deps.store,
      policy: deps.policy,
      policies: deps.policies,
      audit: deps.auditReader,
      now: deps.now,
    });
    this.verifications = new AuditVerifications({
      reader: deps.auditReader,
      audit: deps.audit,
      logger: deps.logger,
      now: deps.now,
    });
    this.events = new OperatorEvents({
      store: deps.store,
      verification: () => this.verifications.latest(),
      now: deps.now,
      logger: deps.logger,
      ...deps.events,
    });
  }

  /** Adds an agent; an unknown policy is `COFRE_INPUT_INVALID` naming the config's policies. */
  async addAgent(
    by: string,
    input: { readonly id: string; readonly policy?: string | undefined; readonly ttlMs?: number | undefined },
  ): Promise<AgentAddedJson> {
    const policy = choosePolicy(this.#deps.policies, input.policy, 'COFRE_INPUT_INVALID');
    const now = this.#deps.now();
    const { agent, token } = await addAgent(
      this.#deps.store,
      this.#deps.audit,
      { id: input.id, policy, ttlMs: input.ttlMs ?? this.#deps.agentTokenTtlMs, now },
      by,
    );
    return { agent: agentJson(agent, [], now), token };
  }

  /** Revokes an agent's token and its sessions (and its sub-agents'); `COFRE_AGENT_NOT_FOUND` if none was live. */
  async revokeAgent(by: string, id: string): Promise<AgentRevokedJson> {
    const { revokedAgent, sessions } = await revokeAgent(
      this.#deps.store,
      this.#deps.audit,
      id,
      this.#deps.now(),
      by,
    );
    return { revoked: revokedAgent, sessions };
  }

  async addOperator(
    by: string,
    input: { readonly id: string; readonly ttlMs?: number | undefined },
  ): Promise<OperatorAddedJson> {
    const now = this.#deps.now();
    const { operator, token } = await addOperator(
      this.#deps.store,
      this.#deps.audit,
      { id: input.id, ttlMs: input.ttlMs ?? this.#deps.operatorTokenTtlMs, now },
      by,
    );
    return { operator: operatorJson(operator, now), token };
  }

  /**
   * Revokes an operator's token. An operator may revoke itself (stepping down is always allowed); the last active
   * operator may too: `cofre operator add` on the host makes another.
   */
  async revokeOperator(by: string, id: string): Promise<{ readonly revoked: true }> {
    await revokeOperator(this.#deps.store, this.#deps.audit, id, this.#deps.now(), by);
    return { revoked: true };
  }

  /** Stops the live events (the server is closing). */
  close(): void {
    this.events.close();
  }
}
