// VaultLeaseManager decisions against an in-process stand-in for Vault's database and lease endpoints, with an
// injected clock and timers: one lease per path, renewal, max TTL, refused and failed renewals, re-login, close.
import { inspect } from 'node:util';

import { describe, expect, it } from 'vitest';

import { encodingsOf, leaks } from '../../../test/invariants/canary.js';
import type { CofreError } from '../../errors.js';
import { isCofreError } from '../../errors.js';
import type { BackendLogFields } from '../backend-log.js';
import { NO_RETRY } from '../retry-policy.js';
import { SecretResolver } from '../secret-resolver.js';
import { VaultClient } from './vault-client.js';
import {
  type LeaseTimers,
  VaultLeaseManager,
  type VaultLeaseManagerOptions,
  type VaultTokenSource,
} from './vault-leases.js';
import type { VaultLoginEvent } from './vault-session.js';

const PATH = 'database/creds/app';
const START = 1_800_000_000_000;

/** A clock and timers that move only when the test says so. */
class ManualClock implements LeaseTimers {
  now = START;
  readonly #queue = new Map<number, { at: number; callback: () => void }>();
  #next = 0;

  set(callback: () => void, delayMs: number): unknown {
    const id = ++this.#next;
    this.#queue.set(id, { at: this.now + delayMs, callback });
    return id;
  }

  clear(handle: unknown): void {
    this.#queue.delete(handle as number);
  }

  get pending(): number {
    return this.#queue.size;
  }

