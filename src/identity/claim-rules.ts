import type { JWTPayload } from 'jose';

import { isAgentId } from '../config/identity-config.js';

/** One claims → agent rule (`agents.oauth[].rules[]`, `agents.exchange[].rules[]`). */
export interface AgentRule {
  readonly claims: Readonly<Record<string, string | readonly string[]>>;
  readonly agent: string;
  readonly policy: string;
}

/** What a matching rule makes of a verified token. */
export interface RuleMatch {
  readonly agentId: string;
  readonly policy: string;
  /** Where the rule is written, relative to its issuer (`rules[2]`). */
  readonly rule: string;
}

/**
 * The first rule whose conditions all hold for `claims`, with its agent template filled in; `undefined` when none
 * matches. A rule whose template yields an invalid agent id (or names a claim that is missing or not a string) does
 * not match: the token is refused rather than mapped to a guessed id.
 */
export function matchAgentRule(rules: readonly AgentRule[], claims: JWTPayload): RuleMatch | undefined {
  for (const [i, rule] of rules.entries()) {
    if (!Object.entries(rule.claims).every(([path, allowed]) => claimMatches(claimAt(claims, path), allowed)))
      continue;
    const agentId = fillTemplate(rule.agent, claims);
    if (agentId === undefined || !isAgentId(agentId)) continue;
    return { agentId, policy: rule.policy, rule: `rules[${i}]` };
  }
  return undefined;
}

/** A claim by name, or by dotted path into nested objects (`kubernetes.io.namespace`); a literal name wins. */
export function claimAt(claims: JWTPayload, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path];
  const parts = path.split('.');
  // Longest literal prefix first, so a key that itself holds dots (`kubernetes.io`) is found.
  for (let cut = parts.length - 1; cut >= 1; cut--) {
    const head = parts.slice(0, cut).join('.');
    if (Object.hasOwn(claims, head)) {
      const inner = claims[head];
      if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) return undefined;
      return claimAt(inner as JWTPayload, parts.slice(cut).join('.'));
    }
  }
  return undefined;
}

function claimMatches(value: unknown, allowed: string | readonly string[]): boolean {
  const patterns = typeof allowed === 'string' ? [allowed] : allowed;
  const values = Array.isArray(value) ? (value as unknown[]) : [value];
  return values.some(
    (v) =>
      (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') &&
      patterns.some((p) => globMatches(p, String(v))),
  );
}

/** `*` matches any run of characters (slashes and colons included: claims like GitHub's `sub` hold both). */
function globMatches(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 's').test(value);
}

function fillTemplate(template: string, claims: JWTPayload): string | undefined {
  const values: string[] = [];
  for (const [, path] of template.matchAll(/\{([^{}]+)\}/g)) {
    const value = claimAt(claims, path ?? '');
    if (typeof value !== 'string' || value === '') return undefined;
    values.push(value);
  }
  let next = 0;
  return template.replace(/\{([^{}]+)\}/g, () => values[next++] ?? '');
}
