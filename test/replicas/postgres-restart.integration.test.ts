// Issue 16, "Must show": PostgreSQL restarted while three replicas take orders. During the outage requests fail
// cleanly (an error answer naming the state or the audit log as unavailable, retryable), nothing reaches the exchange
// without a durable intent in the audit chain, and once PostgreSQL is back the same processes serve again by
// themselves; requests stranded by the outage are settled by their replica; the audit chain still verifies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PostgresTestDatabases } from '../../src/state/postgres/testdata/postgres-test-databases.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { startPostgres } from '../peers/peers.js';
import { type Cluster, errorCodeOf, eventually, type HttpAnswer, startCluster } from './replica-cluster.js';

const dbs = await peerOrSkip('PostgreSQL', async () => new PostgresTestDatabases(await startPostgres()));
let cluster: Cluster | undefined;

beforeAll(() => {
  if (dbs === undefined) throw new Error('PostgreSQL is not installed: see the message above');
});

afterAll(async () => {
  await cluster?.close();
  await dbs?.stop();
});

const POLICIES = [
  '  trader:',
  '    rules:',
  '      - { name: small, allow: [place_order], accounts: [paper], maxNotional: 500 }',
  '    limits:',
  '      - { name: agent-spend, per: agent, window: 1h, notional: 1000000, quote: USDT }',
];
const UNAVAILABLE = ['COFRE_STATE_UNAVAILABLE', 'COFRE_AUDIT_UNAVAILABLE'];

interface Outcome {
  readonly replica: number;
  readonly cid: string;
  /** Which phase the request was sent in. */
  readonly phase: 'before' | 'down' | 'after';
  readonly answer: HttpAnswer | Error;
}

describe.skipIf(dbs === undefined)('PostgreSQL restarted under load', () => {
  it(
    'fails requests cleanly while it is down, sends nothing without a durable intent, and resumes by itself',
    { timeout: 300_000 },
    async () => {
      if (dbs === undefined) return;
      const c = (cluster = await startCluster(dbs, { policies: POLICIES }));
      const agent = await c.agent('bot-a', 'trader');
      const pids = c.replicas.map((r) => r.pid);
      const outcomes: Outcome[] = [];
      let phase: Outcome['phase'] = 'before';
      let stop = false;
      let n = 0;
      // Three agents' worth of load, each keeping one order in flight, round-robin over the replicas.
      const worker = async (w: number): Promise<void> => {
        while (!stop) {
          const replica = n % 3;
          const cid = `pg-${String(w)}-${String(++n)}`;
          const sentIn = phase;
          const answer = await c
            .order(replica, agent, { amount: '0.001', clientOrderId: cid })
            .catch((err: unknown) => err as Error);
          outcomes.push({ replica, cid, phase: sentIn, answer });
          // While PostgreSQL is down the answers come at once: pace the load so the outage is not a busy loop.
          if (!(answer instanceof Error) && answer.body['status'] !== 'executed') await sleep(50);
        }
      };
      const load = [0, 1, 2].map((w) => worker(w));
      const executed = (p: Outcome['phase'], replica?: number): number =>
        outcomes.filter(
          (o) =>
            o.phase === p &&
            (replica === undefined || o.replica === replica) &&
            !(o.answer instanceof Error) &&
            o.answer.body['status'] === 'executed',
        ).length;
      await eventually(() => Promise.resolve(executed('before') >= 15), 'orders executed before the outage');

      await dbs.peer.restart(async () => {
        phase = 'down';
        const at = outcomes.length;
        // Down long enough for every replica to answer several requests (and miss heartbeats).
        await eventually(
          () => Promise.resolve(outcomes.slice(at).filter((o) => o.phase === 'down').length >= 30),
          'answers while PostgreSQL is down',
        );
        await sleep(1_000);
      });
      phase = 'after';
      // Service resumes by itself: every replica executes orders again, the same processes.
      await eventually(
        () => Promise.resolve([0, 1, 2].every((r) => executed('after', r) >= 3)),
        'every replica executing orders after PostgreSQL came back',
        120_000,
      );
      stop = true;
      await Promise.all(load);
      expect(c.replicas.map((r) => r.pid)).toEqual(pids);
      expect(c.replicas.some((r) => r.exited())).toBe(false);

      // No agent lost its connection: every request got an answer.
      expect(outcomes.filter((o) => o.answer instanceof Error)).toEqual([]);
      const answers = outcomes.flatMap((o) =>
        o.answer instanceof Error ? [] : [{ ...o, answer: o.answer }],
      );
      // While it was down: refused cleanly, saying the state or the audit log is unavailable and that a retry may work.
      const down = answers.filter((o) => o.phase === 'down');
      const refusedDown = down.filter((o) => o.answer.body['status'] !== 'executed');
      expect(refusedDown.length).toBeGreaterThan(0);
      for (const o of refusedDown) {
        expect(UNAVAILABLE, JSON.stringify(o.answer.body)).toContain(errorCodeOf(o.answer));
        expect((o.answer.body['error'] as { retryable?: boolean }).retryable, o.cid).toBe(true);
        expect(o.answer.status, o.cid).toBeGreaterThanOrEqual(500);
      }
      // Nor does any answer, then or around it, carry anything else than an order or such a refusal.
      for (const o of answers) {
        if (o.answer.body['status'] === 'executed') continue;
        expect(UNAVAILABLE, `${o.phase} ${JSON.stringify(o.answer.body)}`).toContain(errorCodeOf(o.answer));
      }

      // Everything at the exchange had its intent durable in the audit chain first; nothing twice.
      const atExchange = c.paper.orders().map((o) => o.clientOrderId);
      expect(new Set(atExchange).size).toBe(atExchange.length);
      const rows = await c.sql<{ request_id: string; input: string; status: string }>(
        "SELECT request_id, input, status FROM requests WHERE action = 'place_order'",
      );
      const requestOf = new Map(
        rows.map((r) => [(JSON.parse(r.input) as { clientOrderId: string }).clientOrderId, r]),
      );
      const audit = await c.auditRecords();
      const intents = new Set(audit.filter((r) => r['kind'] === 'intent').map((r) => r['requestId']));
      for (const cid of atExchange) {
        const row = requestOf.get(cid);
        expect(row, `${cid} at the exchange has a request`).toBeDefined();
        expect(intents.has(row?.request_id), `${cid} at the exchange has a durable intent`).toBe(true);
      }
      // Every executed answer is an order at the exchange.
      for (const o of answers.filter((a) => a.answer.body['status'] === 'executed')) {
        expect(atExchange, o.cid).toContain(o.cid);
      }

      // Requests claimed just as PostgreSQL went down, whose next step failed with nothing sent: their replica
      // settles them once past the venue's signed-request window (60 s), so none stays executing (a retry would
      // answer COFRE_REQUEST_IN_PROGRESS forever) and no budget stays reserved.
      const count = async (sql: string): Promise<number> => (await c.sql<{ n: number }>(sql))[0]?.n ?? -1;
      await eventually(
        async () => (await count("SELECT count(*)::int AS n FROM requests WHERE status = 'executing'")) === 0,
        'no request left executing after the signed-request window',
        150_000,
      );
      expect(await count('SELECT count(*)::int AS n FROM limit_reservations')).toBe(0);

      const verify = await c.cli(['audit', 'verify']);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    },
  );
});

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
