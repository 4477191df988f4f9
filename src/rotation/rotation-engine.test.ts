import { beforeEach, describe, expect, it } from 'vitest';

import {
  type FakeVenue,
  fakeVenue,
  fakeVenueOpener,
  MemoryAudit,
  rotationContext,
} from '../../test/rotation/rotation-fixture.js';
import type { CofreConfig } from '../config/config-schema.js';
import { validateConfig } from '../config/load-config.js';
import { CofreError, isCofreError } from '../errors.js';
import { SecretValue } from '../secrets/secret-value.js';
import { SqliteStateStore } from '../state/sqlite/sqlite-state-store.js';
import { MemoryBackend } from '../testing/memory-backend.js';
import { type NewCredentials, parseNewCredentials } from './new-credentials.js';
import type { RotationProgress } from './rotation-context.js';
import { RotationEngine } from './rotation-engine.js';
import { rollbackRotation } from './rotation-rollback.js';

const OLD = { apiKey: 'oldkey', secret: 'old-secret', note: 'kept' };
const NEW = { apiKey: 'newkey', secret: 'new-secret' };

function config(overrides: Record<string, unknown> = {}, withdraw = false): CofreConfig {
  return validateConfig({
    backends: { mem: { type: 'embedded', path: '/tmp/unused.store', keyFile: '/tmp/unused.key' } },
    accounts: {
      main: {
        venue: 'binance',
        mode: 'paper',
        baseUrl: 'http://127.0.0.1:9',
        credentials: { apiKey: 'mem:exchanges/main#apiKey', secret: 'mem:exchanges/main#secret' },
        ...overrides,
      },
    },
    policies: {
      trade: { accounts: ['main'], actions: withdraw ? ['get_balance', 'withdraw'] : ['get_balance'] },
    },
  });
}

function credentials(
  values: Record<string, string> = NEW,
  fields = ['apiKey', 'secret'] as const,
): NewCredentials {
  return parseNewCredentials(SecretValue.fromText(JSON.stringify(values)), fields);
}

let backend: MemoryBackend;
let store: SqliteStateStore;
let audit: MemoryAudit;
let venue: FakeVenue;
let progress: RotationProgress[];
let invalidated: string[];
let warnings: string[];

beforeEach(async () => {
  backend = new MemoryBackend('mem');
  await backend.write('exchanges/main', SecretValue.fromText(JSON.stringify(OLD)));
  store = new SqliteStateStore(':memory:');
  audit = new MemoryAudit();
  venue = fakeVenue(['oldkey', 'newkey']);
  progress = [];
  invalidated = [];
  warnings = [];
});

function engine(cfg = config(), onStep?: (p: RotationProgress) => void): RotationEngine {
  return new RotationEngine(
    rotationContext({
      config: cfg,
      backends: [backend],
      store,
      audit,
      openVenue: fakeVenueOpener(venue),
      progress,
      invalidated,
      warnings,
      ...(onStep === undefined ? {} : { onStep }),
    }),
  );
}

async function stored(selector: 'current' | 'previous' | 'pending'): Promise<unknown> {
  const record = await backend.read('exchanges/main', { kind: 'stage', stage: selector });
  return JSON.parse(record.value.text());
}

async function errorOf(work: Promise<unknown>): Promise<CofreError> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof CofreError)) throw new Error(`expected a CofreError, got ${String(err)}`);
  return err;
}

