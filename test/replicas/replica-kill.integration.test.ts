// Issue 16, "Must show": kill -9 one of three replicas in the middle of a burst, with its orders in flight at the
// exchange and more waiting inside it. Nothing is lost from the record (every request is in the state and in the
// audit chain), nothing is sent twice (a retry on a survivor answers "in progress", later the settled answer), and
// the survivors adopt the dead replica's requests once its lease ran out and settle them at the venue once its
// signed requests can no longer arrive (the 60 s signed-request window: this test waits it out), releasing its
// limit reservations. `cofre audit verify` then proves the one chain of all replicas.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PostgresTestDatabases } from '../../src/state/postgres/testdata/postgres-test-databases.js';
import { HeldOrders } from '../e2e/held-orders.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { startPostgres } from '../peers/peers.js';
import { type Cluster, errorCodeOf, eventually, type HttpAnswer, startCluster } from './replica-cluster.js';

const dbs = await peerOrSkip('PostgreSQL', async () => new PostgresTestDatabases(await startPostgres()));
const venue = new HeldOrders();
let cluster: Cluster | undefined;

beforeAll(() => {
  if (dbs === undefined) throw new Error('PostgreSQL is not installed: see the message above');
});

afterAll(async () => {
  venue.release();
  await cluster?.close();
  await dbs?.stop();
});

const POLICIES = [
  '  trader:',
  '    rules:',
  '      - { name: small, allow: [place_order], accounts: [paper], maxNotional: 500 }',
  '    limits:',
  '      - { name: agent-spend, per: agent, window: 1h, notional: 100000, quote: USDT }',
  '      - { name: order-count, per: account, window: 1h, orders: 1000 }',
];
/** Orders per replica in the burst; each replica's account queue sends 4 at a time, the rest wait inside it. */
const PER_REPLICA = 10;
const QUEUE_CONCURRENCY = 4;

interface Sent {
  readonly replica: number;
  readonly cid: string;
  readonly answer: Promise<HttpAnswer | Error>;
}

