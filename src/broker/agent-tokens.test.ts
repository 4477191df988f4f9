import { describe, expect, it } from 'vitest';

import { isCofreError } from '../errors.js';
import { SqliteStateStore } from '../state/sqlite/sqlite-state-store.js';
import { authenticateAgent, issueAgentToken } from './agent-tokens.js';

const t0 = new Date('2026-11-28T12:00:00Z');
const hour = 3_600_000;

function rejected(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isCofreError(err, 'COFRE_UNAUTHENTICATED')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected COFRE_UNAUTHENTICATED');
}

describe('agent tokens', () => {
  it('issues a token that authenticates, and stores only its hash', () => {
    const state = new SqliteStateStore(':memory:');
    const { token, agent } = issueAgentToken(state, { id: 'bot-1', policy: 'p', ttlMs: hour, now: t0 });
    expect(token).toMatch(/^cofre_[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/);
    expect(authenticateAgent(state, token, t0)).toEqual({ id: 'bot-1', policy: 'p' });
    const stored = state.listAgents()[0];
    expect(stored?.tokenHash.length).toBe(32);
    expect(JSON.stringify(stored)).not.toContain(token.split('.')[1]);
    expect(agent.expiresAt.getTime()).toBe(t0.getTime() + hour);
  });

  it('gives unknown, malformed, tampered, expired and revoked tokens one and the same answer', () => {
    const state = new SqliteStateStore(':memory:');
    const { token } = issueAgentToken(state, { id: 'bot-1', policy: 'p', ttlMs: hour, now: t0 });
    const { token: other } = issueAgentToken(state, { id: 'bot-2', policy: 'p', ttlMs: hour, now: t0 });
    const tampered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    const unknownId = `cofre_${'x'.repeat(16)}.${token.split('.')[1] ?? ''}`;
    const messages = [
      rejected(() => authenticateAgent(state, undefined, t0)),
      rejected(() => authenticateAgent(state, 'Bearer nonsense', t0)),
      rejected(() => authenticateAgent(state, tampered, t0)),
      rejected(() => authenticateAgent(state, unknownId, t0)),
      rejected(() => authenticateAgent(state, token, new Date(t0.getTime() + hour))),
    ];
    state.revokeAgent('bot-2', t0);
    messages.push(rejected(() => authenticateAgent(state, other, t0)));
    expect(new Set(messages).size).toBe(1);
  });

  it('refuses a duplicate or malformed agent id', () => {
    const state = new SqliteStateStore(':memory:');
    issueAgentToken(state, { id: 'bot-1', policy: 'p', ttlMs: hour, now: t0 });
    expect(() => issueAgentToken(state, { id: 'bot-1', policy: 'p', ttlMs: hour, now: t0 })).toThrow(
      /already exists/,
    );
    expect(() => issueAgentToken(state, { id: 'Bot\n1', policy: 'p', ttlMs: hour, now: t0 })).toThrow(
      /invalid agent id/,
    );
  });
});
