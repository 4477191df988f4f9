// The replica loop (issue 16) on a real PostgreSQL state store: a survivor adopts the unfinished requests of a replica
// that stopped heartbeating, settles them only once they are older than the venue's signed-request window, drops one
// that its replica finished after all, and keeps one the venue could not settle for the next round; its own requests
// left executing with no call of this process working on them (a finish that could not be written) are settled too.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

import { postgresStateTestFile } from '../../test/state/postgres-state-test-file.js';
import type { RequestRecord } from '../state/state-store.js';
import type { ReconcileReport } from './broker-types.js';
import { startReplicaLoop } from './replica-loop.js';

const { replica } = await postgresStateTestFile();

const T0 = new Date('2026-11-30T12:00:00Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const LEASE = 15_000;
const WINDOW = 60_000;

function executing(id: string, createdAt: Date): RequestRecord {
  return {
    requestId: id,
    agentId: 'bot',
    action: 'place_order',
    account: 'paper',
    idempotencyKey: `bot:${id}`,
    input: '{}',
    status: 'executing',
    response: undefined,
    createdAt,
    updatedAt: createdAt,
  };
}

describe('replica loop', () => {
  it('adopts a dead replica’s requests, settles each once past the signed-request window, and drops what finished', async () => {
    const dead = await replica(() => T0);
    await dead.claimRequest(executing('old', T0));
    await dead.claimRequest(executing('young', at(50_000)));
    await dead.claimRequest(executing('finished', T0));
    await dead.claimRequest(executing('stuck', T0));

    let now = at(LEASE - 1);
    const survivor = await replica(() => now);
    // Its own: one whose finish could not be written (PostgreSQL restarted), one a call of this process still runs.
    await survivor.claimRequest(executing('own-left', T0));
    await survivor.claimRequest(executing('own-running', T0));
    const inFlight = new Set(['own-running']);
    const settled: string[][] = [];
    let venueDown = new Set(['stuck']);
    const loop = startReplicaLoop({
      state: survivor,
      settle: async (rows): Promise<ReconcileReport> => {
        settled.push(rows.map((r) => r.requestId).sort());
        const report: ReconcileReport = {
          resolved: rows
            .filter((r) => !venueDown.has(r.requestId))
            .map((r) => ({ requestId: r.requestId, status: 'failed' })),
          unresolved: rows
            .filter((r) => venueDown.has(r.requestId))
            .map((r) => ({ requestId: r.requestId, reason: 'venue down' })),
        };
        for (const r of report.resolved) {
          await survivor.finishRequest(r.requestId, {
            status: 'failed',
            response: '{}',
            at: now,
            releaseKey: true,
          });
        }
        return report;
      },
      inFlight: () => inFlight,
      heartbeatMs: 3_600_000, // rounds are driven by tick() here
      leaseMs: LEASE,
      windowMs: WINDOW,
      logger: pino({ level: 'silent' }),
      now: () => now,
    });
    try {
      // The dead replica is not silent for a whole lease yet: nothing is adopted.
      await loop.tick();
      expect(loop.adopted.size).toBe(0);
      expect((await survivor.executingRequests(at(1_000_000))).map((r) => r.requestId).sort()).toEqual([
        'own-left',
        'own-running',
      ]);

      // Past the lease: all four are the survivor's; none is older than the window yet, so none is settled.
      now = at(LEASE + 1);
      await loop.tick();
      expect([...loop.adopted.keys()].sort()).toEqual(['finished', 'old', 'stuck', 'young']);
      expect(settled).toEqual([]);

      // The dead replica's own finish of one lands late (it was only slow): that one is dropped, not settled.
      await dead.finishRequest('finished', {
        status: 'executed',
        response: '{}',
        at: now,
        releaseKey: false,
      });
      now = at(WINDOW + 1);
      await loop.tick();
      expect(settled).toEqual([['old', 'own-left', 'stuck']]);
      expect([...loop.adopted.keys()].sort()).toEqual(['stuck', 'young']);

      // The venue answers again: the stuck one is settled at the next round; the young one once it is old enough.
      venueDown = new Set();
      now = at(50_000 + WINDOW + 1);
      await loop.tick();
      expect(settled).toEqual([
        ['old', 'own-left', 'stuck'],
        ['stuck', 'young'],
      ]);
      expect(loop.adopted.size).toBe(0);
      // What this process still runs is its own to finish.
      expect(
        (await survivor.executingRequests(at(1_000_000), { allReplicas: true })).map((r) => r.requestId),
      ).toEqual(['own-running']);
    } finally {
      await loop.stop();
    }
  });
});
