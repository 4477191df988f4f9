// Operator tokens: issued like agent tokens but with their own prefix and table, and never interchangeable with them.
import { describe, expect, it } from 'vitest';

import { SqliteStateStore } from '../state/sqlite/sqlite-state-store.js';
import { authenticateAgent, issueAgentToken } from './agent-tokens.js';
import { authenticateOperator, issueOperatorToken, looksLikeOperatorToken } from './operator-tokens.js';

const t0 = new Date('2026-11-28T12:00:00Z');
const hour = 3_600_000;

async function codeOf(fn: () => unknown): Promise<string | undefined> {
  try {
    await fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('operator tokens', () => {
  it('issues a token that authenticates, and stores only its hash in the operators table', async () => {
    const state = new SqliteStateStore(':memory:');
    const { token, operator } = await issueOperatorToken(state, { id: 'alice', ttlMs: hour, now: t0 });
    expect(token).toMatch(/^cofre_op_[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/);
    expect(looksLikeOperatorToken(token)).toBe(true);
    expect(await authenticateOperator(state, token, t0)).toEqual({
      id: 'alice',
      tokenId: operator.tokenId,
      expiresAt: operator.expiresAt,
    });
    const stored = state.listOperators()[0];
    expect(stored?.tokenHash.length).toBe(32);
    expect(JSON.stringify(stored)).not.toContain(token.split('.')[1]);
    expect(operator.expiresAt.getTime()).toBe(t0.getTime() + hour);
    expect(state.listAgents()).toEqual([]);
  });

  it('refuses unknown, tampered, expired and revoked operator tokens alike', async () => {
    const state = new SqliteStateStore(':memory:');
    const { token } = await issueOperatorToken(state, { id: 'alice', ttlMs: hour, now: t0 });
    const tampered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    const unknownId = `cofre_op_${'x'.repeat(16)}.${token.split('.')[1] ?? ''}`;
    for (const bad of [undefined, 'nonsense', tampered, unknownId]) {
      expect(await codeOf(() => authenticateOperator(state, bad, t0))).toBe('COFRE_UNAUTHENTICATED');
    }
    expect(await codeOf(() => authenticateOperator(state, token, new Date(t0.getTime() + hour)))).toBe(
      'COFRE_UNAUTHENTICATED',
    );
    state.revokeOperator('alice', t0);
    expect(await codeOf(() => authenticateOperator(state, token, t0))).toBe('COFRE_UNAUTHENTICATED');
  });

  it('refuses an agent token on the operator side and an operator token on the agent side, by name', async () => {
    const state = new SqliteStateStore(':memory:');
    const { token: agentToken } = await issueAgentToken(state, {
      id: 'bot',
      policy: 'p',
      ttlMs: hour,
      now: t0,
    });
    const { token: operatorToken } = await issueOperatorToken(state, { id: 'bot', ttlMs: hour, now: t0 });
    expect(await codeOf(() => authenticateOperator(state, agentToken, t0))).toBe(
      'COFRE_OPERATOR_TOKEN_REQUIRED',
    );
    expect(await codeOf(() => authenticateAgent(state, operatorToken, t0))).toBe(
      'COFRE_AGENT_TOKEN_REQUIRED',
    );
    expect(looksLikeOperatorToken(agentToken)).toBe(false);
  });

  it('refuses a malformed id and a duplicate one', async () => {
    const state = new SqliteStateStore(':memory:');
    expect(await codeOf(() => issueOperatorToken(state, { id: 'Alice!', ttlMs: hour, now: t0 }))).toBe(
      'COFRE_USAGE',
    );
    await issueOperatorToken(state, { id: 'alice', ttlMs: hour, now: t0 });
    expect(await codeOf(() => issueOperatorToken(state, { id: 'alice', ttlMs: hour, now: t0 }))).toBe(
      'COFRE_OPERATOR_EXISTS',
    );
  });
});
