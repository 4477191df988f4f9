import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from './load-config.js';
import { renderStarterConfig, STARTER_CONSOLE_PORT } from './starter-config.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cofre-starter-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('renderStarterConfig', () => {
  it('writes a config that loads cleanly', async () => {
    const path = join(dir, 'cofre.yaml');
    await writeFile(
      path,
      renderStarterConfig({ storePath: './cofre-store.enc', key: { keyFile: './cofre.key' } }),
    );
    const config = await loadConfig(path);

    expect(config.backends['local']).toEqual({
      type: 'embedded',
      path: join(dir, 'cofre-store.enc'),
      keyFile: join(dir, 'cofre.key'),
      cache: { ttl: 300_000, staleIfError: 60_000 },
    });
    expect(config.accounts['paper']).toEqual({
      venue: 'binance',
      mode: 'paper',
      baseUrl: 'http://127.0.0.1:8788',
      credentials: { apiKey: 'local:exchanges/paper#apiKey', secret: 'local:exchanges/paper#secret' },
    });
    expect(config.policies['paper-trading']?.accounts).toEqual(['paper']);
    expect(config.policies['paper-trading']?.actions).not.toContain('withdraw');
    expect(config.agents.tokenTtl).toBe(30 * 86_400_000);
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8787, bodyLimit: 65_536 });
    // Issue 18: the console on loopback, on a port of its own that is not the paper exchange's either.
    expect(config.server.console).toEqual({
      host: '127.0.0.1',
      port: STARTER_CONSOLE_PORT,
      idleTimeout: 15 * 60_000,
      sessionLifetime: 12 * 3_600_000,
    });
    expect(new Set([config.server.port, config.server.console?.port, 8788]).size).toBe(3);
    expect(config.audit.path).toBe(join(dir, 'cofre-audit.jsonl'));
    expect(config.state).toMatchObject({ path: join(dir, 'cofre-state.db') });
  });

  // Regression: the starter config listed get_limits and get_request (which do nothing), called the audit log
  // hash-chained and said the state held limits and approvals; none of that is true yet.
  it('lists only actions that exist and says only what is true of the audit log and state', () => {
    const text = renderStarterConfig({ storePath: 'cofre.store', key: { keyFile: 'cofre.key' } });
    for (const action of ['get_limits', 'cancel_all_orders', 'withdraw', 'get_request']) {
      expect(text).not.toMatch(new RegExp(`- ${action}$`, 'm'));
    }
    expect(text).not.toMatch(/limits and approvals/);
    // Issue 10: the audit log is hash-chained now, and says where its format is documented.
    expect(text).toMatch(/# hash-chained JSON lines \(docs\/audit\.md\)/);
  });

  it('quotes paths safely', async () => {
    const path = join(dir, 'odd.yaml');
    const storePath = '/tmp/a "quoted" #dir: x/store.enc';
    await writeFile(path, renderStarterConfig({ storePath, key: { keyFile: "C:\\keys\\it's.key" } }));
    const config = await loadConfig(path);
    const local = config.backends['local'];
    expect(local?.type === 'embedded' ? local.path : undefined).toBe(storePath);
  });
});