describe.skipIf(dbs === undefined)('kill -9 one replica in the middle of a burst', () => {
  it(
    'loses nothing from the record, sends nothing twice, and the survivors settle its requests',
    { timeout: 300_000 },
    async () => {
      if (dbs === undefined) return;
      const c = (cluster = await startCluster(dbs, {
        policies: POLICIES,
        paper: { holdRequest: venue.holdRequest },
      }));
      const agent = await c.agent('bot-a', 'trader');
      for (let i = 0; i < 3; i++) {
        expect(
          (await c.order(i, agent, { amount: '0.001', clientOrderId: `warm-${String(i)}` })).body,
        ).toMatchObject({
          status: 'executed',
        });
      }

      // Hold every order at the exchange: each replica's queue fills (4 at the venue) and the rest wait inside it.
      venue.hold();
      const sent: Sent[] = [];
      for (let i = 0; i < 3 * PER_REPLICA; i++) {
        const replica = i % 3;
        const cid = `kill-${String(replica)}-${String(i)}`;
        sent.push({
          replica,
          cid,
          answer: c
            .order(replica, agent, { amount: '0.001', clientOrderId: cid })
            .catch((err: unknown) => err as Error),
        });
      }
      await eventually(async () => {
        const [row] = await c.sql<{ n: string }>(
          "SELECT count(*) AS n FROM requests WHERE status = 'executing'",
        );
        return venue.held === 3 * QUEUE_CONCURRENCY && Number(row?.n) === 3 * PER_REPLICA;
      }, 'every replica with 4 orders held at the exchange and all 30 claimed');
      const victim = c.replicas[0];
      if (victim === undefined) throw new Error('no replica 0');
      await victim.kill9();
      // The dead replica's signed orders still arrive at the venue after its death, as a slow network delivers them.
      venue.release();

      const answers = await Promise.all(sent.map(async (s) => ({ ...s, answer: await s.answer })));
      const lost = answers.filter((a) => a.answer instanceof Error);
      const answered = answers.flatMap((a) =>
        a.answer instanceof Error ? [] : [{ ...a, answer: a.answer }],
      );
      // The survivors answered all of theirs; the victim's agents lost their connections.
      expect(answered.map((a) => a.replica).every((r) => r !== 0)).toBe(true);
      expect(lost.map((a) => a.replica)).toEqual(Array<number>(PER_REPLICA).fill(0));
      for (const a of answered) expect(a.answer.body, a.cid).toMatchObject({ status: 'executed' });

      // A retry of a lost order on a survivor before it is settled: still in progress, not sent again.
      const retried = await c.order(1, agent, { amount: '0.001', clientOrderId: lost[0]?.cid ?? '' });
      expect(errorCodeOf(retried), JSON.stringify(retried.body)).toBe('COFRE_REQUEST_IN_PROGRESS');
      // `cofre request list` on the host shows them, whichever replica owns them.
      const executing = await c.sql<{ request_id: string }>(
        "SELECT request_id FROM requests WHERE status = 'executing'",
      );
      expect(executing.length).toBeGreaterThan(0);
      const listed = await c.cli(['request', 'list']);
      expect(listed.code, listed.stderr).toBe(0);
      for (const row of executing) expect(listed.stdout).toContain(row.request_id);

      // The survivors adopt the victim's requests after its lease and settle them after the signed-request window.
      await eventually(
        async () => (await c.sql("SELECT 1 FROM requests WHERE status = 'executing'")).length === 0,
        "the survivors settling the dead replica's requests",
        180_000,
      );

      const atExchange = c.paper.orders();
      const cids = atExchange.map((o) => o.clientOrderId);
      expect(new Set(cids).size, 'no clientOrderId twice at the exchange').toBe(cids.length);
      // The victim's orders that reached the venue (those it held there) were found and recorded as executed; those
      // that never left it were recorded as not executed. The record and the exchange agree, order by order.
      const rows = await c.sql<{ request_id: string; status: string; input: string }>(
        "SELECT request_id, status, input FROM requests WHERE action = 'place_order'",
      );
      const byCid = new Map(
        rows.map((r) => [(JSON.parse(r.input) as { clientOrderId: string }).clientOrderId, r]),
      );
      for (const s of sent) expect(byCid.has(s.cid), `${s.cid} in the state`).toBe(true);
      for (const [cid, row] of byCid) {
        expect(row.status, cid).toBe(cids.includes(cid) ? 'executed' : 'failed');
      }
      const victimsPlaced = lost.filter((a) => cids.includes(a.cid));
      expect(victimsPlaced.length, 'the orders held at the venue when the replica died').toBe(
        QUEUE_CONCURRENCY,
      );

      // Every request is in the audit chain with its outcome; every order that reached the exchange has its intent
      // there. (A request the victim had claimed whose intent was not yet durable when it died was never sent: the
      // survivor records it as failed, COFRE_REQUEST_INTERRUPTED.)
      const audit = await c.auditRecords();
      const ofKind = (kind: string): Set<unknown> =>
        new Set(audit.filter((r) => r['kind'] === kind).map((r) => r['requestId']));
      const intents = ofKind('intent');
      const outcomes = ofKind('outcome');
      for (const row of rows) {
        expect(outcomes.has(row.request_id), `outcome of ${row.request_id}`).toBe(true);
        if (row.status === 'executed')
          expect(intents.has(row.request_id), `intent of ${row.request_id}`).toBe(true);
      }
      for (const a of answered) expect(intents.has(a.answer.body['requestId']), a.cid).toBe(true);

      // No reservation is left behind: executed ones became usage, the others were released.
      expect(await c.sql('SELECT request_id FROM limit_reservations')).toEqual([]);

      // The lost orders, sent again to a survivor: one placed at the venue is answered with its settled request (not
      // sent again); one that never left the victim was recorded as failed, which frees its key, so the retry places it
      // now, once.
      for (const a of lost) {
        const again = await c.order(2, agent, { amount: '0.001', clientOrderId: a.cid });
        const row = byCid.get(a.cid);
        expect(again.body['status'], a.cid).toBe('executed');
        if (row?.status === 'executed') expect(again.body['requestId'], a.cid).toBe(row.request_id);
      }
      const placedCids = c.paper.orders().map((o) => o.clientOrderId);
      expect(new Set(placedCids).size).toBe(placedCids.length);
      // Each order request reached the exchange once: the survivors found the victim's orders rather than resending.
      for (const s of sent) expect(c.sentToExchange(s.cid), s.cid).toBe(1);
      expect(placedCids.length).toBe(atExchange.length + lost.length - victimsPlaced.length);

      const verify = await c.cli(['audit', 'verify']);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    },
  );
});
