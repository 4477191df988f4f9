import { describe, expect, it } from 'vitest';

import { claimAt, matchAgentRule } from './claim-rules.js';

const k8s = {
  iss: 'https://kubernetes.default.svc',
  sub: 'system:serviceaccount:trading:bot',
  'kubernetes.io': { namespace: 'trading', serviceaccount: { name: 'bot', uid: 'u-1' } },
};
const github = {
  iss: 'https://token.actions.githubusercontent.com',
  sub: 'repo:acme/strategies:ref:refs/heads/main',
  repository: 'acme/strategies',
  repository_owner: 'acme',
  ref: 'refs/heads/main',
  groups: ['a', 'b'],
};

describe('claim rules', () => {
  it('reads nested claims by dotted path, a literal dotted name first', () => {
    expect(claimAt(k8s, 'kubernetes.io.namespace')).toBe('trading');
    expect(claimAt(k8s, 'kubernetes.io.serviceaccount.name')).toBe('bot');
    expect(claimAt(k8s, 'kubernetes.io.nope')).toBeUndefined();
    expect(claimAt(github, 'sub')).toBe(github.sub);
  });

  it('takes the first rule whose claims all match, globs crossing slashes and colons', () => {
    const rules = [
      { claims: { sub: 'repo:acme/*:ref:refs/heads/release-*' }, agent: 'release', policy: 'big' },
      {
        claims: { sub: 'repo:acme/*:ref:refs/heads/main', ref: 'refs/heads/main' },
        agent: 'gh-{repository_owner}',
        policy: 'small',
      },
    ];
    expect(matchAgentRule(rules, github)).toEqual({ agentId: 'gh-acme', policy: 'small', rule: 'rules[1]' });
    expect(matchAgentRule(rules, { ...github, ref: 'refs/heads/dev' })).toBeUndefined();
    expect(matchAgentRule([{ claims: { groups: 'b' }, agent: 'x', policy: 'p' }], github)?.agentId).toBe('x');
    expect(
      matchAgentRule(
        [
          {
            claims: { 'kubernetes.io.namespace': ['prod', 'trading'] },
            agent: 'k8s-{kubernetes.io.serviceaccount.name}',
            policy: 'p',
          },
        ],
        k8s,
      )?.agentId,
    ).toBe('k8s-bot');
  });

  it('refuses rather than guesses: a missing template claim or an invalid agent id does not match', () => {
    expect(matchAgentRule([{ claims: {}, agent: 'gh-{missing}', policy: 'p' }], github)).toBeUndefined();
    expect(matchAgentRule([{ claims: {}, agent: '{repository}', policy: 'p' }], github)).toBeUndefined();
    expect(
      matchAgentRule([{ claims: { sub: 'repo:acme' }, agent: 'x', policy: 'p' }], github),
    ).toBeUndefined();
  });
});
