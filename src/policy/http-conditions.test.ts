import { describe, expect, it } from 'vitest';

import { parseConfig } from '../config/load-config.js';
import type { HttpRequestQuestion } from './policy-types.js';
import { RulePolicy } from './rule-policy.js';

// Issue 15: the conditions of http_request rules — services, methods and paths (globs) — as the engine decides them.
const CONFIG = `backends:
  local: { type: embedded, path: s.enc, keyFile: s.key }
services:
  news: { baseUrl: "https://news.example.com", secret: "local:news", inject: { type: query, name: auth_token } }
policies:
  p:
    rules:
      - { name: news, allow: [http_request], services: [news], methods: [GET], paths: ["/posts/*", "/v2/**"] }
      - { name: no-admin, deny: [http_request], paths: ["/**/admin/**"] }
  every:
    rules:
      - { allow: [http_request], services: ["*"] }
  balances:
    rules:
      - { allow: [get_balance], accounts: ["*"] }
`;

const policy = (() => {
  const config = parseConfig(CONFIG, { sourcePath: 'c.yaml' });
  return new RulePolicy({
    policies: config.policies,
    accounts: config.accounts,
    addressBook: config.addressBook,
    now: () => new Date('2026-06-01T11:00:00Z'),
  });
})();

function ask(name: string, http: HttpRequestQuestion | undefined, action = 'http_request' as const) {
  return policy.decide({ agentId: 'bot', policy: name, action, account: undefined, http });
}

describe('http_request conditions', () => {
  it('allows the service, method and path globs the rule names', () => {
    expect(ask('p', { service: 'news', method: 'GET', path: '/posts/1' }).decision).toBe('allow');
    expect(ask('p', { service: 'news', method: 'GET', path: '/v2/a/b' }).decision).toBe('allow');
  });

  it.each([
    [{ service: 'news', method: 'POST', path: '/posts/1' }, 'only with methods GET'],
    [{ service: 'news', method: 'GET', path: '/posts/1/votes' }, 'only to paths'],
    [{ service: 'other', method: 'GET', path: '/posts/1' }, 'only to services news'],
  ])('denies %j, saying why', (http, why) => {
    const decision = ask('p', http);
    expect(decision.decision).toBe('deny');
    expect(decision.reason).toContain(why);
  });

  it('a deny rule with a path glob wins', () => {
    expect(ask('p', { service: 'news', method: 'GET', path: '/v2/x/admin/users' }).decision).toBe('deny');
  });

  it('`*` stands for every service, and a rule on services does not hold for a request without one', () => {
    expect(ask('every', { service: 'anything', method: 'DELETE', path: '/x' }).decision).toBe('allow');
    expect(ask('every', undefined).decision).toBe('deny');
  });

  it('an agent whose policy never names http_request is denied, and is not offered it', () => {
    expect(ask('balances', { service: 'news', method: 'GET', path: '/posts/1' }).decision).toBe('deny');
    expect(policy.actionsFor('balances').has('http_request')).toBe(false);
    expect(policy.actionsFor('p').has('http_request')).toBe(true);
  });
});
