import { describe, expect, it } from 'vitest';

import { issueOperatorToken } from '../../../broker/operator-tokens.js';
import { SqliteStateStore } from '../../../state/sqlite/sqlite-state-store.js';
import { ConsoleSessions, csrfMatches } from './console-sessions.js';

const minute = 60_000;
const t0 = new Date('2026-01-01T00:00:00Z');

async function setup(options: { max?: number; tokenTtl?: number } = {}) {
  const store = new SqliteStateStore(':memory:');
  let now = t0.getTime();
  const sessions = new ConsoleSessions({
    store,
    idleTimeoutMs: 15 * minute,
    lifetimeMs: 60 * minute,
    now: () => new Date(now),
    ...(options.max === undefined ? {} : { max: options.max }),
  });
  const { operator } = await issueOperatorToken(store, {
    id: 'alice',
    ttlMs: options.tokenTtl ?? 24 * 60 * minute,
    now: t0,
  });
  const who = { id: 'alice', tokenId: operator.tokenId, expiresAt: operator.expiresAt };
  return {
    store,
    sessions,
    who,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const ended = (p: Promise<unknown>) => expect(p).rejects.toMatchObject({ code: 'COFRE_UNAUTHENTICATED' });

describe('ConsoleSessions', () => {
  it('keeps only the hash of a 256-bit id, and resumes the session it names', async () => {
    const { sessions, who } = await setup();
    const { id, session } = sessions.create(who);
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(session)).not.toContain(id);
    expect(await sessions.resume(id)).toBe(session);
    await ended(sessions.resume(`${id.slice(0, -1)}x`));
    await ended(sessions.resume(undefined));
    await ended(sessions.resume(''));
  });

  it('ends a session idle for idleTimeout; touch restarts it', async () => {
    const { sessions, who, advance } = await setup();
    const { id, session } = sessions.create(who);
    advance(14 * minute);
    sessions.touch(await sessions.resume(id));
    advance(14 * minute);
    expect(await sessions.resume(id)).toBe(session);
    advance(1 * minute);
    await ended(sessions.resume(id));
    expect(sessions.size).toBe(0);
  });

  it('ends at its lifetime, or at the token expiry when sooner', async () => {
    const { sessions, who, advance } = await setup();
    const { id, session } = sessions.create(who);
    expect(session.expiresAt.getTime()).toBe(t0.getTime() + 60 * minute);
    for (let i = 0; i < 4; i++) {
      advance(14 * minute);
      sessions.touch(await sessions.resume(id));
    }
    advance(4 * minute);
    await ended(sessions.resume(id));
    const short = await setup({ tokenTtl: 20 * minute });
    const created = short.sessions.create(short.who);
    expect(created.session.expiresAt.getTime()).toBe(t0.getTime() + 20 * minute);
  });

  it("ends a revoked operator's session at its next use", async () => {
    const { store, sessions, who } = await setup();
    const { id } = sessions.create(who);
    store.revokeOperator('alice', t0);
    await ended(sessions.resume(id));
  });

  it('ends the least recently used sessions past the cap', async () => {
    const { sessions, who, advance } = await setup({ max: 2 });
    const first = sessions.create(who);
    advance(1000);
    const second = sessions.create(who);
    advance(1000);
    sessions.touch(await sessions.resume(first.id));
    sessions.create(who);
    expect(sessions.size).toBe(2);
    await ended(sessions.resume(second.id));
    expect(await sessions.resume(first.id)).toBe(first.session);
  });

  it('compares the CSRF token exactly', async () => {
    const { sessions, who } = await setup();
    const { session } = sessions.create(who);
    expect(csrfMatches(session, session.csrfToken)).toBe(true);
    expect(csrfMatches(session, `${session.csrfToken}x`)).toBe(false);
    expect(csrfMatches(session, undefined)).toBe(false);
    expect(csrfMatches(session, '')).toBe(false);
  });
});
