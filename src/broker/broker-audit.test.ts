// recordIntent: what the broker puts on record just before a request is sent, and how long it waits for it.
import { describe, expect, it } from 'vitest';

import type { AppendOptions, AuditEvent, AuditSink } from '../audit/audit-log.js';
import { CofreError } from '../errors.js';
import type { PolicyDecision } from '../policy/policy-types.js';
import { SecretValue } from '../secrets/secret-value.js';
import type { ActionName } from './actions.js';
import type { AuditedSecrets, SecretAccess } from './audited-secrets.js';
import { type Intent, recordIntent } from './broker-audit.js';
import type { BrokerContext, BrokerDependencies, Claimed } from './broker-types.js';
import type { ResolvedAction } from './resolve-action.js';

const DECISION: PolicyDecision = {
  decision: 'allow',
  rule: 'policies.p.rules[0]',
  reason: 'allowed',
  policyHash: 'h',
  limits: [],
  shadow: [],
};

const RESOLVED: ResolvedAction = {
  // Only `order` and `withdrawal` of the question are read here (the intent's detail).
  question: { action: 'get_balance', account: 'paper' } as unknown as ResolvedAction['question'],
  payload: undefined,
};

/**
 * A sink that keeps every append with its options; its appends settle only at `release()` (a sync in progress), and
 * fail once `fail()` was called.
 */
function recordingSink() {
  const appended: { kind: string; wait: string | undefined }[] = [];
  let failing = false;
  let release: () => void = () => undefined;
  const synced = new Promise<void>((resolve) => (release = resolve));
  const sink: AuditSink = {
    async append(event: AuditEvent, options?: AppendOptions) {
      appended.push({ kind: event.kind, wait: options?.wait });
      await synced;
      if (failing) throw new CofreError('COFRE_AUDIT_UNAVAILABLE', 'disk full');
    },
    close: () => Promise.resolve(),
  };
  return {
    sink,
    appended,
    release,
    fail: () => {
      failing = true;
      release();
    },
  };
}

/** Audited reads over two fixed values; counts reads and records its `secret-access` appends into `sink`. */
function secrets(sink: AuditSink) {
  const read: SecretValue[] = [];
  const reads = { count: 0 };
  const fake: Pick<AuditedSecrets, 'readVenueCredentials' | 'recordFor'> = {
    readVenueCredentials: () => {
      reads.count++;
      const apiKey = SecretValue.fromText('key');
      const secret = SecretValue.fromText('secret');
      read.push(apiKey, secret);
      const access = (reference: string): SecretAccess => ({
        reference,
        version: '1',
        purpose: 'venue-credentials',
        account: 'paper',
      });
      return Promise.resolve({ values: { apiKey, secret }, accesses: [access('k'), access('s')] });
    },
    recordFor: (_access, _request, options) =>
      sink.append({ kind: 'secret-access', requestId: 'r', agent: 'a', action: 'x' }, options),
  };
  return { fake, read, reads };
}

function context(audit: AuditSink, withSecrets: BrokerDependencies['secrets']): BrokerContext {
  return {
    deps: {
      accounts: {},
      audit,
      secrets: withSecrets,
    } as unknown as BrokerDependencies,
    now: () => new Date(),
    halt: undefined as never,
    running: new Set(),
  };
}

const intent = (action: ActionName): Intent => ({
  request: claimed(action),
  resolved: RESOLVED,
  decision: DECISION,
  input: {},
});

function claimed(action: ActionName): Claimed {
  return {
    requestId: 'req_1',
    agent: { id: 'a', policy: 'p' },
    action,
    account: 'paper',
    idempotencyKey: undefined,
  };
}

describe('recordIntent', () => {
  it('appends a write’s intent and its credential reads in one batch, each waiting until durable', async () => {
    const audit = recordingSink();
    const s = secrets(audit.sink);
    let done = false;
    const recorded = recordIntent(context(audit.sink, s.fake), intent('place_order')).finally(
      () => (done = true),
    );
    await new Promise((resolve) => setImmediate(resolve));
    // All three were appended while the first was still being synced: they share its batch.
    expect(audit.appended).toEqual([
      { kind: 'intent', wait: 'durable' },
      { kind: 'secret-access', wait: 'durable' },
      { kind: 'secret-access', wait: 'durable' },
    ]);
    expect(done).toBe(false);
    audit.release();
    const credentials = await recorded;
    expect(credentials?.apiKey.text()).toBe('key');
    expect(s.reads.count).toBe(1);
  });

  it('lets a read wait only until written', async () => {
    const audit = recordingSink();
    const s = secrets(audit.sink);
    audit.release();
    await recordIntent(context(audit.sink, s.fake), intent('get_balance'));
    expect(audit.appended.map((a) => a.wait)).toEqual(['written', 'written', 'written']);
  });

  it('reads no credential for an action that signs nothing', async () => {
    const audit = recordingSink();
    const s = secrets(audit.sink);
    audit.release();
    const credentials = await recordIntent(context(audit.sink, s.fake), intent('get_ticker'));
    expect(credentials).toBeUndefined();
    expect(s.reads.count).toBe(0);
    expect(audit.appended.map((a) => a.kind)).toEqual(['intent']);
  });

  it('zeroes the credentials and throws when the batch cannot be written (fail closed)', async () => {
    const audit = recordingSink();
    audit.fail();
    const s = secrets(audit.sink);
    const err = await recordIntent(context(audit.sink, s.fake), intent('place_order')).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CofreError);
    expect(s.read).toHaveLength(2);
    expect(s.read.every((v) => v.zeroed)).toBe(true);
  });
});
