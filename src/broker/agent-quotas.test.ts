// Per-agent quotas with an injected clock: rate, concurrency, the denial budget, the summary, the request context.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

import type { AuditEvent, AuditSink } from '../audit/audit-log.js';
import { cofreConfigSchema } from '../config/config-schema.js';
import { isCofreError } from '../errors.js';
import { currentRequestContext } from '../venues/request-context.js';
import { type AgentQuotaLimits, AgentQuotas, DEFAULT_AGENT_QUOTA_LIMITS } from './agent-quotas.js';

const silent = pino({ level: 'silent' });

function setup(limits: Partial<AgentQuotaLimits> = {}) {
  let now = 1_000_000;
  const events: AuditEvent[] = [];
  const audit: AuditSink = {
    append: (e) => {
      events.push(e);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  const quotas = new AgentQuotas(
    { ...DEFAULT_AGENT_QUOTA_LIMITS, ...limits },
    { logger: silent, audit, now: () => now },
  );
  return {
    quotas,
    events,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const ok = () => Promise.resolve({ status: 'executed' });
const deny = () => Promise.resolve({ status: 'denied' });

async function refusal(
  p: Promise<unknown>,
): Promise<{ quota?: unknown; retryAfterMs?: unknown } | 'admitted'> {
  try {
    await p;
    return 'admitted';
  } catch (err) {
    if (!isCofreError(err, 'COFRE_AGENT_QUOTA_EXCEEDED')) throw err;
    expect(err.retryable).toBe(true);
    return err.details ?? {};
  }
}

describe('AgentQuotas', () => {
  it('has the config schema defaults', () => {
    const agents = cofreConfigSchema.shape.agents.parse({});
    expect({ ...agents.quotas, requestDeadlineMs: agents.requestDeadline }).toEqual(
      DEFAULT_AGENT_QUOTA_LIMITS,
    );
  });

  it('admits a burst, then the sustained rate, per agent', async () => {
    const { quotas, advance } = setup({ requestsPerSecond: 2, burst: 3 });
    for (let i = 0; i < 3; i++) expect(await refusal(quotas.run('a', 'get_balance', ok))).toBe('admitted');
    expect(await refusal(quotas.run('a', 'get_balance', ok))).toEqual({ quota: 'rate', retryAfterMs: 500 });
    // Another agent has its own bucket.
    expect(await refusal(quotas.run('b', 'get_balance', ok))).toBe('admitted');
    advance(500);
    expect(await refusal(quotas.run('a', 'get_balance', ok))).toBe('admitted');
    await quotas.close();
  });

  it('limits requests in flight', async () => {
    const { quotas } = setup({ concurrency: 2 });
    let release!: () => void;
    const gate = new Promise<{ status: string }>((resolve) => {
      release = () => {
        resolve({ status: 'executed' });
      };
    });
    const running = [quotas.run('a', 'get_balance', () => gate), quotas.run('a', 'get_balance', () => gate)];
    expect(await refusal(quotas.run('a', 'get_balance', ok))).toMatchObject({ quota: 'concurrency' });
    release();
    await Promise.all(running);
    expect(await refusal(quotas.run('a', 'get_balance', ok))).toBe('admitted');
    await quotas.close();
  });

  it('refuses every request of an agent that spent its denial budget, without running it', async () => {
    const { quotas, events, advance } = setup({ deniedBurst: 2, deniedPerMinute: 6 });
    await quotas.run('a', 'place_order', deny);
    await quotas.run('a', 'place_order', deny);
    let ran = false;
    const refused = await refusal(
      quotas.run('a', 'get_balance', () => {
        ran = true;
        return ok();
      }),
    );
    expect(refused).toEqual({ quota: 'denials', retryAfterMs: 10_000 });
    expect(ran).toBe(false);
    advance(10_000);
    expect(await refusal(quotas.run('a', 'get_balance', ok))).toBe('admitted');

    await quotas.flush();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      kind: 'quota',
      agent: 'a',
      status: 'refused',
      detail: { refused: { rate: 0, concurrency: 0, denials: 1 }, deniedAndRecorded: 2 },
    });
    // Counts start again after a summary; a quiet window writes nothing.
    await quotas.flush();
    expect(events).toHaveLength(1);
    await quotas.close();
  });

  it('does not count reading back a denied request as a denial', async () => {
    const { quotas } = setup({ deniedBurst: 1, deniedPerMinute: 6 });
    for (let i = 0; i < 5; i++) {
      expect(await refusal(quotas.run('a', 'get_request', deny))).toBe('admitted');
    }
    await quotas.run('a', 'place_order', deny);
    expect(await refusal(quotas.run('a', 'get_request', deny))).toMatchObject({ quota: 'denials' });
    await quotas.close();
  });

  it("runs the request with its deadline and its action's priority", async () => {
    const { quotas } = setup({ requestDeadlineMs: 5_000 });
    const seen: unknown[] = [];
    const look = () => {
      seen.push(currentRequestContext());
      return ok();
    };
    await quotas.run('a', 'cancel_order', look);
    await quotas.run('a', 'place_order', look);
    await quotas.run('a', 'get_open_orders', look);
    expect(seen).toEqual([
      { deadline: 1_005_000, priority: 'cancel' },
      { deadline: 1_005_000, priority: 'write' },
      { deadline: 1_005_000, priority: 'read' },
    ]);
    await quotas.close();
  });
});
