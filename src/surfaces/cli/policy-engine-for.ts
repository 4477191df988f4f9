import type { CofreConfig } from '../../config/config-schema.js';
import { CofreError } from '../../errors.js';
import { RulePolicy } from '../../policy/rule-policy.js';
import type { CliIo } from './cli-io.js';
import { openCliState } from './cli-state.js';

/** The engine the broker would build from `config`, with the clock fixed at `now`. */
export function policyEngineFor(config: CofreConfig, now: Date): RulePolicy {
  return new RulePolicy({
    policies: config.policies,
    accounts: config.accounts,
    addressBook: config.addressBook,
    wallets: config.wallets,
    now: () => now,
  });
}

/**
 * Who a question is about: `--policy` as given (agent id `policy-explain`), or an agent's policy from the state
 * store. Exactly one of the two. Throws `COFRE_USAGE` otherwise, `COFRE_AGENT_NOT_FOUND` for an unknown agent.
 */
export async function whoFor(
  io: CliIo,
  config: CofreConfig,
  options: { readonly agent?: string | undefined; readonly policy?: string | undefined },
): Promise<{ agentId: string; policy: string }> {
  if ((options.agent === undefined) === (options.policy === undefined)) {
    throw new CofreError('COFRE_USAGE', 'name either an agent (--agent <id>) or a policy (--policy <name>)');
  }
  if (options.policy !== undefined) {
    if (!Object.hasOwn(config.policies, options.policy)) {
      const names = Object.keys(config.policies);
      throw new CofreError(
        'COFRE_USAGE',
        `no policy "${options.policy}" in the config (configured: ${names.join(', ') || 'none'})`,
      );
    }
    return { agentId: 'policy-explain', policy: options.policy };
  }
  const { state, close: closeState } = await openCliState(io, config);
  try {
    const agent = (await state.listAgents()).find((a) => a.id === options.agent);
    if (agent === undefined)
      throw new CofreError('COFRE_AGENT_NOT_FOUND', `no agent "${options.agent ?? ''}"`);
    return { agentId: agent.id, policy: agent.policy };
  } finally {
    await closeState();
  }
}

/** Parses `--now` (ISO 8601), or the current time. */
export function parseNow(text: string | undefined): Date {
  if (text === undefined) return new Date();
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) {
    throw new CofreError('COFRE_USAGE', `invalid time "${text}"; use ISO 8601, e.g. 2026-06-01T09:30:00Z`);
  }
  return at;
}