  /** Moves the clock forward, firing due timers in order and letting the work they start finish. */
  async advance(ms: number): Promise<void> {
    const target = this.now + ms;
    for (;;) {
      const due = [...this.#queue.entries()]
        .filter(([, t]) => t.at <= target)
        .sort(([, a], [, b]) => a.at - b.at)[0];
      if (due === undefined) break;
      this.#queue.delete(due[0]);
      this.now = Math.max(this.now, due[1].at);
      due[1].callback();
      await settle();
    }
    this.now = target;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

interface Reply {
  readonly status: number;
  readonly body?: unknown;
}

/** Vault's `database/creds/app`, `sys/leases/renew` and `sys/leases/revoke`, with scriptable answers. */
function fakeVault(secret: string) {
  const state = {
    issued: 0,
    ttl: 4,
    renewable: true,
    credsReply: undefined as Reply | undefined,
    renewReply: (increment: number): Reply => ({
      status: 200,
      body: { lease_id: '', lease_duration: increment, renewable: true },
    }),
    calls: [] as string[],
    renewals: [] as { lease_id: string; increment: number }[],
    revoked: [] as string[],
    leaseIds: [] as string[],
  };
  const fetchImpl = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const path = url.pathname.replace(/^\/v1\//, '');
    const method = init?.method ?? 'GET';
    const body =
      typeof init?.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : undefined;
    state.calls.push(`${method} ${path}`);
    const reply = (r: Reply): Response =>
      new Response(r.body === undefined ? null : JSON.stringify(r.body), {
        status: r.status,
        headers: { 'Content-Type': 'application/json' },
      });
    if (method === 'GET' && path === PATH) {
      if (state.credsReply !== undefined) return Promise.resolve(reply(state.credsReply));
      state.issued++;
      const leaseId = `${PATH}/lease${state.issued}${secret}`;
      state.leaseIds.push(leaseId);
      return Promise.resolve(
        reply({
          status: 200,
          body: {
            lease_id: leaseId,
            lease_duration: state.ttl,
            renewable: state.renewable,
            data: { username: `v-app-${state.issued}-${secret}`, password: `pw-${state.issued}-${secret}` },
          },
        }),
      );
    }
    if (method === 'PUT' && path === 'sys/leases/renew') {
      state.renewals.push(body as { lease_id: string; increment: number });
      return Promise.resolve(reply(state.renewReply(Number(body?.['increment']))));
    }
    if (method === 'PUT' && path === 'sys/leases/revoke') {
      state.revoked.push(String(body?.['lease_id']));
      return Promise.resolve(reply({ status: 204 }));
    }
    return Promise.resolve(reply({ status: 404, body: { errors: [] } }));
  };
  return { state, fetch: fetchImpl };
}

function setup(overrides: Partial<VaultLeaseManagerOptions> = {}) {
  const secret = `canary${Math.random().toString(36).slice(2)}`;
  const vault = fakeVault(secret);
  const clock = new ManualClock();
  const lines: string[] = [];
  const client = new VaultClient({ address: 'http://vault.test', fetch: vault.fetch, retry: NO_RETRY });
  const manager = new VaultLeaseManager({
    name: 'vault',
    client,
    auth: () => Promise.resolve('test-token'),
    now: () => clock.now,
    timers: clock,
    log: (level, message, fields?: BackendLogFields) => {
      lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
    },
    ...overrides,
  });
  const events: { reference: string; version: string; reason: string }[] = [];
  manager.onLeaseEnd((e) => events.push({ reference: e.reference, version: e.version, reason: e.reason }));
  const gets = (): number => vault.state.calls.filter((c) => c === `GET ${PATH}`).length;
  return { secret, vault, clock, manager, events, lines, gets };
}

function creds(record: { value: { text(): string } }): { username: string; password: string } {
  return JSON.parse(record.value.text()) as { username: string; password: string };
}

describe('VaultLeaseManager', () => {
  it('hands out one lease per path, as JSON credentials, until it must be replaced', async () => {
    const { manager, gets, secret } = setup();
    const first = await manager.read(PATH, { kind: 'latest' });
    const again = await manager.read(`/${PATH}/`, { kind: 'stage', stage: 'current' });
    expect(gets()).toBe(1);
    expect(creds(first)).toEqual({ username: `v-app-1-${secret}`, password: `pw-1-${secret}` });
    expect(again.value.equals(first.value)).toBe(true);
    expect(again.version).toBe(first.version);
    expect(first.version).toMatch(/^l[0-9a-f]{24}$/);
    // A tenth of the 4 s lease is the safety margin (less than the 1 s default).
    expect(first.expiresAt).toEqual(new Date(START + 4_000 - 400));
    expect(first.createdAt).toEqual(new Date(START));
    // Each record is a copy the caller owns.
    first.value.zero();
    expect(creds(await manager.read(PATH))).toEqual(creds(again));
    await manager.close();
  });

  it('shares one request between concurrent first reads', async () => {
    const { manager, gets } = setup();
    const records = await Promise.all([manager.read(PATH), manager.read(PATH), manager.read(PATH)]);
    expect(gets()).toBe(1);
    expect(new Set(records.map((r) => r.version)).size).toBe(1);
    await manager.close();
  });

  it('renews at two thirds of the lease, keeping the credentials and moving expiresAt forward', async () => {
    const { manager, clock, vault, events, gets } = setup();
    const first = await manager.read(PATH);
    await clock.advance(2_600);
    expect(vault.state.renewals).toHaveLength(0);
    await clock.advance(100); // 2/3 of 4 s
    expect(vault.state.renewals).toEqual([{ lease_id: vault.state.leaseIds[0], increment: 4 }]);
    const renewed = await manager.read(PATH);
    expect(renewed.version).toBe(first.version);
    expect(renewed.value.equals(first.value)).toBe(true);
    expect(renewed.expiresAt!.getTime()).toBeGreaterThan(first.expiresAt!.getTime());
    // Past the original end the same credentials are still handed out: the lease was extended.
    await clock.advance(1_500);
    expect((await manager.read(PATH)).version).toBe(first.version);
    expect(gets()).toBe(1);
    expect(events).toEqual([]);
    await manager.close();
  });

  it('gives a lease up before its max TTL ends, so the next read issues new credentials', async () => {
    const { manager, clock, vault, events, gets } = setup();
    vault.state.renewReply = () => ({ status: 200, body: { lease_duration: 3, renewable: true } });
    const first = await manager.read(PATH);
    await clock.advance(2_667); // renewal answers 3 s < 4 s asked: the max TTL caps it
    expect(vault.state.renewals).toHaveLength(1);
    expect(events).toEqual([]);
    expect((await manager.read(PATH)).version).toBe(first.version); // still good until it is given up
    await clock.advance(2_000); // 2/3 of the 3 s left
    expect(events).toEqual([{ reference: `vault:${PATH}`, version: first.version, reason: 'max-ttl' }]);
    expect(vault.state.renewals).toHaveLength(1); // renewing again could not extend it
    const next = await manager.read(PATH);
    expect(gets()).toBe(2);
    expect(next.version).not.toBe(first.version);
    expect(creds(next).username).not.toBe(creds(first).username);
    // The old lease is still held (its credentials may be in use) and revoked on close with the new one.
    expect(manager.leases().map((l) => l.live)).toEqual([false, true]);
    await manager.close();
    expect(vault.state.revoked.sort()).toEqual([...vault.state.leaseIds].sort());
  });

  it('gives a lease up at once when Vault refuses to renew it', async () => {
    const { manager, clock, vault, events, gets } = setup();
    vault.state.renewReply = () => ({ status: 400, body: { errors: ['lease not found'] } });
    const first = await manager.read(PATH);
    await clock.advance(2_667);
    expect(events).toEqual([
      { reference: `vault:${PATH}`, version: first.version, reason: 'renewal-refused' },
    ]);
    expect((await manager.read(PATH)).version).not.toBe(first.version);
    expect(gets()).toBe(2);
    await manager.close();
  });

  it('retries a renewal while Vault is unavailable and never hands out credentials past their lease', async () => {
    const { manager, clock, vault, events } = setup();
    vault.state.renewReply = () => ({ status: 503, body: { errors: ['busy'] } });
    const first = await manager.read(PATH);
    await clock.advance(2_667);
    expect(vault.state.renewals).toHaveLength(1);
    expect(events).toEqual([]);
    expect((await manager.read(PATH)).version).toBe(first.version);
    await clock.advance(600); // retried at half the usable time left
    expect(vault.state.renewals.length).toBeGreaterThan(1);
    // Vault stays down: within the margin of the end the lease is given up, and a read fails rather than
    // returning the old credentials.
    vault.state.credsReply = { status: 503, body: { errors: ['busy'] } };
    await clock.advance(400);
    expect(events.map((e) => e.reason)).toEqual(['renewal-failed']);
    const err = await manager.read(PATH).catch((e: unknown) => e);
    expect(isCofreError(err, 'COFRE_BACKEND_UNAVAILABLE')).toBe(true);
    await manager.close();
  });

  it('never returns a lease within its margin of the end, even when no timer ran', async () => {
    const idle: LeaseTimers = { set: () => undefined, clear: () => undefined };
    const { manager, clock, events, gets } = setup({ timers: idle });
    const first = await manager.read(PATH);
    clock.now = first.expiresAt!.getTime();
    const next = await manager.read(PATH);
    expect(next.version).not.toBe(first.version);
    expect(next.expiresAt!.getTime()).toBeGreaterThan(clock.now);
    expect(events.map((e) => e.reason)).toEqual(['expiring']);
    expect(gets()).toBe(2);
    await manager.close();
  });

  it('does not renew a non-renewable lease; it is replaced before it ends', async () => {
    const { manager, clock, vault, events } = setup();
    vault.state.renewable = false;
    const first = await manager.read(PATH);
    await clock.advance(2_667);
    expect(vault.state.renewals).toHaveLength(0);
    expect(events).toEqual([{ reference: `vault:${PATH}`, version: first.version, reason: 'not-renewable' }]);
    await manager.close();
  });

  it('revokes every lease that has not ended on close, stops its timers, and refuses reads after', async () => {
    const { manager, clock, vault } = setup();
    vault.state.renewReply = () => ({ status: 400, body: { errors: ['lease not found'] } });
    await manager.read(PATH); // lease 1: given up at 2/3, ends at 4 s
    await clock.advance(2_667);
    await manager.read(PATH); // lease 2: live
    await clock.advance(1_500); // lease 1 has ended: nothing to revoke
    expect(manager.leases()).toHaveLength(1);
    await manager.close();
    await manager.close();
    expect(vault.state.revoked).toEqual([vault.state.leaseIds[1]]);
    expect(clock.pending).toBe(0);
    const calls = vault.state.calls.length;
    await clock.advance(60_000);
    expect(vault.state.calls).toHaveLength(calls);
    const err = await manager.read(PATH).catch((e: unknown) => e);
    expect(isCofreError(err, 'COFRE_BACKEND_CLOSED')).toBe(true);
  });

  it('revokes a lease issued while closing', async () => {
    const { manager, vault } = setup();
    const reading = manager.read(PATH).catch((e: unknown) => e);
    await manager.close();
    expect(isCofreError(await reading, 'COFRE_BACKEND_CLOSED')).toBe(true);
    expect(vault.state.revoked).toEqual(vault.state.leaseIds);
    expect(vault.state.revoked).toHaveLength(1);
  });

  it("replaces leases when the session logs in again, and caps expiresAt at the token's expiry", async () => {
    const listeners = new Set<(e: VaultLoginEvent) => void>();
    const source: VaultTokenSource & { expiresAt: number } = {
      expiresAt: START + 2_000,
      withToken: (request) => request('session-token'),
      onLogin: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    const { manager, events, gets } = setup({ auth: source });
    const first = await manager.read(PATH);
    expect(first.expiresAt).toEqual(new Date(START + 2_000 - 400));
    for (const l of listeners) l({ accessor: 'b', previousAccessor: 'a', ttlSeconds: 60 });
    expect(events).toEqual([{ reference: `vault:${PATH}`, version: first.version, reason: 'relogin' }]);
    expect((await manager.read(PATH)).version).not.toBe(first.version);
    expect(gets()).toBe(2);
    await manager.close();
    expect(listeners.size).toBe(0);
  });

  it('maps Vault errors to CofreErrors naming the reference, and has no versions, stages or writes', async () => {
    const { manager, vault, lines, secret } = setup();
    vault.state.credsReply = { status: 403, body: { errors: ['permission denied'] } };
    const denied = await manager.read(PATH).catch((e: unknown) => e);
    expect(isCofreError(denied, 'COFRE_BACKEND_DENIED')).toBe(true);
    expect((denied as CofreError).message).toContain(`vault:${PATH}`);
    vault.state.credsReply = undefined;
    const record = await manager.read(PATH);
    const errors = await Promise.all([
      manager.read(PATH, { kind: 'version', version: 'l0' }).catch((e: unknown) => e),
      manager.read(PATH, { kind: 'stage', stage: 'previous' }).catch((e: unknown) => e),
      manager.describe(PATH).catch((e: unknown) => e),
      manager.write(PATH).catch((e: unknown) => e),
    ]);
    expect(errors.map((e) => (e as CofreError).code)).toEqual([
      'COFRE_SECRET_NOT_FOUND',
      'COFRE_SECRET_NOT_FOUND',
      'COFRE_BACKEND_UNSUPPORTED',
      'COFRE_BACKEND_UNSUPPORTED',
    ]);
    expect((await manager.read(PATH, { kind: 'version', version: record.version })).version).toBe(
      record.version,
    );
    await manager.close();
    // SECURITY: no username, password or lease id in any log line, error or record rendering.
    const rendered = [
      ...lines,
      ...[denied, ...errors].map((e) => inspect(e, { depth: 10, showHidden: true })),
      inspect(record, { depth: 10 }),
      JSON.stringify(record),
      JSON.stringify(manager.leases()),
    ].join('\n');
    expect(leaks(rendered, encodingsOf(secret))).toEqual([]);
    expect(lines.some((l) => l.includes('Vault lease revoked'))).toBe(true);
  });

  it('works under a SecretResolver: field selection, and invalidation wired to lease events', async () => {
    const { manager, clock, vault } = setup();
    vault.state.renewReply = () => ({ status: 400, body: { errors: ['lease not found'] } });
    const resolver = new SecretResolver({
      backends: [manager],
      defaultCache: { ttlMs: 3_600_000, staleIfErrorMs: 3_600_000 },
      now: () => clock.now,
    });
    const changes: string[] = [];
    resolver.onChange((c) => changes.push(c.reference));
    manager.onLeaseEnd((e) => {
      resolver.invalidate(e.reference);
    });
    const user1 = (await resolver.resolve(`vault:${PATH}#username`)).text();
    expect(user1).toMatch(/^v-app-1-/);
    await clock.advance(2_667); // renewal refused → given up → cache invalidated
    expect(changes).toEqual([`vault:${PATH}`]);
    expect((await resolver.resolve(`vault:${PATH}#username`)).text()).toMatch(/^v-app-2-/);
    await resolver.close();
    expect(vault.state.revoked).toContain(vault.state.leaseIds[1]);
  });
});