describe('RotationEngine.rotateAccount', () => {
  it('writes pending, tests it at the venue, promotes it: new current with other fields kept, old previous', async () => {
    const record = await engine().rotateAccount('main', credentials());
    expect(record).toMatchObject({
      status: 'promoted',
      target: { kind: 'account', account: 'main' },
      secrets: [{ backend: 'mem', path: 'exchanges/main', oldVersion: '1', newVersion: '2' }],
    });
    expect(await stored('current')).toEqual({ ...NEW, note: 'kept' });
    expect(await stored('previous')).toEqual(OLD);
    expect((await backend.describe('exchanges/main')).stages.pending).toBeUndefined();
    expect(store.rotation(record.id)).toEqual(record);
    // The test read the balance with the new key, not the old one.
    expect(venue.seen).toEqual(['newkey']);
    expect(invalidated).toEqual(['mem:exchanges/main']);
    expect(progress.flatMap((p) => (p.message === undefined ? [] : [p.message]))).toEqual([
      '1/4 pending version written (mem:exchanges/main v2)',
      expect.stringMatching(/^2\/4 set/),
      expect.stringMatching(/^3\/4 tested/),
      '4/4 promoted: mem:exchanges/main v1→v2 (new current, old previous)',
    ]);
  });

  it('records every step in the audit log under the rotation id, with versions and never a value', async () => {
    const record = await engine().rotateAccount('main', credentials());
    expect(audit.actions()).toEqual(['rotate-create', 'rotate-test', 'rotate-promote']);
    for (const event of audit.events) {
      expect(event).toMatchObject({ kind: 'operator', requestId: record.id, operator: 'local:tester' });
    }
    expect(audit.events[2]?.detail).toMatchObject({
      target: 'account:main',
      backend: 'mem',
      path: 'exchanges/main',
      oldVersion: '1',
      newVersion: '2',
    });
    const text = JSON.stringify(audit.events) + JSON.stringify(store.rotations()) + JSON.stringify(progress);
    for (const value of [...Object.values(NEW), ...Object.values(OLD).filter((v) => v !== 'kept')]) {
      expect(text).not.toContain(value);
    }
  });

  it('never promotes a key the venue refuses: pending cleared, old current, rotation failed with the reason', async () => {
    venue.accepted.delete('newkey');
    const err = await errorOf(engine().rotateAccount('main', credentials()));
    expect(err.code).toBe('COFRE_ROTATION_TEST_FAILED');
    expect(err.message).toContain('COFRE_VENUE_AUTH_FAILED');
    expect(await stored('current')).toEqual(OLD);
    expect((await backend.describe('exchanges/main')).stages).toEqual({ current: '1' });
    const [record] = store.rotations();
    expect(record).toMatchObject({ status: 'failed', error: expect.stringContaining('refused') });
    expect(audit.actions()).toEqual(['rotate-create', 'rotate-test', 'rotate-fail']);
    expect(invalidated).toEqual([]);
  });

  it('never promotes a key that can withdraw on an account that needs least privilege and no withdrawals', async () => {
    venue.scopes.set('newkey', {
      canTrade: true,
      canWithdraw: true,
      ipRestricted: true,
      createdAt: undefined,
    });
    const err = await errorOf(
      engine(config({ requireLeastPrivilege: true })).rotateAccount('main', credentials()),
    );
    expect(err.code).toBe('COFRE_ROTATION_TEST_FAILED');
    expect(err.message).toContain('the key can withdraw');
    expect(await stored('current')).toEqual(OLD);
    expect((await backend.describe('exchanges/main')).stages.pending).toBeUndefined();
  });

  it('promotes a withdraw-enabled key with a warning where least privilege is not required, or withdraw is allowed', async () => {
    venue.scopes.set('newkey', {
      canTrade: true,
      canWithdraw: true,
      ipRestricted: true,
      createdAt: undefined,
    });
    await engine().rotateAccount('main', credentials());
    expect(warnings).toEqual([expect.stringContaining('the key can withdraw')]);
    await engine(config({ requireLeastPrivilege: true }, true)).rotateAccount('main', credentials(OLD_KEYS));
    expect(await stored('current')).toMatchObject(OLD_KEYS);
  });

  it('keeps a rotation whose test could not reach the venue, and resumes it to promotion', async () => {
    venue.failWith = new CofreError('COFRE_VENUE_UNAVAILABLE', 'venue down');
    const err = await errorOf(engine().rotateAccount('main', credentials()));
    expect(err.code).toBe('COFRE_VENUE_UNAVAILABLE');
    const [record] = store.rotations();
    expect(err.message).toContain(`cofre rotate --resume ${record?.id ?? ''}`);
    expect(record?.status).toBe('created');
    venue.failWith = undefined;
    expect(await engine().resume(record?.id ?? '')).toMatchObject({ status: 'promoted' });
    expect(await stored('current')).toMatchObject(NEW);
  });

  it('refuses a reference pinned to a version or stage, naming it', async () => {
    const pinned = config({
      credentials: { apiKey: 'mem:exchanges/main#apiKey@1', secret: 'mem:exchanges/main#secret' },
    });
    const err = await errorOf(engine(pinned).rotateAccount('main', credentials()));
    expect(err.code).toBe('COFRE_ROTATION_INVALID');
    expect(err.message).toContain('accounts.main.credentials.apiKey is pinned');
    expect(store.rotations()).toEqual([]);
  });

  it('rotates whole-value references: one secret per credential', async () => {
    await backend.write('keys/api', SecretValue.fromText('oldkey'));
    await backend.write('keys/secret', SecretValue.fromText('old-secret'));
    const whole = config({ credentials: { apiKey: 'mem:keys/api', secret: 'mem:keys/secret' } });
    const record = await engine(whole).rotateAccount('main', credentials());
    expect(record.secrets.map((s) => `${s.path} ${s.oldVersion ?? ''}→${s.newVersion ?? ''}`)).toEqual([
      'keys/api 1→2',
      'keys/secret 1→2',
    ]);
    expect((await backend.read('keys/api', { kind: 'latest' })).value.text()).toBe('newkey');
    expect((await backend.read('keys/secret', { kind: 'stage', stage: 'previous' })).value.text()).toBe(
      'old-secret',
    );
  });

  it('refuses a second rotation of the same account while one is unfinished, naming it', async () => {
    venue.failWith = new CofreError('COFRE_VENUE_UNAVAILABLE', 'venue down');
    await errorOf(engine().rotateAccount('main', credentials()));
    const [running] = store.rotations();
    const err = await errorOf(engine().rotateAccount('main', credentials()));
    expect(err.code).toBe('COFRE_ROTATION_IN_PROGRESS');
    expect(err.message).toContain(`cofre rotate --resume ${running?.id ?? ''}`);
  });

  it('takes no step it cannot record: with the audit log refusing, nothing is written and the rotation fails', async () => {
    audit.refuse = true;
    const err = await errorOf(engine().rotateAccount('main', credentials()));
    expect(err.message).toContain('COFRE_AUDIT_UNAVAILABLE');
    expect((await backend.describe('exchanges/main')).versions).toHaveLength(1);
    expect(store.rotations()[0]?.status).toBe('failed');
  });

  it('does not promote a secret whose current changed during the rotation', async () => {
    const record = await engine(config(), (p) => {
      if (p.step === 'tested')
        void backend.write('exchanges/main', SecretValue.fromText(JSON.stringify(OLD)));
    })
      .rotateAccount('main', credentials())
      .catch((err: unknown) => err);
    expect(isCofreError(record, 'COFRE_ROTATION_INVALID')).toBe(true);
    expect((await backend.describe('exchanges/main')).stages).toEqual({ current: '3', previous: '1' });
  });
});

