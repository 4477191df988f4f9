// Property (issue 9, "Must show"): over random interleavings of orders, cancels, fills, venue failures, lost answers,
// concurrent bursts and restarts — through the real broker (openBrokerRuntime from YAML), the real SQLite ledger and
// the real paper exchange — (1) no limit is ever exceeded, by the ledger's count or by what the exchange received;
// (2) no denied request reaches the exchange, and no clientOrderId is placed twice; (3) budget is never forgotten and
// never spent twice across restarts: once reconciled, the ledger holds exactly what the exchange accepted.
//
// Replay a failure with COFRE_PROPERTY_SEED=<seed> (and COFRE_PROPERTY_PATH=<path>) from fast-check's report;
// COFRE_PROPERTY_SHRINK=1 shrinks it (slow: each shrink replays a run); COFRE_PROPERTY_RUNS sets the number of runs.
//
// Out of reach here, on purpose: price moves run between steps, never during an order — a market order is valued at
// the ticker before it is sent, so a price moving between the ticker and the fill can take that one order past the
// cap (the ledger then commits what it filled for; README, "What a limit guarantees"). The clock is real and a run lasts seconds, so windows never roll over (the ledger's own
// property test, with an injected clock, covers expiry).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { AuthenticatedAgent } from '../../src/broker/agent-tokens.js';
import type { PaperOrder } from '../../src/paper-exchange/paper-exchange.js';
import { RulePolicy } from '../../src/policy/rule-policy.js';
import type { ProxiedRequest } from '../../src/venues/testdata/dropping-proxy.js';
import { API_KEY, type AttackFixture, type Outcome, startAttackFixture } from '../attacks/attack-fixture.js';

/** What the proxy in front of the paper exchange does with one order's POST. */
type Fate = 'ok' | 'lost-before' | 'lost-after' | 'refused' | 'unavailable';

interface PlaceOp {
  readonly kind: 'place';
  readonly agent: number;
  readonly side: 'buy' | 'sell';
  readonly type: 'limit' | 'market';
  /** Value in thousandths of the rule's maxNotional (above 1000: denied by the rule, if valued as sized). */
  readonly size: number;
  /** Limit price relative to the exchange's price now, in basis points. */
  readonly offsetBps: number;
  readonly fate: Fate;
}
/** Sends an earlier order's input again, unchanged (an agent retrying after a lost answer). */
interface ReplayOp {
  readonly kind: 'replay';
  readonly pick: number;
}
interface CancelOp {
  readonly kind: 'cancel';
  readonly pick: number;
  /** Whether the cancel's answer is lost, before or after the exchange acted on it. */
  readonly lost: 'no' | 'before' | 'after';
}
/** Moves the exchange's price, filling the resting limit orders it reaches. */
interface PriceOp {
  readonly kind: 'price';
  readonly offsetBps: number;
}
/**
 * Makes the venue's list of open orders unavailable (its answers lost) or available again: the list the broker asks
 * for when an `openOrders` limit looks full.
 */
interface OutageOp {
  readonly kind: 'open-orders-outage';
  readonly on: boolean;
}
type SingleOp = PlaceOp | ReplayOp | CancelOp;
/**
 * Runs `ops` at once. With `slowList`, the exchange's answers to the list of open orders (asked when an `openOrders`
 * limit looks full) reach the broker late, each later than the one before, so that orders of the burst are placed
 * and counted between the list and its use.
 */
interface BurstOp {
  readonly kind: 'burst';
  readonly ops: readonly SingleOp[];
  readonly slowList: boolean;
}
/**
 * Stops cofre while `inFlight` orders are on their way to the exchange (held at the proxy; the state store is closed
 * under them, as a crash would leave it), lets each through or drops it, then opens a new runtime and reconciles:
 * at once (`now`), or as `runtime.reconcileInterrupted()` does (`runtime`: only what is older than the signed-request
 * window, so here nothing until the end of the run, the rest staying reserved).
 */
interface RestartOp {
  readonly kind: 'restart';
  readonly inFlight: readonly { readonly op: PlaceOp; readonly reaches: boolean }[];
  readonly settle: 'now' | 'runtime';
}
type Step = SingleOp | PriceOp | BurstOp | RestartOp | OutageOp;

interface Scenario {
  /**
   * Per-agent notional cap (USDT per minute, in multiples of maxNotional), orders per minute, open orders, per-order
   * maxNotional (USDT).
   */
  readonly notional: number;
  readonly orders: number;
  readonly openOrders: number;
  readonly maxNotional: number;
  readonly steps: readonly Step[];
}

