// Issue 16, "Must show": three `cofre serve` processes on one PostgreSQL behave as one broker. Limits hold across
// them (counted at the paper exchange afterwards), one clientOrderId sent to two replicas at once places one order,
// an approval decided on two replicas at the same moment executes once, and `cofre halt` stops all three before
// their next order. Every replica is a real process of the built CLI; see replica-cluster.ts.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { PostgresTestDatabases } from '../../src/state/postgres/testdata/postgres-test-databases.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { startPostgres } from '../peers/peers.js';
import { type Cluster, errorCodeOf, type HttpAnswer, startCluster } from './replica-cluster.js';

const dbs = await peerOrSkip('PostgreSQL', async () => new PostgresTestDatabases(await startPostgres()));
let cluster: Cluster | undefined;

beforeAll(() => {
  if (dbs === undefined) throw new Error('PostgreSQL is not installed: see the message above');
});

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

afterAll(async () => {
  await dbs?.stop();
});

/**
 * `trader`: orders up to 500 USDT allowed, from 500 to 5,000 an operator approves. `capped`: up to 500 USDT, at most
 * 1,000 USDT per agent and 8 orders per account an hour.
 */
const POLICIES = [
  '  trader:',
  '    rules:',
  '      - { name: small, allow: [place_order], accounts: [paper], maxNotional: 500 }',
  '      - { name: large, approve: [place_order], accounts: [paper], minNotional: 500, maxNotional: 5000 }',
  '  capped:',
  '    rules:',
  '      - { name: small, allow: [place_order], accounts: [paper], maxNotional: 500 }',
  '    limits:',
  '      - { name: agent-spend, per: agent, window: 1h, notional: 1000, quote: USDT }',
  '      - { name: order-count, per: account, window: 1h, orders: 8 }',
];
const SPEND_CAP = 1000;
const ORDER_CAP = 8;

async function start(): Promise<Cluster> {
  if (dbs === undefined) throw new Error('no PostgreSQL');
  cluster = await startCluster(dbs, { policies: POLICIES, extra: ['approvals: { expiry: 10m }'] });
  return cluster;
}

