// The replica loop (issue 16) on a real PostgreSQL state store: a survivor adopts the unfinished requests of a replica
// that stopped heartbeating, settles them only once they are older than the venue's signed-request window, drops one
// that its replica finished after all, and keeps one the venue could not settle for the next round.
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { peerOrSkip } from '../../test/peers/peer-or-skip.js';
import { startPostgres } from '../../test/peers/peers.js';
import { migrate } from '../state/postgres/migrate.js';
import { openPostgresDb } from '../state/postgres/open-postgres.js';
import { openPostgresStateStore, type PostgresStateStore } from '../state/postgres/postgres-state-store.js';
import { PostgresTestDatabases } from '../state/postgres/testdata/postgres-test-databases.js';
import type { RequestRecord } from '../state/state-store.js';
import type { ReconcileReport } from './broker-types.js';
import { startReplicaLoop } from './replica-loop.js';

const dbs = await peerOrSkip('PostgreSQL', async () => new PostgresTestDatabases(await startPostgres()));
let database: string;
const opened: PostgresStateStore[] = [];

beforeAll(() => {
  if (dbs === undefined) throw new Error('PostgreSQL is not installed: see the message above');
});

afterAll(async () => {
  for (const store of opened.splice(0)) await store.close();
  await dbs?.stop();
});

beforeEach(async () => {
  if (dbs === undefined) return;
  for (const store of opened.splice(0)) await store.close();
  database = await dbs.create();
  const db = await openPostgresDb(dbs.config(), dbs.secrets(database));
  try {
    await migrate(db);
  } finally {
    await db.close();
  }
});

async function replica(at: Date): Promise<PostgresStateStore> {
  if (dbs === undefined) throw new Error('no PostgreSQL');
  const store = await openPostgresStateStore(dbs.config(), {
    ...dbs.secrets(database),
    now: () => at,
  });
  opened.push(store);
  return store;
}

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
    const dead = await replica(T0);
    await dead.claimRequest(executing('old', T0));
    await dead.claimRequest(executing('young', at(50_000)));
    await dead.claimRequest(executing('finished', T0));
    await dead.claimRequest(executing('stuck', T0));

    let now = at(LEASE - 1);
    const survivor = await replica(now);
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
      expect(await survivor.executingRequests(at(1_000_000))).toEqual([]);

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
      expect(settled).toEqual([['old', 'stuck']]);
      expect([...loop.adopted.keys()].sort()).toEqual(['stuck', 'young']);

      // The venue answers again: the stuck one is settled at the next round; the young one once it is old enough.
      venueDown = new Set();
      now = at(50_000 + WINDOW + 1);
      await loop.tick();
      expect(settled).toEqual([
        ['old', 'stuck'],
        ['stuck', 'young'],
      ]);
      expect(loop.adopted.size).toBe(0);
      expect(await survivor.executingRequests(at(1_000_000), { allReplicas: true })).toEqual([]);
    } finally {
      await loop.stop();
    }
  });
});
