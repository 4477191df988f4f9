import { describe, expect, it } from 'vitest';

import { issueAgentToken } from '../broker/agent-tokens.js';
import { isCofreError } from '../errors.js';
import { SqliteStateStore } from '../state/sqlite/sqlite-state-store.js';
import { createAgentAuthenticator } from './agent-authenticator.js';
import { authenticateAgentSession, issueAgentSession, type SessionToIssue } from './agent-sessions.js';

const t0 = new Date('2026-11-30T12:00:00Z');
const minutes = (n: number): Date => new Date(t0.getTime() + n * 60_000);

async function refused(fn: () => Promise<unknown>): Promise<void> {
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isCofreError(err, 'COFRE_UNAUTHENTICATED')).toBe(true);
}

describe('session tokens', () => {
  it('issues a token that authenticates as its agent, and stores only its hash', async () => {
    const state = new SqliteStateStore(':memory:');
    const { token, session } = await issueAgentSession(state, {
      agentId: 'k8s-bot',
      policy: 'trader',
      kind: 'exchange',
      subject: 'https://k8s.example system:serviceaccount:trading:bot',
      now: t0,
      expiresAt: minutes(10),
    });
    expect(token).toMatch(/^cofre_st_[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(state.agentSessions([session.tokenId]))).not.toContain(token.split('.')[1]);
    expect(await createAgentAuthenticator(state).authenticate(token, minutes(1))).toMatchObject({
      id: 'k8s-bot',
      policy: 'trader',
      via: 'exchange',
      credential: { kind: 'session', tokenId: session.tokenId },
    });
    await refused(() => authenticateAgentSession(state, token, minutes(10)));
    await refused(() => authenticateAgentSession(state, `${token.slice(0, -1)}A`, minutes(1)));
    await refused(() => authenticateAgentSession(state, 'cofre_st_nonsense', minutes(1)));
  });

  it('stops a delegated token as soon as any stored ancestor is revoked or expires', async () => {
    const state = new SqliteStateStore(':memory:');
    // A delegated session under policy trader, issued at t0.
    const delegate = (
      agentId: string,
      chain: Pick<SessionToIssue, 'onBehalfOf' | 'ancestors' | 'grants' | 'expiresAt'>,
    ) => issueAgentSession(state, { agentId, policy: 'trader', kind: 'delegation', now: t0, ...chain });
    const root = await issueAgentToken(state, { id: 'bot', policy: 'trader', ttlMs: 3_600_000, now: t0 });
    const child = await delegate('bot/scan', {
      onBehalfOf: ['bot'],
      ancestors: [{ kind: 'agent', tokenId: root.agent.tokenId }],
      grants: [{ actions: ['get_balance'] }],
      expiresAt: minutes(30),
    });
    const grandchild = await delegate('bot/scan/deep', {
      onBehalfOf: ['bot/scan', 'bot'],
      ancestors: [
        { kind: 'session', tokenId: child.session.tokenId },
        { kind: 'agent', tokenId: root.agent.tokenId },
      ],
      grants: [{ tokenId: child.session.tokenId, actions: ['get_balance'] }, { actions: ['get_balance'] }],
      expiresAt: minutes(20),
    });
    const agent = await authenticateAgentSession(state, grandchild.token, minutes(1));
    expect(agent).toMatchObject({ id: 'bot/scan/deep', via: 'delegation', onBehalfOf: ['bot/scan', 'bot'] });
    expect(agent.grants?.map((g) => g.tokenId)).toEqual([child.session.tokenId, grandchild.session.tokenId]);

    state.revokeAgentSession(child.session.tokenId, minutes(2));
    await refused(() => authenticateAgentSession(state, grandchild.token, minutes(3)));

    const other = await delegate('bot/other', {
      onBehalfOf: ['bot'],
      ancestors: [{ kind: 'agent', tokenId: root.agent.tokenId }],
      expiresAt: minutes(30),
    });
    await expect(authenticateAgentSession(state, other.token, minutes(3))).resolves.toMatchObject({
      id: 'bot/other',
    });
    state.revokeAgent('bot', minutes(4));
    await refused(() => authenticateAgentSession(state, other.token, minutes(5)));
  });
});