const OLD_KEYS = { apiKey: 'oldkey', secret: 'old-secret' };

describe('RotationEngine.resume after a crash at any step', () => {
  class Crash extends Error {}

  it('ends every interrupted rotation valid: old current and no pending, or new current and old previous', async () => {
    // Count the durable points of one whole rotation, then crash after each in turn.
    const points = (await engine().rotateAccount('main', credentials()), progress.length);
    expect(points).toBeGreaterThanOrEqual(6);
    for (let crashAfter = 1; crashAfter <= points; crashAfter++) {
      backend = new MemoryBackend('mem');
      await backend.write('exchanges/main', SecretValue.fromText(JSON.stringify(OLD)));
      store = new SqliteStateStore(':memory:');
      let seen = 0;
      // (A crash thrown in step 1 is caught by the engine, which ends the rotation as failed: also valid.)
      await engine(config(), () => {
        if (++seen === crashAfter) throw new Crash();
      })
        .rotateAccount('main', credentials())
        .catch(() => undefined);
      expect(seen).toBeGreaterThanOrEqual(crashAfter);
      const [interrupted] = store.rotations();
      const ended = await engine()
        .resume(interrupted?.id ?? '')
        .catch(() => store.rotation(interrupted?.id ?? ''));
      const { stages } = await backend.describe('exchanges/main');
      if (ended?.status === 'promoted') {
        expect(stages, `crash after point ${crashAfter}`).toEqual({ current: '2', previous: '1' });
      } else {
        expect(ended?.status, `crash after point ${crashAfter}`).toBe('failed');
        expect(stages.current).toBe('1');
        expect(stages.pending).toBeUndefined();
      }
    }
  });

  // Two secrets (one per credential): a crash can fall between their writes and between their promotions.
  for (const accepted of [true, false]) {
    it(`ends valid across two secrets, the key ${accepted ? 'accepted' : 'refused'}, whatever point the crash hits`, async () => {
      const whole = config({ credentials: { apiKey: 'mem:keys/api', secret: 'mem:keys/secret' } });
      if (!accepted) venue.accepted.delete('newkey');
      for (let crashAfter = 1; crashAfter <= 12; crashAfter++) {
        backend = new MemoryBackend('mem');
        await backend.write('keys/api', SecretValue.fromText('oldkey'));
        await backend.write('keys/secret', SecretValue.fromText('old-secret'));
        store = new SqliteStateStore(':memory:');
        let seen = 0;
        await engine(whole, () => {
          if (++seen === crashAfter) throw new Crash();
        })
          .rotateAccount('main', credentials())
          .catch(() => undefined);
        const [interrupted] = store.rotations();
        const ended = await engine(whole)
          .resume(interrupted?.id ?? '')
          .catch(() => store.rotation(interrupted?.id ?? ''));
        const api = (await backend.describe('keys/api')).stages;
        const secret = (await backend.describe('keys/secret')).stages;
        const where = `crash after point ${crashAfter}`;
        if (ended?.status === 'promoted') {
          expect(accepted, where).toBe(true);
          expect([api, secret], where).toEqual([
            { current: '2', previous: '1' },
            { current: '2', previous: '1' },
          ]);
        } else {
          expect(ended?.status, where).toBe('failed');
          expect([api, secret], where).toEqual([{ current: '1' }, { current: '1' }]);
        }
      }
    });
  }
});

