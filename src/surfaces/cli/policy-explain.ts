import { existsSync } from 'node:fs';

import type { CofreConfig } from '../../config/config-schema.js';
import { CofreError } from '../../errors.js';
import type { LimitCheck, PolicyDecision } from '../../policy/policy-types.js';
import type { Awaitable } from '../../state/awaitable.js';
import type { Decimal } from '../../venues/venue-account.js';
import { type CliIo, println } from './cli-io.js';
import { openCliState } from './cli-state.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import { parseNow, policyEngineFor, whoFor } from './policy-engine-for.js';
import { parsePolicyAction, policyQuestionFrom } from './policy-question.js';
import { printTable } from './secret-list.js';

/** Options of `cofre policy explain`. */
export interface PolicyExplainOptions {
  readonly agent?: string;
  readonly policy?: string;
  readonly action: string;
  readonly input?: string;
  readonly now?: string;
  readonly json?: boolean;
}

/** Usage of each limit key at `at` (committed in window + reserved), or undefined where usage is not known. */
export type LimitUsageLookup = (
  checks: readonly LimitCheck[],
  at: Date,
) => Awaitable<ReadonlyMap<string, Decimal> | undefined>;

/**
 * Usage from the config's state store, read and closed at once; undefined (printed `-`) when there is no SQLite state
 * file yet, so explaining a policy never creates one.
 */
function usageFromState(io: CliIo, config: CofreConfig): LimitUsageLookup {
  return async (checks, at) => {
    if (config.state.type === 'sqlite' && !existsSync(config.state.path)) return undefined;
    const { state, close } = await openCliState(io, config);
    try {
      return await state.usage(checks, at);
    } finally {
      await close();
    }
  };
}

/**
 * `cofre policy explain`: the decision policy would give `--action` with `--input` for an agent (its policy from the
 * state store) or a policy, every rule considered with why it matched or not, and the limits the request draws on.
 * Judged as given: nothing is sent, reserved or audited. Exits 0 whatever the decision.
 */
export async function policyExplain(
  io: CliIo,
  global: GlobalOptions,
  options: PolicyExplainOptions,
  usage?: LimitUsageLookup,
): Promise<void> {
  const config = await loadCliConfig(io, global);
  const at = parseNow(options.now);
  const who = await whoFor(io, config, options);
  const action = parsePolicyAction(options.action);
  const question = policyQuestionFrom(config, who, action, parseJson(options.input));
  const { decision, rules } = policyEngineFor(config, at).explain(question);
  const used = await (usage ?? usageFromState(io, config))(decision.limits, at);
  if (options.json === true) {
    println(io.stdout, JSON.stringify({ policy: who.policy, decision, rules }, null, 2));
    return;
  }
  printDecision(io, who.policy, decision);
  println(io.stdout);
  println(io.stdout, 'rules:');
  printTable(
    io,
    ['RULE', 'EFFECT', 'MODE', 'MATCHED', 'WHY'],
    rules.map((r) => [r.rule, r.effect, r.mode, r.matched ? 'yes' : 'no', r.why]),
  );
  println(io.stdout);
  if (decision.limits.length === 0) {
    println(io.stdout, 'limits: none drawn on');
    return;
  }
  println(io.stdout, 'limits:');
  printTable(
    io,
    ['LIMIT', 'KEY', 'CAP', 'THIS REQUEST', 'USED'],
    decision.limits.map((l) => [l.limit, l.key, l.cap, l.amount, used?.get(l.key) ?? '-']),
  );
}

function printDecision(io: CliIo, policy: string, decision: PolicyDecision): void {
  println(io.stdout, `decision: ${decision.decision}`);
  println(io.stdout, `rule:     ${decision.rule}`);
  println(io.stdout, `reason:   ${decision.reason}`);
  if (decision.approvers !== undefined) {
    const of = decision.approvers.of === undefined ? 'any operator' : decision.approvers.of.join(', ');
    println(io.stdout, `approvers: ${decision.approvers.count} of ${of}`);
  }
  for (const s of decision.shadow) println(io.stdout, `shadow:   ${s.rule} would ${s.decision}: ${s.reason}`);
  println(io.stdout, `policy:   ${policy} (sha256 ${decision.policyHash})`);
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CofreError('COFRE_USAGE', '--input is not valid JSON; e.g. --input \'{"account":"paper"}\'');
  }
}