const AGENTS = 2;
const WINDOW_MS = 60_000;

const placeArb: fc.Arbitrary<PlaceOp> = fc.record({
  kind: fc.constant('place' as const),
  agent: fc.integer({ min: 0, max: AGENTS - 1 }),
  side: fc.constantFrom('buy' as const, 'sell' as const),
  type: fc.constantFrom('limit' as const, 'market' as const),
  size: fc.integer({ min: 30, max: 1100 }),
  offsetBps: fc.integer({ min: -300, max: 300 }),
  fate: fc.oneof(
    { weight: 6, arbitrary: fc.constant('ok' as const) },
    { weight: 4, arbitrary: fc.constantFrom('lost-before' as const, 'lost-after' as const) },
    { weight: 2, arbitrary: fc.constantFrom('refused' as const, 'unavailable' as const) },
  ),
});
const singleArb: fc.Arbitrary<SingleOp> = fc.oneof(
  { weight: 6, arbitrary: placeArb },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replay' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('cancel' as const),
      pick: fc.nat(),
      lost: fc.constantFrom('no' as const, 'before' as const, 'after' as const),
    }),
  },
);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: singleArb },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('price' as const),
      offsetBps: fc.integer({ min: -400, max: 400 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('burst' as const),
      ops: fc.array(singleArb, { minLength: 2, maxLength: 6 }),
      slowList: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('open-orders-outage' as const), on: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('restart' as const),
      inFlight: fc.array(fc.record({ op: placeArb, reaches: fc.boolean() }), { maxLength: 3 }),
      settle: fc.constantFrom('now' as const, 'runtime' as const),
    }),
  },
);
const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  notional: fc.integer({ min: 1, max: 6 }),
  orders: fc.integer({ min: 2, max: 25 }),
  openOrders: fc.integer({ min: 1, max: 6 }),
  maxNotional: fc.integer({ min: 150, max: 900 }),
  steps: fc.array(stepArb, { minLength: 15, maxLength: 40 }),
});

function notionalCap(scenario: Scenario): number {
  return scenario.notional * scenario.maxNotional;
}

/** Exact decimals as integers of 10^-12, for sums. */
const SCALE = 12;
function units(decimal: string): bigint {
  const [whole = '0', fraction = ''] = decimal.split('.');
  return BigInt(whole + fraction.padEnd(SCALE, '0').slice(0, SCALE));
}
function decimalOf(value: bigint): string {
  const text = value.toString().padStart(SCALE + 1, '0');
  return `${text.slice(0, -SCALE)}.${text.slice(-SCALE)}`.replace(/\.?0+$/, '');
}

/** What an agent was told about one request: its id and a short form of the answer (`executed`, `denied`…). */
interface Answer {
  readonly requestId: string | undefined;
  readonly said: string;
}

/** One run: a fresh exchange, proxy, state file and runtime; the scenario's model of what was asked. */
class Run {
  readonly fates = new Map<string, Fate>();
  readonly lostCancels = new Map<string, 'before' | 'after'>();
  openOrdersDown = false;
  /** While set, the n-th answer to the list of open orders (n from 1) is held n × 40 ms (see {@link BurstOp}). */
  slowLists: number | undefined;
  /** Requests a crash left `executing` that no reconciliation has settled yet. */
  readonly interrupted = new Set<string>();
  /** Orders held at the proxy: the decision to let each through, and a signal that it arrived. */
  readonly held = new Map<string, { arrived: () => void; decide: Promise<boolean> }>();
  readonly answers = new Map<string, Answer[]>();
  readonly owner = new Map<string, number>();
  readonly placed: { readonly cid: string; readonly agent: number; readonly input: object }[] = [];
  agents: AuthenticatedAgent[] = [];
  #next = 0;
  fx!: AttackFixture;
  policy!: RulePolicy;

  constructor(readonly scenario: Scenario) {}

  /** The proxy's decision for each request: only orders, cancels and the list of open orders are lost or held. */
  drop(
    method: string,
    path: string,
    request: ProxiedRequest,
  ): boolean | 'after-forwarding' | Promise<boolean> {
    if (path === '/api/v3/openOrders' && method === 'GET') return this.openOrdersDown;
    if (path !== '/api/v3/order') return false;
    const params = new URLSearchParams(`${request.query}&${request.body}`);
    if (method === 'DELETE') {
      const lost = this.lostCancels.get(params.get('origClientOrderId') ?? '');
      return lost === 'before' ? true : lost === 'after' ? 'after-forwarding' : false;
    }
    const cid = params.get('newClientOrderId') ?? '';
    const hold = this.held.get(cid);
    if (hold !== undefined) {
      hold.arrived();
      return hold.decide.then((reaches) => !reaches);
    }
    const fate = this.fates.get(cid);
    return fate === 'lost-before' ? true : fate === 'lost-after' ? 'after-forwarding' : false;
  }

