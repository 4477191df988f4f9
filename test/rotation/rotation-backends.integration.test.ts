// Must show (issue 12): rotation against each versioned backend's real peer — the embedded store on disk, OpenBao
// KV v2, AWS Secrets Manager (moto) and Azure Key Vault (the project's stand-in, stages as tags; issue 13) — with the paper exchange as the venue (ccxt over loopback): a key the
// exchange accepts is promoted (new current, old previous), a refused one never is (old current, no pending), a
// rollback puts the old key back, and a generated secret rotates by read-back.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { validateConfig } from '../../src/config/load-config.js';
import { isCofreError } from '../../src/errors.js';
import { type PaperExchange, startPaperExchange } from '../../src/paper-exchange/paper-exchange.js';
import { BTCUSDT } from '../../src/paper-exchange/spot-markets.js';
import { parseNewCredentials } from '../../src/rotation/new-credentials.js';
import { RotationEngine } from '../../src/rotation/rotation-engine.js';
import { rollbackRotation } from '../../src/rotation/rotation-rollback.js';
import { openTestBackend } from '../../src/secrets/aws-secrets-manager/testdata/moto-backend.js';
import { openOnPeer } from '../../src/secrets/azure-key-vault/testdata/key-vault-peers.js';
import { EmbeddedBackend } from '../../src/secrets/embedded/embedded-backend.js';
import type { SecretBackend } from '../../src/secrets/secret-backend.js';
import { SecretValue } from '../../src/secrets/secret-value.js';
import { VaultBackend } from '../../src/secrets/vault/vault-backend.js';
import { SqliteStateStore } from '../../src/state/sqlite/sqlite-state-store.js';
import { openVenueAccount } from '../../src/venues/ccxt-venue-account.js';
import { startKeyVaultStandIn } from '../key-vault-standin/index.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { startMoto, startOpenBao } from '../peers/peers.js';
import { credentialDir, unique, vaultConfig } from '../vault/vault-fixture.js';
import { MemoryAudit, rotationContext } from './rotation-fixture.js';

const OLD_KEYS = { apiKey: 'backendoldkey0123456789', secret: 'backend-old-secret-0123' };
const NEW_KEYS = { apiKey: 'backendnewkey0123456789', secret: 'backend-new-secret-0123' };
const REFUSED_KEYS = { apiKey: 'backendbadkey0123456789', secret: 'backend-bad-secret-0123' };

const bao = await peerOrSkip('OpenBao', startOpenBao);
const moto = await peerOrSkip('moto', startMoto);
// Always there: the stand-in runs in this process.
const keyVault = await startKeyVaultStandIn();
const files = await credentialDir();
let exchange: PaperExchange;

beforeAll(async () => {
  exchange = await startPaperExchange({
    accounts: [{ ...OLD_KEYS, balances: { USDT: '1000' } }],
    symbols: [BTCUSDT],
    prices: { BTCUSDT: '60000' },
  });
  exchange.addApiKey(OLD_KEYS.apiKey, NEW_KEYS);
});

afterAll(async () => {
  await exchange.stop();
  await bao?.stop();
  await moto?.stop();
  await keyVault.stop();
  vi.unstubAllEnvs();
  await files.remove();
});

/**
 * Each versioned backend, opened fresh, named `under` in references, and the separator its names may use (Key
 * Vault names hold letters, digits and dashes only).
 */
const backends: [string, boolean, () => Promise<SecretBackend>, string?][] = [
  [
    'embedded',
    true,
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'cofre-rotation-embedded-'));
      afterAll(() => rm(dir, { recursive: true, force: true }));
      return EmbeddedBackend.create(
        join(dir, 'cofre.store'),
        { kind: 'key-file', path: join(dir, 'cofre.key') },
        { name: 'under' },
      );
    },
  ],
  [
    'OpenBao KV v2',
    bao !== undefined,
    async () => {
      const tokenFile = await files.file(unique('token'), `${bao?.rootToken ?? ''}\n`);
      return VaultBackend.open(
        'under',
        vaultConfig(bao?.addr ?? '', { auth: { method: 'token', tokenFile }, mount: 'secret' }),
      );
    },
  ],
  [
    'AWS Secrets Manager (moto)',
    moto !== undefined,
    () => openTestBackend(moto?.endpoint ?? '', { name: 'under' }),
  ],
  [
    'Azure Key Vault (stand-in)',
    true,
    () => openOnPeer({ label: 'stand-in', ...keyVault }, {}, {}, 'under'),
    '-',
  ],
];

