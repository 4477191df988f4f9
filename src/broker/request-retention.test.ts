// The runtime's retention of the requests table: prunes on start and on every interval, in bounded batches, by
// an injected clock, and logs failures instead of throwing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { SqliteStateStore } from '../state/sqlite/sqlite-state-store.js';
import { startRequestRetention } from './request-retention.js';

const HOUR = 3_600_000;
let dir: string;
let store: SqliteStateStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cofre-retention-'));
  store = new SqliteStateStore(join(dir, 'state.db'));
});

afterEach(async () => {
  vi.useRealTimers();
  store.close();
  await rm(dir, { recursive: true, force: true });
});

function finished(id: string, at: Date): void {
  store.claimRequest({
    requestId: id,
    agentId: 'alice',
    action: 'get_balance',
    account: 'paper',
    idempotencyKey: undefined,
    input: '{}',
    status: 'executing',
    response: undefined,
    createdAt: at,
    updatedAt: at,
  });
  store.finishRequest(id, { status: 'executed', response: '{}', at, releaseKey: false });
}

describe('startRequestRetention', () => {
  it('deletes session tokens once expired, and keeps live ones', async () => {
    const session = (tokenId: string, expiresAt: Date) => ({
      tokenId,
      tokenHash: Buffer.alloc(32),
      agentId: 'k8s-bot',
      policy: 'p',
      kind: 'exchange' as const,
      onBehalfOf: [],
      ancestors: [],
      grants: undefined,
      subject: 'https://k8s.example system:serviceaccount:ns:bot',
      createdAt: new Date(0),
      expiresAt,
      revokedAt: undefined,
    });
    store.addAgentSession(session('gone', new Date(9 * HOUR)));
    store.addAgentSession(session('live', new Date(11 * HOUR)));
    const retention = startRequestRetention({
      state: store,
      retentionMs: 2 * HOUR,
      logger: pino({ level: 'silent' }),
      now: () => new Date(10 * HOUR),
    });
    try {
      await retention.pruneNow();
      expect(store.agentSessions(['gone', 'live']).map((s) => s.tokenId)).toEqual(['live']);
    } finally {
      retention.stop();
    }
  });

  it('prunes on start, then on each interval, by the injected clock', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const clock = { now: new Date(10 * HOUR) };
    finished('a', new Date(1 * HOUR));
    finished('b', new Date(9 * HOUR));
    const retention = startRequestRetention({
      state: store,
      retentionMs: 2 * HOUR,
      logger: pino({ level: 'silent' }),
      now: () => clock.now,
      intervalMs: 60_000,
    });
    try {
      // On start: 'a' finished 9 hours before "now", past the 2-hour retention; 'b' is within it.
      expect(store.request('a')).toBeUndefined();
      expect(store.request('b')?.requestId).toBe('b');
      await retention.pruneNow(); // the run started on start has settled
      clock.now = new Date(12 * HOUR);
      vi.advanceTimersByTime(60_000);
      // The interval's run deleted its first batch synchronously.
      expect(store.request('b')).toBeUndefined();
    } finally {
      retention.stop();
    }
  });

  it('deletes in batches of `batch`, at most `maxBatches` per run', async () => {
    for (let i = 0; i < 10; i++) finished(`r${i}`, new Date(HOUR + i));
    const retention = startRequestRetention({
      state: store,
      retentionMs: HOUR,
      logger: pino({ level: 'silent' }),
      now: () => new Date(10 * HOUR),
      batch: 3,
      maxBatches: 2,
    });
    try {
      expect(await retention.pruneNow()).toBe(6); // the run started on start, or the one it shares
      expect(await retention.pruneNow()).toBe(4);
      expect(await retention.pruneNow()).toBe(0);
    } finally {
      retention.stop();
    }
  });

  it('logs a failed run at error level instead of throwing', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    store.close();
    const retention = startRequestRetention({ state: store, retentionMs: HOUR, logger });
    retention.stop();
    await vi.waitFor(() => {
      expect(lines.some((l) => l.includes('"level":50') && l.includes('pruning old requests failed'))).toBe(
        true,
      );
    });
    store = new SqliteStateStore(join(dir, 'state.db'));
  });
});