  /** Answers the exchange never gave: a refusal (nothing placed) or a 503 (outcome unknown); neither forwarded. */
  answer(
    method: string,
    path: string,
    request: ProxiedRequest,
  ): { status: number; body: unknown } | undefined {
    if (method !== 'POST' || path !== '/api/v3/order') return undefined;
    const fate = this.fates.get(new URLSearchParams(request.body).get('newClientOrderId') ?? '');
    if (fate === 'refused') {
      return {
        status: 400,
        body: { code: -2010, msg: 'Account has insufficient balance for requested action.' },
      };
    }
    if (fate === 'unavailable') return { status: 503, body: { code: -1001, msg: 'Service unavailable.' } };
    return undefined;
  }

  /** A late answer of the exchange: only the list of open orders, only in a `slowList` burst. */
  holdAnswer(request: ProxiedRequest): Promise<void> | undefined {
    if (this.slowLists === undefined || request.method !== 'GET' || request.path !== '/api/v3/openOrders') {
      return undefined;
    }
    const delay = ++this.slowLists * 40;
    return new Promise((resolve) => setTimeout(resolve, delay));
  }

  async start(): Promise<void> {
    const s = this.scenario;
    this.fx = await startAttackFixture(
      (url, credentials) => [
        'agents:',
        '  quotas: { requestsPerSecond: 10000, burst: 10000, concurrency: 1000, deniedPerMinute: 10000, deniedBurst: 10000 }',
        'accounts:',
        `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
        // A market order is valued at a fresh ticker, so what the exchange fills it for is what was reserved.
        'orders: { referencePriceMaxAge: 0s }',
        'policies:',
        '  trader:',
        '    rules:',
        `      - { allow: [place_order, cancel_order], accounts: [paper], maxNotional: ${String(s.maxNotional)} }`,
        '    limits:',
        `      - { per: agent, window: 1m, notional: ${String(notionalCap(s))}, quote: USDT }`,
        `      - { per: account, window: 1m, orders: ${String(s.orders)} }`,
        `      - { per: account, openOrders: ${String(s.openOrders)} }`,
      ],
      {},
      {
        drop: (m, p, r) => this.drop(m, p, r),
        answer: (m, p, r) => this.answer(m, p, r),
        holdAnswer: (r) => this.holdAnswer(r),
      },
    );
    const { config } = this.fx;
    this.policy = new RulePolicy({
      policies: config.policies,
      accounts: config.accounts,
      addressBook: config.addressBook,
      now: () => new Date(),
    });
    this.agents = await Promise.all(
      Array.from({ length: AGENTS }, (_, i) => this.fx.agent(`bot-${String(i)}`, 'trader')),
    );
  }

  record(cid: string, outcome: Outcome, tag = ''): void {
    const answer: Answer =
      'thrown' in outcome
        ? { requestId: undefined, said: `thrown:${outcome.thrown}` }
        : {
            requestId: outcome.response.requestId,
            said: `${tag}${outcome.response.status}${outcome.response.error === undefined ? '' : `:${outcome.response.error.code}`}${outcome.response.replayed === true ? ':replayed' : ''}`,
          };
    this.answers.set(cid, [...(this.answers.get(cid) ?? []), answer]);
  }

  /** A new order's input, with a clientOrderId never used before in this run. */
  newOrder(op: PlaceOp): { cid: string; input: object } {
    const cid = `p${String(this.#next++)}-a${String(op.agent)}`;
    this.fates.set(cid, op.fate);
    this.owner.set(cid, op.agent);
    const now = Number(this.fx.paper.price('BTCUSDT'));
    const price = ((now * (10_000 + op.offsetBps)) / 10_000).toFixed(2);
    const value = (this.scenario.maxNotional * op.size) / 1000;
    // At least 0.0001 BTC (4 USDT and more), so that most orders pass the market's 5 USDT minimum.
    const amount = Math.max(0.0001, value / now).toFixed(5);
    const input = {
      account: 'paper',
      symbol: 'BTC/USDT',
      side: op.side,
      type: op.type,
      amount,
      ...(op.type === 'limit' ? { price } : {}),
      clientOrderId: cid,
    };
    this.placed.push({ cid, agent: op.agent, input });
    return { cid, input };
  }

  async single(op: SingleOp): Promise<void> {
    if (op.kind === 'place') {
      const { cid, input } = this.newOrder(op);
      this.record(cid, await this.fx.run(this.agentOf(op.agent), 'place_order', input));
      return;
    }
    const earlier = this.placed[op.pick % Math.max(1, this.placed.length)];
    if (earlier === undefined) return;
    const agent = this.agentOf(earlier.agent);
    if (op.kind === 'replay') {
      this.record(earlier.cid, await this.fx.run(agent, 'place_order', earlier.input));
      return;
    }
    if (op.lost !== 'no') this.lostCancels.set(earlier.cid, op.lost);
    const cancel = { account: 'paper', symbol: 'BTC/USDT', clientOrderId: earlier.cid };
    await this.fx.run(agent, 'cancel_order', cancel);
    this.lostCancels.delete(earlier.cid);
  }

  agentOf(index: number): AuthenticatedAgent {
    const agent = this.agents[index];
    if (agent === undefined) throw new Error(`no agent ${String(index)}`);
    return agent;
  }

  async step(step: Step): Promise<void> {
    switch (step.kind) {
      case 'price': {
        const next = Number(this.fx.paper.price('BTCUSDT')) * (1 + step.offsetBps / 10_000);
        this.fx.paper.setPrice('BTCUSDT', Math.min(80_000, Math.max(40_000, next)).toFixed(2));
        return;
      }
      case 'open-orders-outage':
        this.openOrdersDown = step.on;
        return;
      case 'burst':
        this.slowLists = step.slowList ? 0 : undefined;
        await Promise.all(step.ops.map((op) => this.single(op)));
        this.slowLists = undefined;
        return;
      case 'restart':
        await this.restart(step);
        return;
      default:
        await this.single(step);
    }
  }

  /**
   * A crash with orders in flight, then a restart and reconciliation. The old process's signed requests have all
   * reached the exchange or been dropped before the new runtime reconciles, so it may settle them at once instead
   * of waiting out the 60 s signed-request window that `runtime.reconcileInterrupted()` waits for.
   */
  async restart(step: RestartOp): Promise<void> {
    const releases: (() => void)[] = [];
    const answers: Promise<void>[] = [];
    const ready: Promise<void>[] = [];
    for (const { op, reaches } of step.inFlight) {
      // Its fate is the crash: held at the proxy, then let through or dropped.
      const { cid, input } = this.newOrder({ ...op, fate: 'ok' });
      let arrived!: () => void;
      const arrival = new Promise<void>((resolve) => (arrived = resolve));
      const decide = new Promise<boolean>((resolve) =>
        releases.push(() => {
          resolve(reaches);
        }),
      );
      this.held.set(cid, { arrived, decide });
      const answer = this.fx.run(this.agentOf(op.agent), 'place_order', input).then((o) => {
        this.record(cid, o, 'crashed:');
      });
      answers.push(answer);
      // At the proxy, or answered without being sent (denied by a limit, say).
      ready.push(Promise.race([answer, arrival]));
    }
    await Promise.all(ready);
    // The crash: nothing more the old process does reaches its state file.
    await this.fx.runtime.state.close();
    for (const release of releases) release();
    await Promise.all(answers);
    this.held.clear();
    for (const answers of this.answers.values()) {
      for (const a of answers)
        if (a.said.startsWith('crashed:') && a.requestId !== undefined) this.interrupted.add(a.requestId);
    }
    await this.fx.restart();
    if (step.settle === 'now') {
      await this.reconcile();
    } else {
      const report = await this.fx.runtime.reconcileInterrupted();
      // Nothing of this run is older than the signed-request window: nothing may be settled yet.
      expect(report).toEqual({ resolved: [], unresolved: [] });
    }
  }

  /** Settles everything the old process left; see {@link Run.restart} for why at once. */
  async reconcile(): Promise<void> {
    const report = await this.fx.runtime.broker.reconcileInterrupted(
      new Date(Date.now() + WINDOW_MS + 1_000),
    );
    expect(report.unresolved).toEqual([]);
  }
}

/** Notional of an order as the exchange took it: a limit at its limit price, a market order at what it filled for. */
function valueOf(order: PaperOrder): bigint {
  if (order.type === 'MARKET') return units(order.cummulativeQuoteQty);
  return (units(order.price) * units(order.origQty)) / 10n ** BigInt(SCALE);
}

/**
 * (2): every order at the exchange was asked for by a request that was not denied — by its answer and by the
 * decision its audit intent recorded — and no clientOrderId was placed twice; every order answered `executed` is there.
 */
function checkNothingDeniedReachedTheExchange(run: Run, orders: readonly PaperOrder[]): void {
  const decisions = new Map(
    run.fx
      .audit()
      .filter((line) => line['kind'] === 'intent')
      .map((line) => [line['requestId'], line['decision']]),
  );
  const atExchange = new Set<string>();
  for (const order of orders) {
    const cid = order.clientOrderId;
    expect(atExchange.has(cid), `clientOrderId ${cid} was placed twice`).toBe(false);
    atExchange.add(cid);
    const answers = run.answers.get(cid) ?? [];
    const allowed = answers.filter(
      (a) =>
        a.requestId !== undefined &&
        decisions.get(a.requestId) === 'allow' &&
        !/^(crashed:)?denied/.test(a.said),
    );
    const told = answers.map((a) => `${a.said} (intent ${String(decisions.get(a.requestId))})`).join(', ');
    expect(allowed, `${cid} is at the exchange; its answers: ${told}`).not.toEqual([]);
  }
  for (const [cid, answers] of run.answers) {
    if (answers.some((a) => a.said === 'executed' || a.said === 'crashed:executed')) {
      expect(atExchange.has(cid), `${cid} was answered executed but is not at the exchange`).toBe(true);
    }
  }
}

/** (1), from the exchange alone: in every window of a minute, each agent's notional and the order count fit. */
function checkExchangeWithinCaps(run: Run, orders: readonly PaperOrder[]): void {
  const { scenario } = run;
  for (const last of orders) {
    const window = orders.filter((o) => o.time > last.time - WINDOW_MS && o.time <= last.time);
    expect(window.length, `orders in the minute to ${String(last.time)}`).toBeLessThanOrEqual(
      scenario.orders,
    );
    for (let agent = 0; agent < AGENTS; agent++) {
      const spent = window
        .filter((o) => run.owner.get(o.clientOrderId) === agent)
        .reduce((sum, o) => sum + valueOf(o), 0n);
      expect(
        spent <= units(String(notionalCap(scenario))),
        `agent ${String(agent)} sent ${decimalOf(spent)} USDT in a minute, cap ${String(notionalCap(scenario))}`,
      ).toBe(true);
    }
  }
  const open = orders.filter((o) => o.status === 'NEW').length;
  expect(open, 'orders open at the exchange').toBeLessThanOrEqual(scenario.openOrders);
}

/**
 * (1) and (3), from the ledger: committed + reserved within every cap, and never below what the exchange shows
 * (budget never forgotten); once `settled` (reconciled, nothing in flight), exactly what the exchange accepted
 * (never spent twice, nothing left reserved).
 */
async function checkLedger(run: Run, orders: readonly PaperOrder[], settled: boolean): Promise<void> {
  const now = Date.now();
  const { state } = run.fx.runtime;
  const recent = orders.filter((o) => o.time > now - WINDOW_MS);
  if (settled) expect(await state.reservedRequests(), 'reservations left after reconciling').toEqual([]);
  // Nothing is in flight between steps: every claimed request was finished (issue 9: on every path).
  const executing = (await state.executingRequests(new Date(now + WINDOW_MS))).filter(
    (r) => !run.interrupted.has(r.requestId),
  );
  expect(
    executing.map((r) => `${r.requestId} ${r.action} ${r.input ?? ''}`),
    'requests left executing',
  ).toEqual([]);
  for (const agent of run.agents) {
    const index = run.agents.indexOf(agent);
    const views = run.policy.limitsFor(agent.id, agent.policy);
    expect(views.map((v) => v.measure).sort()).toEqual(['notional', 'openOrders', 'orders']);
    const usage = await state.usage(
      views.map((v) => ({ key: v.key, windowMs: v.windowMs })),
      new Date(now),
    );
    for (const view of views) {
      const used = units(usage.get(view.key) ?? '0');
      const atExchange =
        view.measure === 'notional'
          ? recent
              .filter((o) => run.owner.get(o.clientOrderId) === index)
              .reduce((s, o) => s + valueOf(o), 0n)
          : view.measure === 'orders'
            ? units(String(recent.length))
            : units(String(orders.filter((o) => o.status === 'NEW').length));
      const what = `${view.key}: ledger ${decimalOf(used)}, exchange ${decimalOf(atExchange)}, cap ${view.cap}`;
      expect(used <= units(view.cap), `over the cap: ${what}`).toBe(true);
      expect(used >= atExchange, `budget forgotten: ${what}`).toBe(true);
      if (settled && view.measure !== 'openOrders')
        expect(used, `not settled exactly: ${what}`).toBe(atExchange);
    }
  }
}

async function checkInvariants(run: Run, settled: boolean): Promise<void> {
  const orders = run.fx.paper.orders().filter((o) => o.apiKey === API_KEY);
  checkNothingDeniedReachedTheExchange(run, orders);
  checkExchangeWithinCaps(run, orders);
  await checkLedger(run, orders, settled);
}

/** Plays a scenario on a fresh exchange and runtime, checking the invariants after each step and after a restart. */
async function play(scenario: Scenario, inspect?: (run: Run) => void): Promise<void> {
  const run = new Run(scenario);
  await run.start();
  try {
    for (const step of scenario.steps) {
      await run.step(step);
      await checkInvariants(run, step.kind === 'restart' && step.settle === 'now');
    }
    inspect?.(run);
    // Every run ends with a restart, so the settled ledger is compared with the exchange at least once.
    await run.fx.restart();
    await run.reconcile();
    await checkInvariants(run, true);
  } finally {
    await run.fx.close();
    run.fx.remove();
  }
}

const seed = process.env['COFRE_PROPERTY_SEED'];
const path = process.env['COFRE_PROPERTY_PATH'];

describe('limit budgets over random interleavings through the real broker (issue 9)', () => {
  it('never exceed a cap, never let a denied order through, never forget or double-spend budget', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, (scenario) => play(scenario)),
      {
        numRuns: Number(process.env['COFRE_PROPERTY_RUNS'] ?? '40'),
        ...(seed === undefined ? {} : { seed: Number(seed) }),
        ...(path === undefined ? {} : { path }),
        // Shrinking replays whole runs; ask for it (COFRE_PROPERTY_SHRINK=1) when replaying a reported seed.
        endOnFailure: process.env['COFRE_PROPERTY_SHRINK'] === undefined,
      },
    );
  }, 600_000);

  // The interleaving the property can only stumble on: an openOrders recount whose venue list was taken before
  // another order of the same burst was placed must keep that order counted (syncOpenOrders' `asOf`).
  it('a recount of open orders keeps the orders placed while the venue list was on its way', async () => {
    const buy = (offsetBps: number): PlaceOp => ({
      kind: 'place',
      agent: 0,
      side: 'buy',
      type: 'limit',
      size: 200,
      offsetBps,
      fate: 'ok',
    });
    await play(
      {
        notional: 6,
        orders: 20,
        openOrders: 1,
        maxNotional: 500,
        steps: [
          buy(-100),
          // Fills it at the exchange; cofre still counts it open until it recounts.
          { kind: 'price', offsetBps: -200 },
          { kind: 'burst', slowList: true, ops: [buy(-100), buy(-100)] },
        ],
      },
      (run) => {
        const said = ['p1-a0', 'p2-a0'].map((cid) =>
          run.answers
            .get(cid)
            ?.map((a) => a.said)
            .join(),
        );
        expect(said.sort()).toEqual(['denied', 'executed']);
      },
    );
  });

  // Regression (found by the property above): with an openOrders limit full, the broker asks the venue for its open
  // orders; when that request failed, the error escaped after the request was claimed, leaving it `executing` (its
  // clientOrderId answering COFRE_REQUEST_IN_PROGRESS until a restart reconciled it) and the agent a thrown error.
  it('a venue that cannot list its open orders when an openOrders limit is full gets the request denied, finished', async () => {
    const order = (fate: Fate): PlaceOp => ({
      kind: 'place',
      agent: 0,
      side: 'buy',
      type: 'limit',
      size: 200,
      offsetBps: -100,
      fate,
    });
    await play(
      {
        notional: 6,
        orders: 10,
        openOrders: 1,
        maxNotional: 500,
        steps: [
          { kind: 'open-orders-outage', on: true },
          // Its answer is lost: it keeps its open-order reservation, so the limit is full.
          order('lost-before'),
          order('ok'),
          { kind: 'open-orders-outage', on: false },
        ],
      },
      (run) => {
        expect(run.answers.get('p1-a0')?.map((a) => a.said)).toEqual(['denied']);
      },
    );
  });
});