describe('RotationEngine.rotateGenerated', () => {
  it('writes a random base64url value, reads it back, promotes it; a #field keeps the other fields', async () => {
    await backend.write('db/creds', SecretValue.fromText(JSON.stringify({ user: 'app', password: 'old' })));
    const record = await engine().rotateGenerated('mem:db/creds#password', 32);
    expect(record).toMatchObject({
      status: 'promoted',
      target: { kind: 'secret', reference: 'mem:db/creds#password' },
    });
    const current = JSON.parse((await backend.read('db/creds', { kind: 'latest' })).value.text()) as {
      user: string;
      password: string;
    };
    expect(current.user).toBe('app');
    expect(current.password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(audit.events)).not.toContain(current.password);
  });

  it('rotates a whole value and refuses --bytes out of range', async () => {
    await backend.write('app/token', SecretValue.fromText('old'));
    await engine().rotateGenerated('mem:app/token', 16);
    expect((await backend.read('app/token', { kind: 'latest' })).value.text()).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect((await errorOf(engine().rotateGenerated('mem:app/token', 4))).code).toBe('COFRE_ROTATION_INVALID');
  });
});

describe('rollbackRotation', () => {
  function context() {
    return rotationContext({
      config: config(),
      backends: [backend],
      store,
      audit,
      openVenue: fakeVenueOpener(venue),
      invalidated,
    });
  }

  it('moves current back to the version before the last promotion, recorded as rolled-back; once', async () => {
    await engine().rotateAccount('main', credentials());
    const record = await rollbackRotation(context(), { kind: 'account', account: 'main' });
    expect(record).toMatchObject({
      status: 'rolled-back',
      secrets: [{ backend: 'mem', path: 'exchanges/main', oldVersion: '2', newVersion: '1' }],
    });
    expect(await stored('current')).toEqual(OLD);
    expect(audit.actions().at(-1)).toBe('rotate-rollback');
    expect(invalidated.at(-1)).toBe('mem:exchanges/main');
    const again = await errorOf(rollbackRotation(context(), { kind: 'account', account: 'main' }));
    expect(again.message).toContain('already rolled back');
  });

  it('uses the backend previous stage when no rotation is on record, and refuses when there is none', async () => {
    const none = await errorOf(rollbackRotation(context(), { kind: 'account', account: 'main' }));
    expect(none.message).toContain('no previous version');
    await backend.write('exchanges/main', SecretValue.fromText(JSON.stringify(NEW)));
    await rollbackRotation(context(), { kind: 'account', account: 'main' });
    expect(await stored('current')).toEqual(OLD);
  });

  it('is refused while a rotation of the account is unfinished', async () => {
    venue.failWith = new CofreError('COFRE_VENUE_UNAVAILABLE', 'venue down');
    await errorOf(engine().rotateAccount('main', credentials()));
    const err = await errorOf(rollbackRotation(context(), { kind: 'account', account: 'main' }));
    expect(err.code).toBe('COFRE_ROTATION_IN_PROGRESS');
  });
});
