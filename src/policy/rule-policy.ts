import type {
  AccountConfig,
  AddressBookConfig,
  PolicyAction,
  PolicyConfig,
} from '../config/config-schema.js';
import { type RuleConfig, type RuleEffect, WALLET_ACTIONS } from '../config/policy-config.js';
import { compileSymbolGlob } from './glob.js';
import { policyHash } from './policy-hash.js';
import type {
  LimitView,
  PolicyDecision,
  PolicyEngine,
  PolicyQuestion,
  RuleExplanation,
} from './policy-types.js';
import {
  ANY_ACCOUNT,
  compileConditions,
  type Condition,
  type Miss,
  QuestionView,
} from './rule-conditions.js';
import { type CompiledLimit, compileLimit, limitChecks, limitViews } from './rule-limits.js';
import { builtInDenial } from './wallet-built-ins.js';

/** What {@link RulePolicy} is built from: the validated config parts it reads, and the clock. */
export interface RulePolicyOptions {
  readonly policies: Readonly<Record<string, PolicyConfig>>;
  /** The configured accounts: their venue and mode, and what `*` stands for. */
  readonly accounts: Readonly<Record<string, AccountConfig>>;
  readonly addressBook?: AddressBookConfig | undefined;
  /** Issue 19: the configured wallets and their chains (what `*` and `chains` stand for); absent: none. */
  readonly wallets?: Readonly<Record<string, { readonly chain: string }>> | undefined;
  readonly now: () => Date;
}

/** The rule that decides when nothing matches. */
export const DEFAULT_DENY = 'default-deny';

interface CompiledRule {
  /** `policies.<p>.rules[<i>]` plus ` (<name>)`; `policies.<p>` for the shorthand. */
  readonly label: string;
  readonly effect: RuleEffect;
  readonly shadow: boolean;
  readonly actions: ReadonlySet<PolicyAction>;
  readonly conditions: readonly Condition[];
  readonly approvers: PolicyDecision['approvers'];
  /** The rule's `symbols` test, for picking candidate rules per symbol; undefined when it has none. */
  readonly symbolTest: ((symbol: string) => boolean) | undefined;
  /** The configured accounts it can match (for `list_accounts`). */
  readonly accountIds: readonly string[];
  /** Issue 19: the configured wallets it can match, when it lists a wallet action (for `get_limits`). */
  readonly walletIds: readonly string[];
}

interface CompiledPolicy {
  readonly name: string;
  readonly hash: string;
  readonly rules: readonly CompiledRule[];
  readonly byAction: ReadonlyMap<PolicyAction, readonly CompiledRule[]>;
  /** Rules of an action that can match a symbol, filled on first use (a pure function of the config). */
  readonly bySymbol: Map<string, readonly CompiledRule[]>;
  readonly shadowActions: ReadonlySet<PolicyAction>;
  readonly limits: readonly CompiledLimit[];
  readonly accountIds: readonly string[];
  readonly walletIds: readonly string[];
  readonly actions: ReadonlySet<PolicyAction>;
}

// deny wins over everything, then approve (an operator), then confirm (the agent's own human), then allow.
const PRIORITY: Readonly<Record<RuleEffect, number>> = { allow: 0, confirm: 1, approve: 2, deny: 3 };
const VERB: Readonly<Record<RuleEffect, string>> = {
  allow: 'is allowed',
  confirm: 'can be confirmed',
  approve: 'can be approved',
  deny: 'is denied',
};
const NO_RULES: readonly CompiledRule[] = [];

/**
 * The policy engine of issue 9: rules with effects and conditions on the resolved action, and limits. Default deny;
 * a matching enforced `deny` wins, then `approve`, then `confirm`, then `allow`. Shadow rules are evaluated too and
 * reported in `decision.shadow` when they would have changed the decision.
 *
 * Pure and deterministic: the only input besides the question is the injected clock, read once per question.
 * Everything that depends on the config alone (globs, time zones, decimal bounds, the policy hash, rules per
 * action) is computed in the constructor, so `decide` does no parsing. Safe to share and call concurrently.
 */
export class RulePolicy implements PolicyEngine {
  readonly #policies = new Map<string, CompiledPolicy>();
  readonly #accounts: Readonly<Record<string, AccountConfig>>;
  readonly #now: () => Date;
  readonly #walletChains: Readonly<Record<string, string>>;
  readonly #unknownHash: string;

