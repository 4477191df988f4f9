import type { PolicyQuestion } from '../policy/policy-types.js';
import type { AuthenticatedAgent } from './agent-tokens.js';
import type { BrokerContext } from './broker-types.js';
import { decideFor } from './delegation-gate.js';

/** What a preview shows of the decision its write would get: the rule, the reason and each limit's use. */
export interface PreviewDecision {
  readonly decision: 'allow' | 'deny' | 'approval' | 'confirm';
  readonly rule: string;
  readonly reason: string;
  readonly limits: readonly {
    readonly limit: string;
    readonly cap: string;
    readonly used: string;
    readonly needs: string;
  }[];
}

/**
 * The decision `question` (a preview asked as the write it previews: `place_order`, `send_transaction`) would get
 * now, with what each limit it draws on has used. Nothing is reserved.
 */
export async function previewDecision(
  ctx: BrokerContext,
  agent: AuthenticatedAgent,
  question: PolicyQuestion,
): Promise<PreviewDecision> {
  const decision = decideFor(ctx.deps.policy, agent, question);
  const usage = await ctx.deps.state.usage(decision.limits, ctx.now());
  return {
    decision: decision.decision,
    rule: decision.rule,
    reason: decision.reason,
    limits: decision.limits.map((check) => ({
      limit: check.limit,
      cap: check.cap,
      used: usage.get(check.key) ?? '0',
      needs: check.amount,
    })),
  };
}