for (const [name, available, open, separator = '/'] of backends) {
  describe.skipIf(!available)(`rotation on ${name}`, () => {
    let backend: SecretBackend;
    let store: SqliteStateStore;
    let audit: MemoryAudit;
    let path: string;

    beforeAll(async () => {
      backend = await open();
      store = new SqliteStateStore(':memory:');
      audit = new MemoryAudit();
      path = `cofre-test${separator}${unique('rotation')}`;
      await backend.write(path, SecretValue.fromText(JSON.stringify({ ...OLD_KEYS, note: 'kept' })));
    });

    afterAll(async () => {
      store.close();
      await backend.close();
    });

    function context() {
      const config = validateConfig({
        backends: { under: { type: 'embedded', path: '/unused.store', keyFile: '/unused.key' } },
        accounts: {
          paper: {
            venue: 'binance',
            mode: 'paper',
            baseUrl: exchange.url,
            credentials: { apiKey: `under:${path}#apiKey`, secret: `under:${path}#secret` },
          },
        },
        policies: { read: { accounts: ['paper'], actions: ['get_balance'] } },
      });
      return rotationContext({ config, backends: [backend], store, audit, openVenue: openVenueAccount });
    }

    const keys = (values: object) =>
      parseNewCredentials(SecretValue.fromText(JSON.stringify(values)), ['apiKey', 'secret']);

    async function current(): Promise<unknown> {
      return JSON.parse((await backend.read(path, { kind: 'latest' })).value.text());
    }

    it('never promotes a key the exchange refuses: old current, no pending', async () => {
      const failed = await new RotationEngine(context())
        .rotateAccount('paper', keys(REFUSED_KEYS))
        .catch((err: unknown) => err);
      expect(isCofreError(failed, 'COFRE_ROTATION_TEST_FAILED')).toBe(true);
      const { stages } = await backend.describe(path);
      expect(stages.pending).toBeUndefined();
      expect(await current()).toEqual({ ...OLD_KEYS, note: 'kept' });
    });

    it('promotes a key the exchange accepts: new current (other fields kept), old previous, no pending', async () => {
      const before = (await backend.describe(path)).stages.current;
      const record = await new RotationEngine(context()).rotateAccount('paper', keys(NEW_KEYS));
      expect(record.status).toBe('promoted');
      const { stages } = await backend.describe(path);
      expect(stages).toMatchObject({ current: record.secrets[0]?.newVersion, previous: before });
      expect(stages.pending).toBeUndefined();
      expect(await current()).toEqual({ ...NEW_KEYS, note: 'kept' });
    });

    it('rolls back to the old key', async () => {
      await rollbackRotation(context(), { kind: 'account', account: 'paper' });
      expect(await current()).toEqual({ ...OLD_KEYS, note: 'kept' });
    });

    it('rotates a generated secret by read-back (a #field: Vault holds JSON objects only)', async () => {
      const dbPath = `cofre-test${separator}${unique('database')}`;
      const old = { user: 'app', password: 'old-password-value' };
      await backend.write(dbPath, SecretValue.fromText(JSON.stringify(old)));
      const record = await new RotationEngine(context()).rotateGenerated(`under:${dbPath}#password`, 32);
      expect(record.status).toBe('promoted');
      const now = JSON.parse((await backend.read(dbPath, { kind: 'latest' })).value.text()) as typeof old;
      expect(now.user).toBe('app');
      expect(now.password).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const previous = await backend.read(dbPath, { kind: 'stage', stage: 'previous' });
      expect(JSON.parse(previous.value.text())).toEqual(old);
    });
  });
}
