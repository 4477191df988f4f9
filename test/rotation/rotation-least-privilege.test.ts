// Must show (issue 12): a failing test never promotes — here a key the paper exchange accepts, but whose scope
// (`GET /sapi/v1/account/apiRestrictions`, read through the venue's keyScope) allows withdrawals on an account that
// requires least privilege and that no policy lets withdraw. The same key is promoted where a policy allows withdraw.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { validateConfig } from '../../src/config/load-config.js';
import { isCofreError } from '../../src/errors.js';
import { type PaperExchange, startPaperExchange } from '../../src/paper-exchange/paper-exchange.js';
import { BTCUSDT } from '../../src/paper-exchange/spot-markets.js';
import { parseNewCredentials } from '../../src/rotation/new-credentials.js';
import { RotationEngine } from '../../src/rotation/rotation-engine.js';
import { EmbeddedBackend } from '../../src/secrets/embedded/embedded-backend.js';
import { SecretValue } from '../../src/secrets/secret-value.js';
import { SqliteStateStore } from '../../src/state/sqlite/sqlite-state-store.js';
import { openVenueAccount } from '../../src/venues/ccxt-venue-account.js';
import { MemoryAudit, rotationContext } from './rotation-fixture.js';

const OLD_KEYS = { apiKey: 'leastoldkey0123456789', secret: 'least-old-secret-0123' };
const WITHDRAW_KEYS = { apiKey: 'leastwithdrawkey012345', secret: 'least-withdraw-secret' };

let exchange: PaperExchange;
let dir: string;
let backend: EmbeddedBackend;

beforeAll(async () => {
  exchange = await startPaperExchange({
    accounts: [
      {
        ...OLD_KEYS,
        balances: { USDT: '1000' },
        restrictions: { enableWithdrawals: false, ipRestrict: true },
      },
    ],
    symbols: [BTCUSDT],
    prices: { BTCUSDT: '60000' },
  });
  exchange.addApiKey(OLD_KEYS.apiKey, {
    ...WITHDRAW_KEYS,
    restrictions: { enableWithdrawals: true, ipRestrict: true },
  });
  dir = await mkdtemp(join(tmpdir(), 'cofre-least-privilege-'));
  backend = await EmbeddedBackend.create(
    join(dir, 'cofre.store'),
    { kind: 'key-file', path: join(dir, 'cofre.key') },
    { name: 'local' },
  );
  await backend.write('exchanges/paper', SecretValue.fromText(JSON.stringify(OLD_KEYS)));
});

afterAll(async () => {
  await backend.close();
  await exchange.stop();
  await rm(dir, { recursive: true, force: true });
});

function engine(withdrawPolicy: boolean): RotationEngine {
  const config = validateConfig({
    backends: {
      local: { type: 'embedded', path: join(dir, 'cofre.store'), keyFile: join(dir, 'cofre.key') },
    },
    accounts: {
      paper: {
        venue: 'binance',
        mode: 'paper',
        baseUrl: exchange.url,
        requireLeastPrivilege: true,
        credentials: { apiKey: 'local:exchanges/paper#apiKey', secret: 'local:exchanges/paper#secret' },
      },
    },
    policies: {
      agent: { accounts: ['paper'], actions: withdrawPolicy ? ['get_balance', 'withdraw'] : ['get_balance'] },
    },
  });
  const store = new SqliteStateStore(':memory:');
  return new RotationEngine(
    rotationContext({
      config,
      backends: [backend],
      store,
      audit: new MemoryAudit(),
      openVenue: openVenueAccount,
    }),
  );
}

const keys = parseNewCredentials(SecretValue.fromText(JSON.stringify(WITHDRAW_KEYS)), ['apiKey', 'secret']);

describe('rotation and least privilege', () => {
  it('never promotes a withdraw-enabled key on a trade-only account that requires least privilege', async () => {
    const failed = await engine(false)
      .rotateAccount('paper', keys)
      .catch((err: unknown) => err);
    expect(isCofreError(failed, 'COFRE_ROTATION_TEST_FAILED')).toBe(true);
    expect((failed as Error).message).toContain('the key can withdraw');
    expect(JSON.parse((await backend.read('exchanges/paper', { kind: 'latest' })).value.text())).toEqual(
      OLD_KEYS,
    );
  });

  it('promotes the same key where a policy allows withdraw on the account', async () => {
    const record = await engine(true).rotateAccount('paper', keys);
    expect(record.status).toBe('promoted');
    expect(JSON.parse((await backend.read('exchanges/paper', { kind: 'latest' })).value.text())).toEqual(
      WITHDRAW_KEYS,
    );
  });
});
