// The policy contract under its first import path: the broker and surfaces import from here. The contract itself
// lives in policy-types.ts; the engine is rule-policy.ts.
export type {
  LimitCheck,
  LimitMeasure,
  LimitView,
  PolicyDecision,
  PolicyEngine,
  PolicyQuestion,
  ResolvedOrder,
  ResolvedWithdrawal,
  RuleExplanation,
  ShadowOutcome,
} from './policy-types.js';
export { ANY_ACCOUNT } from './rule-conditions.js';
export { DEFAULT_DENY, RulePolicy, type RulePolicyOptions } from './rule-policy.js';
