import { describe, expect, it } from 'vitest';

import { isCofreError } from '../errors.js';
import { SqliteStateStore } from '../state/sqlite/sqlite-state-store.js';
import { authenticateAgent, issueAgentToken } from './agent-tokens.js';

const t0 = new Date('2026-11-28T12:00:00Z');
const hour = 3_600_000;

async function rejected(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    expect(isCofreError(err, 'COFRE_UNAUTHENTICATED')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected COFRE_UNAUTHENTICATED');
}

describe('agent tokens', () => {
  it('issues a token that authenticates, and stores only its hash', async () => {
    const state = new SqliteStateStore(':memory:');
    const { token, agent } = await issueAgentToken(state, { id: 'bot-1', policy: 'p', ttlMs: hour, now: t0 });
    expect(token).toMatch(/^cofre_[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/);
    expect(await authenticateAgent(state, token, t0)).toMatchObject({
      id: 'bot-1',
      policy: 'p',
      via: 'token',
    });
    const stored = state.listAgents()[0];
    expect(stored?.tokenHash.length).toBe(32);
    expect(JSON.stringify(stored)).not.toContain(token.split('.')[1]);
    expect(agent.expiresAt.getTime()).toBe(t0.getTime() + hour);
  });

  it('gives unknown, malformed, tampered, expired and revoked tokens one and the same answer', async () => {
    const state = new SqliteStateStore(':memory:');
    const { token } = await issueAgentToken(state, { id: 'bot-1', policy: 'p', ttlMs: hour, now: t0 });
    const { token: other } = await issueAgentToken(state, { id: 'bot-2', policy: 'p', ttlMs: hour, now: t0 });
    const tampered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    const unknownId = `cofre_${'x'.repeat(16)}.${token.split('.')[1] ?? ''}`;
    const messages = [
      await rejected(() => authenticateAgent(state, undefined, t0)),
      await rejected(() => authenticateAgent(state, 'Bearer nonsense', t0)),
      await rejected(() => authenticateAgent(state, tampered, t0)),
      await rejected(() => authenticateAgent(state, unknownId, t0)),
      await rejected(() => authenticateAgent(state, token, new Date(t0.getTime() + hour))),
    ];
    state.revokeAgent('bot-2', t0);
    messages.push(await rejected(() => authenticateAgent(state, other, t0)));
    expect(new Set(messages).size).toBe(1);
  });

  it('refuses a duplicate or malformed agent id', async () => {
    const state = new SqliteStateStore(':memory:');
    await issueAgentToken(state, { id: 'bot-1', policy: 'p', ttlMs: hour, now: t0 });
    await expect(issueAgentToken(state, { id: 'bot-1', policy: 'p', ttlMs: hour, now: t0 })).rejects.toThrow(
      /already exists/,
    );
    await expect(issueAgentToken(state, { id: 'Bot\n1', policy: 'p', ttlMs: hour, now: t0 })).rejects.toThrow(
      /invalid agent id/,
    );
  });
});
