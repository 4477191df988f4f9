// `cofre rotate` end to end (issue 12): the real CLI over an embedded store, the paper exchange standing in for
// Binance (ccxt talks to it over loopback), the state file and the audit log on disk.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { PaperExchange } from '../../src/paper-exchange/paper-exchange.js';
import { EmbeddedBackend } from '../../src/secrets/embedded/embedded-backend.js';
import { CRASH_KEYS, startCrashExchange, writeBrokerDir } from '../invariants/audit-crash-fixture.js';
import { encodingsOf, makeCanary } from '../invariants/canary.js';
import { cli, tempDir } from './cli-harness.js';

const NEW_KEYS = { apiKey: 'rotatedapikey0123456789', secret: 'rotated-secret-0123456789' };
const REFUSED_KEYS = { apiKey: 'unknownapikey0123456789', secret: 'unknown-secret-0123456789' };

let exchange: PaperExchange;
let root: { dir: string; remove: () => void };

beforeAll(async () => {
  root = tempDir();
  exchange = await startCrashExchange();
  await writeBrokerDir(root.dir, exchange.url, 'audit.jsonl');
});

afterAll(async () => {
  await exchange.stop();
  root.remove();
});

async function stages(): Promise<Record<string, string | undefined>> {
  const store = await EmbeddedBackend.open(join(root.dir, 'cofre.store'), {
    kind: 'key-file',
    path: join(root.dir, 'cofre.key'),
  });
  try {
    return { ...(await store.describe('exchanges/paper')).stages };
  } finally {
    await store.close();
  }
}

async function currentKeys(): Promise<unknown> {
  const store = await EmbeddedBackend.open(join(root.dir, 'cofre.store'), {
    kind: 'key-file',
    path: join(root.dir, 'cofre.key'),
  });
  try {
    return JSON.parse((await store.read('exchanges/paper', { kind: 'latest' })).value.text());
  } finally {
    await store.close();
  }
}

describe('cofre rotate against the paper exchange', () => {
  it('never promotes a key the exchange refuses: the old key stays current, no pending, exit non-zero', async () => {
    const result = await cli(root.dir, ['rotate', 'paper'], JSON.stringify(REFUSED_KEYS));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('1/4 pending version written (local:exchanges/paper v2)');
    expect(result.stderr).toContain('COFRE_ROTATION_TEST_FAILED');
    expect(result.stderr).toContain('COFRE_VENUE_AUTH_FAILED');
    expect(await stages()).toEqual({ current: '1' });
    expect(await currentKeys()).toEqual(CRASH_KEYS);
  });

  it('refuses a credentials file other users can read', async () => {
    const file = join(root.dir, 'new-keys.json');
    writeFileSync(file, JSON.stringify(NEW_KEYS), { mode: 0o644 });
    chmodSync(file, 0o644);
    const result = await cli(root.dir, ['rotate', 'paper', '--from-file', 'new-keys.json']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('COFRE_KEY_FILE_INSECURE');
    expect(result.stderr).toContain('chmod 600');
    expect(result.stderr).not.toContain(NEW_KEYS.secret);
  });

  it('rotates to a key the exchange accepts, step by step, then reports status and rolls back', async () => {
    exchange.addApiKey(CRASH_KEYS.apiKey, { ...NEW_KEYS, restrictions: { enableWithdrawals: false } });
    const file = join(root.dir, 'new-keys.json');
    chmodSync(file, 0o600);
    const result = await cli(root.dir, ['rotate', 'paper', '--from-file', 'new-keys.json']);
    expect(result.stderr, result.stderr).toContain('1/4 pending version written (local:exchanges/paper v3)');
    expect(result.code).toBe(0);
    const steps = result.stderr.split('\n').filter((line) => /^\d\/4 /.test(line));
    expect(steps.map((line) => line.slice(0, 3))).toEqual(['1/4', '2/4', '3/4', '4/4']);
    expect(steps[3]).toContain('promoted: local:exchanges/paper v1→v3');
    expect(result.stderr).toMatch(/Keep the old key working at the venue until \S+ \(overlap window \w+/);
    const id = /^(rot_\S+) promoted$/m.exec(result.stdout)?.[1] ?? '';
    expect(await currentKeys()).toEqual(NEW_KEYS);
    expect(await stages()).toEqual({ current: '3', previous: '1' });

    const status = await cli(root.dir, ['rotate', '--status', '--json']);
    const records = JSON.parse(status.stdout) as { id: string; status: string; active: boolean }[];
    expect(records.map((r) => r.status)).toEqual(['promoted', 'failed']);
    expect(records[0]?.id).toBe(id);
    const one = await cli(root.dir, ['rotate', '--status', id]);
    expect(one.stdout).toContain(`${id}  promoted  account:paper`);
    expect(one.stdout).toContain('local:exchanges/paper v1→v3');

    const rollback = await cli(root.dir, ['rotate', 'paper', '--rollback']);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(await currentKeys()).toEqual(CRASH_KEYS);

    // Every step is on record under its rotation id, and no credential is anywhere in the log.
    const log = readFileSync(join(root.dir, 'audit.jsonl'), 'utf8');
    const actions = log
      .split('\n')
      .filter((line) => line.includes('"rotate-'))
      .map((line) => (JSON.parse(line) as { action: string }).action);
    expect(actions).toEqual([
      'rotate-create',
      'rotate-test',
      'rotate-fail',
      'rotate-create',
      'rotate-test',
      'rotate-promote',
      'rotate-rollback',
    ]);
    for (const value of [...Object.values(NEW_KEYS), ...Object.values(REFUSED_KEYS), CRASH_KEYS.secret]) {
      expect(log).not.toContain(value);
    }
  });

  it('leaks no new credential, in any encoding, to output, the audit log or the state file (canary)', async () => {
    const canarySecret = makeCanary();
    const canaryKey = `canary${canarySecret.value.slice(7)}`;
    for (const keys of [
      { apiKey: canaryKey, secret: canarySecret.value },
      { apiKey: 'x', secret: canarySecret.value },
      { apiKey: canaryKey, secret: canarySecret.value, extra: 'y' },
    ]) {
      const result = await cli(root.dir, ['rotate', 'paper'], JSON.stringify(keys));
      expect(result.code).not.toBe(0);
      const status = await cli(root.dir, ['rotate', '--status', '--json']);
      const texts = [result.stdout, result.stderr, status.stdout];
      for (const file of ['audit.jsonl', 'state.db', 'state.db-wal']) {
        // SQLite folds the WAL back into the file when the last connection closes.
        if (existsSync(join(root.dir, file)))
          texts.push(readFileSync(join(root.dir, file)).toString('latin1'));
      }
      for (const text of texts) {
        for (const encoded of [...canarySecret.encodings, ...encodingsOf(canaryKey)]) {
          expect(text).not.toContain(encoded);
        }
      }
    }
  });

  it('explains what is wrong with the command line', async () => {
    expect((await cli(root.dir, ['rotate'])).stderr).toContain('name the account to rotate');
    expect((await cli(root.dir, ['rotate', '--secret', 'local:x/y'])).stderr).toContain(
      '--secret needs --generate',
    );
    expect((await cli(root.dir, ['rotate', '--resume', 'rot_nope'])).stderr).toContain(
      'no rotation rot_nope',
    );
    const bad = await cli(root.dir, ['rotate', 'paper'], '{"apiKey":"abc"}');
    expect(bad.stderr).toContain('the new credentials need "secret"');
  });
});