  constructor(options: RulePolicyOptions) {
    this.#accounts = options.accounts;
    this.#now = options.now;
    this.#walletChains = Object.fromEntries(
      Object.entries(options.wallets ?? {}).map(([name, wallet]) => [name, wallet.chain]),
    );
    this.#unknownHash = policyHash(null, options.addressBook);
    for (const [name, config] of Object.entries(options.policies)) {
      this.#policies.set(name, compilePolicy(name, config, options));
    }
  }

  decide(question: PolicyQuestion): PolicyDecision {
    const policy = this.#policies.get(question.policy);
    if (policy === undefined) {
      return deny(DEFAULT_DENY, `agent policy "${question.policy}" is not configured`, this.#unknownHash);
    }
    const builtIn = builtInDenial(question);
    if (builtIn !== undefined) return deny(builtIn.rule, builtIn.reason, policy.hash);
    const view = new QuestionView(question, this.#accounts, this.#now, this.#walletChains);
    const rules = policy.byAction.get(question.action) ?? NO_RULES;
    const candidates = candidatesFor(policy, question.action, rules, view.symbol);
    const winner = select(candidates, view, 'enforce', undefined);
    const decision =
      winner === undefined ? defaultDeny(policy, rules, candidates, view) : decided(policy, winner, question);
    if (!policy.shadowActions.has(question.action)) return decision;
    const wouldBe = select(candidates, view, 'shadow', winner);
    if (wouldBe === undefined || !wouldBe.shadow) return decision;
    const shadow = decided(policy, wouldBe, question);
    if (shadow.decision === decision.decision) return decision;
    return { ...decision, shadow: [{ rule: shadow.rule, decision: shadow.decision, reason: shadow.reason }] };
  }

  explain(question: PolicyQuestion): { decision: PolicyDecision; rules: RuleExplanation[] } {
    const decision = this.decide(question);
    const policy = this.#policies.get(question.policy);
    if (policy === undefined) return { decision, rules: [] };
    const view = new QuestionView(question, this.#accounts, this.#now, this.#walletChains);
    const rules = policy.rules.map((rule): RuleExplanation => {
      const base = {
        rule: rule.label,
        effect: rule.effect,
        mode: rule.shadow ? 'shadow' : 'enforce',
      } as const;
      if (!rule.actions.has(question.action)) {
        return { ...base, matched: false, why: `does not list ${question.action}` };
      }
      for (const condition of rule.conditions) {
        const miss = condition.check(view);
        if (miss !== undefined)
          return { ...base, matched: false, why: `${condition.key}: ${miss.want}; ${miss.got}` };
      }
      const keys = rule.conditions.map((c) => c.key);
      return {
        ...base,
        matched: true,
        why: keys.length === 0 ? 'no conditions' : `holds: ${keys.join(', ')}`,
      };
    });
    return { decision, rules };
  }

  accountsFor(policy: string): readonly string[] {
    return this.#policies.get(policy)?.accountIds ?? [];
  }

  actionsFor(policy: string): ReadonlySet<PolicyAction> {
    return this.#policies.get(policy)?.actions ?? new Set();
  }

  walletsFor(policy: string): readonly string[] {
    return this.#policies.get(policy)?.walletIds ?? [];
  }

  limitsFor(agentId: string, policy: string): readonly LimitView[] {
    const compiled = this.#policies.get(policy);
    return compiled === undefined
      ? []
      : limitViews(compiled.limits, agentId, compiled.accountIds, compiled.walletIds);
  }
}

function matches(rule: CompiledRule, view: QuestionView): boolean {
  for (const condition of rule.conditions) if (condition.check(view) !== undefined) return false;
  return true;
}

const MAX_CACHED_SYMBOLS = 4096;

/**
 * The rules of `action` whose `symbols` can match `symbol`, in order. Cached per action and symbol: symbol tests
 * drop most rules of a large policy, and their outcome depends on the config alone. Bounded, so symbols an agent
 * makes up cannot grow it without limit.
 */
function candidatesFor(
  policy: CompiledPolicy,
  action: PolicyAction,
  rules: readonly CompiledRule[],
  symbol: string | undefined,
): readonly CompiledRule[] {
  if (symbol === undefined) return rules;
  const key = `${action} ${symbol}`;
  let found = policy.bySymbol.get(key);
  if (found === undefined) {
    found = rules.filter((r) => r.symbolTest === undefined || r.symbolTest(symbol));
    if (policy.bySymbol.size >= MAX_CACHED_SYMBOLS) policy.bySymbol.clear();
    policy.bySymbol.set(key, found);
  }
  return found;
}

/**
 * The rule that decides among `rules` (all listing the action): the first match of the highest effect among the
 * enforced rules; or, in the shadow pass, the shadow rule that would have won over the enforced winner `over`
 * (only a higher effect can: on a tie the earlier rule wins, and the decision would not change).
 */
function select(
  rules: readonly CompiledRule[],
  view: QuestionView,
  pass: 'enforce' | 'shadow',
  over: CompiledRule | undefined,
): CompiledRule | undefined {
  const shadow = pass === 'shadow';
  let best = over;
  for (const rule of rules) {
    if (rule.shadow !== shadow) continue;
    if (best !== undefined && PRIORITY[rule.effect] <= PRIORITY[best.effect]) continue;
    if (!matches(rule, view)) continue;
    best = rule;
    if (rule.effect === 'deny') break;
  }
  return best;
}

function deny(rule: string, reason: string, policyHash: string): PolicyDecision {
  return { decision: 'deny', rule, reason, policyHash, limits: [], shadow: [] };
}

function decided(policy: CompiledPolicy, rule: CompiledRule, question: PolicyQuestion): PolicyDecision {
  const { action } = question;
  if (rule.effect === 'deny') {
    const why = rule.conditions.map((c) => c.want.replace(/^only /, '')).join(', ');
    return deny(
      rule.label,
      `${action} is denied by ${rule.label}${why === '' ? '' : ` (${why})`}`,
      policy.hash,
    );
  }
  const measured = limitChecks(policy.limits, question);
  if (!('checks' in measured)) return deny(measured.limit.label, measured.reason, policy.hash);
  const base = { rule: rule.label, policyHash: policy.hash, limits: measured.checks, shadow: [] };
  switch (rule.effect) {
    case 'allow':
      return { ...base, decision: 'allow', reason: `allowed by ${rule.label}` };
    case 'confirm':
      return {
        ...base,
        decision: 'confirm',
        reason: `${action} needs the confirmation of the person at your client (${rule.label})`,
      };
    case 'approve':
      return {
        ...base,
        decision: 'approval',
        reason: `${action} waits for operator approval (${rule.label}); poll get_request with the requestId`,
        approvers: rule.approvers,
      };
  }
}

/**
 * Default deny, with the nearest miss as the reason: among the enforced rules that could allow the action, the one
 * that fails the fewest conditions, and its first failing condition.
 *
 * SECURITY: a rule is a candidate only once its account conditions hold, and otherwise the reason names only the
 * account the agent gave, so an account that exists and one that does not are refused in the same words.
 */
function defaultDeny(
  policy: CompiledPolicy,
  rules: readonly CompiledRule[],
  candidates: readonly CompiledRule[],
  view: QuestionView,
): PolicyDecision {
  const { action, account } = view.question;
  if (!rules.some((r) => !r.shadow && r.effect !== 'deny')) {
    return deny(DEFAULT_DENY, `policy "${policy.name}" does not allow ${action}`, policy.hash);
  }
  // Rules that fit the symbol first: on a tie they are the more useful answer, and a 1-miss rule among them lets
  // the others stop at their first miss.
  const fitting = nearestMiss(candidates, view, undefined, undefined);
  const best = nearestMiss(rules, view, fitting, candidates === rules ? rules : candidates);
  if (best === undefined) {
    const on = account === undefined ? '' : ` on account "${account}"`;
    const gated = gateMiss(rules, view);
    return deny(
      DEFAULT_DENY,
      `policy "${policy.name}" does not allow ${action}${on}${gated === undefined ? '' : `: ${gated.want}; ${gated.got}`}`,
      policy.hash,
    );
  }
  const on = account === undefined ? '' : ` on ${account}`;
  const { rule, miss } = best;
  return deny(
    DEFAULT_DENY,
    `${action}${on} ${VERB[rule.effect]} ${miss.want} by ${rule.label}; ${miss.got}`,
    policy.hash,
  );
}

/** Issue 19: the first built-in gate (raw calldata, approvals) a permitting rule fails, to say why none matched. */
function gateMiss(rules: readonly CompiledRule[], view: QuestionView): Miss | undefined {
  for (const rule of rules) {
    if (rule.shadow || rule.effect === 'deny') continue;
    for (const condition of rule.conditions) {
      if (condition.gate !== true) continue;
      const miss = condition.check(view);
      if (miss !== undefined) return miss;
    }
  }
  return undefined;
}

interface NearestMiss {
  readonly rule: CompiledRule;
  readonly miss: Miss;
  readonly count: number;
}

/**
 * Among the enforced allow/approve/confirm `rules`, the one failing the fewest conditions (the first on a tie),
 * better than `best`, skipping rules in `skip`. A rule failing an account condition is never a candidate; those
 * conditions come first in every rule, so a rule can stop counting once it is no better than the best so far.
 */
function nearestMiss(
  rules: readonly CompiledRule[],
  view: QuestionView,
  best: NearestMiss | undefined,
  skip: readonly CompiledRule[] | undefined,
): NearestMiss | undefined {
  let nearest = best;
  for (const rule of rules) {
    if (rule.shadow || rule.effect === 'deny' || skip?.includes(rule) === true) continue;
    let first: Miss | undefined;
    let count = 0;
    let out = false;
    for (const condition of rule.conditions) {
      const miss = condition.check(view);
      if (miss === undefined) continue;
      first ??= miss;
      count += 1;
      out =
        condition.onAccount || condition.gate === true || (nearest !== undefined && count >= nearest.count);
      if (out) break;
    }
    if (!out && first !== undefined) nearest = { rule, miss: first, count };
  }
  return nearest;
}

function compilePolicy(name: string, config: PolicyConfig, options: RulePolicyOptions): CompiledPolicy {
  // The shorthand `{ accounts, actions }` is one allow rule, named after the policy as before.
  const written: readonly { label: string; rule: RuleConfig }[] = config.rules?.map((rule, i) => ({
    label: `policies.${name}.rules[${i}]${rule.name === undefined ? '' : ` (${rule.name})`}`,
    rule,
  })) ?? [
    {
      label: `policies.${name}`,
      rule: { allow: config.actions ?? [], accounts: config.accounts ?? [], mode: 'enforce' },
    },
  ];
  const walletChains = Object.entries(options.wallets ?? {}).map(([w, c]) => [w, c.chain] as const);
  const rules = written.map(({ label, rule }) => compileRule(label, rule, options.accounts, walletChains));
  const byAction = new Map<PolicyAction, CompiledRule[]>();
  const shadowActions = new Set<PolicyAction>();
  for (const rule of rules) {
    for (const action of rule.actions) {
      byAction.set(action, [...(byAction.get(action) ?? []), rule]);
      if (rule.shadow) shadowActions.add(action);
    }
  }
  const enforcing = rules.filter((r) => !r.shadow && r.effect !== 'deny');
  // An unconditional enforced deny takes its actions away entirely: they are not offered to the agent.
  const alwaysDenied = new Set(
    rules
      .filter((r) => !r.shadow && r.effect === 'deny' && r.conditions.length === 0)
      .flatMap((r) => [...r.actions]),
  );
  return {
    name,
    hash: policyHash(config, options.addressBook),
    rules,
    byAction,
    bySymbol: new Map(),
    shadowActions,
    limits: (config.limits ?? []).map((limit, i) => compileLimit(name, i, limit)),
    accountIds: [...new Set(enforcing.flatMap((r) => r.accountIds))],
    walletIds: [...new Set(enforcing.flatMap((r) => r.walletIds))],
    actions: new Set(enforcing.flatMap((r) => [...r.actions]).filter((a) => !alwaysDenied.has(a))),
  };
}

function compileRule(
  label: string,
  rule: RuleConfig,
  accounts: Readonly<Record<string, AccountConfig>>,
  walletChains: readonly (readonly [string, string])[],
): CompiledRule {
  const effect: RuleEffect =
    rule.deny !== undefined
      ? 'deny'
      : rule.approve !== undefined
        ? 'approve'
        : rule.confirm !== undefined
          ? 'confirm'
          : 'allow';
  const actions = rule[effect] ?? [];
  const configured = Object.keys(accounts);
  let accountIds =
    rule.accounts === undefined || rule.accounts.includes(ANY_ACCOUNT) ? configured : [...rule.accounts];
  if (rule.venues !== undefined)
    accountIds = accountIds.filter((id) => rule.venues?.includes(accounts[id]?.venue ?? '') === true);
  if (rule.modes !== undefined)
    accountIds = accountIds.filter((id) => rule.modes?.includes(accounts[id]?.mode ?? 'live') === true);
  const walletIds = !actions.some((a) => WALLET_ACTIONS.has(a))
    ? []
    : walletChains
        .filter(([w]) => rule.wallets === undefined || rule.wallets.includes('*') || rule.wallets.includes(w))
        .filter(([, chain]) => rule.chains === undefined || rule.chains.includes(chain))
        .map(([w]) => w);
  return {
    label,
    effect,
    shadow: rule.mode === 'shadow',
    actions: new Set(actions),
    conditions: compileConditions(rule),
    symbolTest: symbolTestOf(rule.symbols),
    approvers:
      rule.approvers === undefined
        ? undefined
        : {
            count: rule.approvers.count,
            ...(rule.approvers.of === undefined ? {} : { of: rule.approvers.of }),
          },
    accountIds,
    walletIds,
  };
}

function symbolTestOf(patterns: readonly string[] | undefined): ((symbol: string) => boolean) | undefined {
  if (patterns === undefined) return undefined;
  const tests = patterns.map(compileSymbolGlob);
  return (symbol) => tests.some((t) => t(symbol));
}
