import type { PolicyAction, PolicyConfig } from '../config/config-schema.js';

/** What policy decided, and which rule decided it (shown to the agent and written to the audit log). */
export interface PolicyDecision {
  readonly decision: 'allow' | 'deny' | 'approval';
  readonly rule: string;
  readonly reason: string;
}

/** One question to the policy: may this agent do this action (on this account)? */
export interface PolicyQuestion {
  readonly agentId: string;
  readonly policy: string;
  readonly action: PolicyAction;
  /** Absent for actions not tied to one account (`list_accounts`, `get_request`). */
  readonly account: string | undefined;
}

/**
 * The decision interface the broker depends on. Pure: no I/O. The rule-based engine with limits and approvals
 * replaces the allow-list below behind this same interface.
 */
export interface PolicyEngine {
  decide(question: PolicyQuestion): PolicyDecision;
  /** Accounts the agent may use at all (for `list_accounts`). */
  accountsFor(policy: string): readonly string[];
}

/** In a policy's `accounts`: every configured account. */
export const ANY_ACCOUNT = '*';

/**
 * The simplest correct policy: an agent's policy lists accounts and actions; anything not listed is denied
 * (default deny). Actions without an account are allowed when the policy lists them.
 */
export class AllowListPolicy implements PolicyEngine {
  readonly #policies: Readonly<Record<string, PolicyConfig>>;
  readonly #accountIds: readonly string[];

  /** `accountIds`: the configured accounts, which a policy listing `*` may all use. */
  constructor(policies: Readonly<Record<string, PolicyConfig>>, accountIds: readonly string[] = []) {
    this.#policies = policies;
    this.#accountIds = accountIds;
  }

  decide(question: PolicyQuestion): PolicyDecision {
    const policy = this.#policies[question.policy];
    if (policy === undefined) {
      return {
        decision: 'deny',
        rule: 'default-deny',
        reason: `agent policy "${question.policy}" is not configured`,
      };
    }
    const rule = `policies.${question.policy}`;
    if (!policy.actions.includes(question.action)) {
      return {
        decision: 'deny',
        rule: 'default-deny',
        reason: `policy "${question.policy}" does not allow ${question.action}`,
      };
    }
    // SECURITY: the same answer for an account that exists and one that does not, so a denial reveals no account.
    const anyAccount = policy.accounts.includes(ANY_ACCOUNT);
    if (question.account !== undefined && !anyAccount && !policy.accounts.includes(question.account)) {
      return {
        decision: 'deny',
        rule: 'default-deny',
        reason: `policy "${question.policy}" does not allow account "${question.account}"`,
      };
    }
    return { decision: 'allow', rule, reason: `allowed by ${rule}` };
  }

  accountsFor(policy: string): readonly string[] {
    const accounts = this.#policies[policy]?.accounts ?? [];
    return accounts.includes(ANY_ACCOUNT) ? this.#accountIds : accounts;
  }
}