describe.skipIf(dbs === undefined)('three cofre serve replicas on one PostgreSQL', () => {
  it('never exceed a limit with concurrent orders spread across them', { timeout: 180_000 }, async () => {
    const c = await start();
    const agents = await Promise.all(['bot-a', 'bot-b', 'bot-c'].map((id) => c.agent(id, 'capped')));
    // 0.005 BTC at 59,000 is 295 USDT: an agent's 1,000 holds three, the account's 8 orders fewer than 3 × 3. Every
    // fifth order is 0.01 BTC (590 USDT), over the rule's maxNotional.
    const sent: { agent: number; cid: string; amount: string; answer: Promise<HttpAnswer> }[] = [];
    for (let i = 0; i < 36; i++) {
      const agent = i % 3;
      const amount = i % 5 === 4 ? '0.01' : '0.005';
      const cid = `lim-${String(agent)}-${String(i)}`;
      // Round-robin over the replicas, shifted so one agent's orders land on all three.
      sent.push({
        agent,
        cid,
        amount,
        answer: c.order((i + Math.floor(i / 3)) % 3, agents[agent] ?? '', { amount, clientOrderId: cid }),
      });
    }
    const answers = await Promise.all(sent.map(async (s) => ({ ...s, answer: await s.answer })));

    const atExchange = c.paper.orders();
    expect(atExchange.length).toBeLessThanOrEqual(ORDER_CAP);
    for (let agent = 0; agent < 3; agent++) {
      const spent = atExchange
        .filter((o) => o.clientOrderId.startsWith(`lim-${String(agent)}-`))
        .reduce((sum, o) => sum + Number(o.price) * Number(o.origQty), 0);
      expect(spent, `agent ${String(agent)}`).toBeLessThanOrEqual(SPEND_CAP + 1e-6);
    }
    // Each executed answer is one order at the exchange, each order an executed answer; no clientOrderId twice.
    const executed = answers.filter((a) => a.answer.body['status'] === 'executed').map((a) => a.cid);
    expect(atExchange.map((o) => o.clientOrderId).sort()).toEqual(executed.sort());
    // The caps were reached, not just respected: some orders went through, the rest were denied by a limit (and the
    // large ones by the rule's maxNotional).
    expect(executed.length).toBeGreaterThan(0);
    const denied = answers.filter((a) => a.answer.body['status'] !== 'executed');
    for (const d of denied) expect(d.answer.body['status'], JSON.stringify(d.answer.body)).toBe('denied');
    const byLimit = denied.filter((d) => d.amount === '0.005');
    expect(byLimit.length).toBeGreaterThan(0);
    for (const d of byLimit) {
      expect(JSON.stringify(d.answer.body), 'a limit is named').toMatch(/agent-spend|order-count/);
    }
    // Nothing stays reserved or executing.
    expect(await c.sql("SELECT request_id FROM requests WHERE status = 'executing'")).toEqual([]);
  });

  it(
    'places one order for one clientOrderId sent to two replicas at once',
    { timeout: 180_000 },
    async () => {
      const c = await start();
      const agent = await c.agent('bot-a', 'trader');
      for (let round = 0; round < 8; round++) {
        const cid = `dup-${String(round)}`;
        const [a, b] = [round % 3, (round + 1) % 3];
        const answers = await Promise.all([
          c.order(a, agent, { amount: '0.001', clientOrderId: cid }),
          c.order(b, agent, { amount: '0.001', clientOrderId: cid }),
        ]);
        expect(c.paper.orders().filter((o) => o.clientOrderId === cid)).toHaveLength(1);
        expect(c.sentToExchange(cid), 'order requests sent').toBe(1);
        // One executed it; the other either replayed its answer or said it is still in progress.
        const said = answers.map(
          (x) =>
            `${String(x.body['status'])}${x.body['replayed'] === true ? ':replayed' : ''}:${errorCodeOf(x) ?? ''}`,
        );
        expect(
          said.filter((s) => s === 'executed:'),
          said.join(' | '),
        ).toHaveLength(1);
        const other = said.find((s) => s !== 'executed:');
        expect(other, said.join(' | ')).toMatch(/^executed:replayed:$|COFRE_REQUEST_IN_PROGRESS/);
        // Sent again later to the third replica: the same answer, still one order.
        const later = await c.order((round + 2) % 3, agent, { amount: '0.001', clientOrderId: cid });
        expect(later.body).toMatchObject({ status: 'executed', replayed: true });
        expect(c.paper.orders().filter((o) => o.clientOrderId === cid)).toHaveLength(1);
        expect(c.sentToExchange(cid), 'order requests sent').toBe(1);
      }
      expect(c.paper.orders()).toHaveLength(8);
    },
  );

  it(
    'executes an approval decided on two replicas at the same moment once',
    { timeout: 180_000 },
    async () => {
      const c = await start();
      const agent = await c.agent('bot-a', 'trader');
      const alice = await c.operator('alice');
      const bob = await c.operator('bob');
      for (let round = 0; round < 4; round++) {
        const before = c.paper.orders().length;
        // 0.012 BTC at 59,000 is 708 USDT: the `large` rule asks an operator.
        const placed = await c.order(0, agent, { amount: '0.012', clientOrderId: `appr-${String(round)}` });
        expect(placed.status, JSON.stringify(placed.body)).toBe(202);
        const requestId = String(placed.body['requestId']);
        const { payloadHash } = placed.body['approval'] as { payloadHash: string };
        expect(c.paper.orders().length).toBe(before);

        const decisions = await Promise.all([
          c.call(1, 'POST', `/v1/operator/approvals/${requestId}/approve`, alice, { payloadHash }),
          c.call(2, 'POST', `/v1/operator/approvals/${requestId}/approve`, bob, { payloadHash }),
        ]);
        expect(c.paper.orders().length, JSON.stringify(decisions.map((d) => d.body))).toBe(before + 1);
        expect(c.sentToExchange(`appr-${String(round)}`), 'order requests sent').toBe(1);
        // One decision executed the order and answers with it; the other's vote is not counted (the quorum of one was
        // complete): both name the same single approver, and the loser answers with the request as it then stood
        // (executed, or still pending or in progress while the winner sends it) or 409 COFRE_APPROVAL_NOT_PENDING.
        const said = decisions.map((d) => {
          const response = d.body['response'] as { status?: string } | undefined;
          return `${String(d.status)}:${response?.status ?? errorCodeOf(d) ?? ''}`;
        });
        const bodies = JSON.stringify(decisions.map((d) => d.body));
        expect(said.filter((o) => o === '200:executed').length, bodies).toBeGreaterThanOrEqual(1);
        const voters = decisions.flatMap((d) =>
          d.status === 200
            ? [(d.body['approval'] as { approvals: { operator: string }[] }).approvals.map((v) => v.operator)]
            : [],
        );
        for (const v of voters) expect(v, bodies).toEqual(voters[0]);
        expect(voters[0], bodies).toHaveLength(1);
        // Every replica answers the agent's poll with the executed order.
        for (let i = 0; i < 3; i++) {
          const poll = await c.call(i, 'GET', `/v1/requests/${requestId}`, agent);
          expect(poll.body, `replica ${String(i)}`).toMatchObject({ status: 'executed', requestId });
        }
      }
      // And one more, approved with the CLI on the host while an operator approves through a replica.
      const placed = await c.order(2, agent, { amount: '0.012', clientOrderId: 'appr-cli' });
      const requestId = String(placed.body['requestId']);
      const { payloadHash } = placed.body['approval'] as { payloadHash: string };
      const before = c.paper.orders().length;
      const [viaCli, viaApi] = await Promise.all([
        c.cli(['approval', 'approve', requestId, '--payload-hash', payloadHash]),
        c.call(1, 'POST', `/v1/operator/approvals/${requestId}/approve`, alice, { payloadHash }),
      ]);
      expect(
        c.paper.orders().length,
        `${viaCli.stdout}${viaCli.stderr} | ${JSON.stringify(viaApi.body)}`,
      ).toBe(before + 1);
      expect([viaCli.code === 0, viaApi.status === 200].filter(Boolean).length).toBeGreaterThanOrEqual(1);
      expect((await c.call(0, 'GET', `/v1/requests/${requestId}`, agent)).body).toMatchObject({
        status: 'executed',
      });
    },
  );

  it(
    '`cofre halt` on the host stops all three before their next order; `cofre resume` lets them through',
    { timeout: 180_000 },
    async () => {
      const c = await start();
      const agent = await c.agent('bot-a', 'trader');
      const operator = await c.operator('alice');
      for (let i = 0; i < 3; i++) {
        expect(
          (await c.order(i, agent, { amount: '0.001', clientOrderId: `warm-${String(i)}` })).body,
        ).toMatchObject({ status: 'executed' });
      }
      const halt = await c.cli(['halt', '--reason', 'replica drill']);
      expect(halt.code, halt.stderr).toBe(0);
      const before = c.paper.orders().length;
      for (let i = 0; i < 3; i++) {
        const refused = await c.order(i, agent, { amount: '0.001', clientOrderId: `halted-${String(i)}` });
        expect([refused.status, errorCodeOf(refused)], `replica ${String(i)}`).toEqual([503, 'COFRE_HALTED']);
      }
      expect(c.paper.orders().length).toBe(before);
      expect((await c.cli(['resume'])).code).toBe(0);
      for (let i = 0; i < 3; i++) {
        expect(
          (await c.order(i, agent, { amount: '0.001', clientOrderId: `resumed-${String(i)}` })).body,
        ).toMatchObject({ status: 'executed' });
      }

      // The same through one replica's operator API: halted there, refused everywhere.
      expect((await c.call(1, 'POST', '/v1/operator/halt', operator, { reason: 'api drill' })).status).toBe(
        200,
      );
      const halted = c.paper.orders().length;
      for (let i = 0; i < 3; i++) {
        expect((await c.call(i, 'GET', '/v1/operator/halt', operator)).body).toMatchObject({
          halted: true,
          reason: 'api drill',
        });
        expect(
          errorCodeOf(await c.order(i, agent, { amount: '0.001', clientOrderId: `api-halted-${String(i)}` })),
        ).toBe('COFRE_HALTED');
      }
      expect(c.paper.orders().length).toBe(halted);
      expect((await c.call(2, 'POST', '/v1/operator/resume', operator, {})).body).toEqual({ resumed: true });
      expect((await c.order(0, agent, { amount: '0.001', clientOrderId: 'api-resumed' })).body).toMatchObject(
        { status: 'executed' },
      );
    },
  );
});
