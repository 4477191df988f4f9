// Issue 10 on the command line: `cofre init` creates the audit keys and prints the public key to pin, `cofre audit
// public-key` prints it again, and adding or revoking an agent's or operator's token is recorded (token ids only).
import { createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { keyIdOf } from '../../src/audit/audit-format.js';
import { loadAuditKeys } from '../../src/audit/audit-keys.js';
import { loadConfig } from '../../src/config/load-config.js';
import { openResolver } from '../../src/secrets/open-backend.js';
import { SqliteStateStore } from '../../src/state/sqlite/sqlite-state-store.js';
import { writeDemoSetup } from '../../src/surfaces/cli/paper-provisioning.js';
import { cli, tempDir } from './cli-harness.js';

const ME = `local:${userInfo().username}`;

let dir: string;
let remove: () => void;
let pem: string;
let initErr: string;
beforeEach(async () => {
  ({ dir, remove } = tempDir());
  const init = await cli(dir, ['init']);
  expect(init.code).toBe(0);
  pem = init.stdout;
  initErr = init.stderr;
});
afterEach(() => {
  remove();
});

function auditLines(): Record<string, unknown>[] {
  const path = join(dir, 'cofre-audit.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** `cofre_<tokenId>.<secret>` or `cofre_op_<tokenId>.<secret>` split in its two parts. */
function tokenParts(token: string): { tokenId: string; secret: string } {
  const match = /^cofre_(?:op_)?([^.]+)\.(.+)$/.exec(token.trim());
  if (match?.[1] === undefined || match[2] === undefined) throw new Error('not a token');
  return { tokenId: match[1], secret: match[2] };
}

/** Makes the audit log unwritable for real: a directory where its file must be. */
function breakAudit(): void {
  rmSync(join(dir, 'cofre-audit.jsonl'), { force: true });
  mkdirSync(join(dir, 'cofre-audit.jsonl'));
}

describe('cofre init and the audit keys', () => {
  it('creates both keys in its store, names them in the config, and prints the public key to pin', async () => {
    const publicKey = createPublicKey(pem);
    expect(publicKey.asymmetricKeyType).toBe('ed25519');
    const keyId = keyIdOf(publicKey.export({ type: 'spki', format: 'der' }));
    expect(initErr).toContain(`keyId ${keyId}`);

    const config = await loadConfig(join(dir, 'cofre.yaml'));
    expect(config.audit).toMatchObject({
      signingKey: 'local:audit/signing-key',
      hmacKey: 'local:audit/hmac-key',
    });
    const resolver = await openResolver(config);
    try {
      const keys = await loadAuditKeys(config, resolver);
      expect(keys.hmacKey).toHaveLength(32);
      expect(createPublicKey(keys.signingKey ?? '').export({ type: 'spki', format: 'pem' })).toBe(pem);
    } finally {
      await resolver.close();
    }

    const again = await cli(dir, ['audit', 'public-key']);
    expect(again).toMatchObject({ code: 0, stdout: pem });
    expect(again.stderr).toContain(`keyId ${keyId}`);
  });

  it('the demo gets audit keys too', async () => {
    const demo = tempDir();
    try {
      const configFile = await writeDemoSetup(demo.dir, {
        exchangeUrl: 'http://127.0.0.1:1',
        apiKey: 'DemoKey',
        apiSecret: 'demo-secret',
        port: 1,
      });
      const config = await loadConfig(configFile);
      const resolver = await openResolver(config);
      try {
        const keys = await loadAuditKeys(config, resolver);
        expect(keys.signingKey?.asymmetricKeyType).toBe('ed25519');
        expect(keys.hmacKey).toHaveLength(32);
      } finally {
        await resolver.close();
      }
    } finally {
      demo.remove();
    }
  });

  it('each init makes its own keys', async () => {
    const other = tempDir();
    try {
      const second = await cli(other.dir, ['init']);
      expect(second.code).toBe(0);
      expect(second.stdout).not.toBe(pem);
    } finally {
      other.remove();
    }
  });

  it('explains a config without audit.signingKey', async () => {
    const path = join(dir, 'cofre.yaml');
    const text = readFileSync(path, 'utf8').replace(/^ {2}signingKey: .*\n/m, '');
    writeFileSync(path, text);
    const r = await cli(dir, ['audit', 'public-key']);
    expect([r.code, r.stderr]).toEqual([2, expect.stringMatching(/no audit\.signingKey/)]);
  });
});

describe('token records', () => {
  it('records agent and operator tokens added and revoked, by token id, never the token', async () => {
    const agent = await cli(dir, ['agent', 'add', 'bot-1']);
    expect(agent.code).toBe(0);
    const filed = await cli(dir, ['agent', 'add', 'bot-2', '--token-file', 'bot-2.token']);
    expect(filed.code).toBe(0);
    const operator = await cli(dir, ['operator', 'add', 'alice']);
    expect(operator.code).toBe(0);
    expect((await cli(dir, ['agent', 'revoke', 'bot-1'])).code).toBe(0);
    expect((await cli(dir, ['operator', 'revoke', 'alice'])).code).toBe(0);

    const tokens = [agent.stdout, readFileSync(join(dir, 'bot-2.token'), 'utf8'), operator.stdout].map(
      tokenParts,
    );
    const [bot1, bot2, alice] = tokens;
    // The chain's own records (genesis, checkpoints at each command's close) and the signing key's reads aside.
    const records = auditLines().filter((r) => r['kind'] === 'operator');
    expect(records.map((r) => [r['kind'], r['action'], r['agent'], r['operator'], r['detail']])).toEqual([
      [
        'operator',
        'agent-add',
        'bot-1',
        ME,
        { id: 'bot-1', tokenId: bot1?.tokenId, policy: 'paper-trading', expiresAt: expect.any(String) },
      ],
      [
        'operator',
        'agent-add',
        'bot-2',
        ME,
        { id: 'bot-2', tokenId: bot2?.tokenId, policy: 'paper-trading', expiresAt: expect.any(String) },
      ],
      [
        'operator',
        'operator-add',
        '-',
        ME,
        { id: 'alice', tokenId: alice?.tokenId, expiresAt: expect.any(String) },
      ],
      ['operator', 'agent-revoke', 'bot-1', ME, { id: 'bot-1', tokenId: bot1?.tokenId }],
      ['operator', 'operator-revoke', '-', ME, { id: 'alice', tokenId: alice?.tokenId }],
    ]);
    const text = readFileSync(join(dir, 'cofre-audit.jsonl'), 'utf8');
    for (const token of tokens) expect(text).not.toContain(token.secret);
  });

  it('never hands out a token whose issue cannot be recorded', async () => {
    breakAudit();
    const agent = await cli(dir, ['agent', 'add', 'bot-1']);
    expect([agent.code, agent.stdout]).toEqual([1, '']);
    expect(agent.stderr).toMatch(/COFRE_AUDIT_UNAVAILABLE/);
    const filed = await cli(dir, ['agent', 'add', 'bot-2', '--token-file', 'bot-2.token']);
    expect(filed.code).toBe(1);
    expect(existsSync(join(dir, 'bot-2.token'))).toBe(false);
    const operator = await cli(dir, ['operator', 'add', 'alice']);
    expect([operator.code, operator.stdout]).toEqual([1, '']);

    // Issued, then revoked at once: none of them works.
    const state = new SqliteStateStore(join(dir, 'cofre-state.db'));
    try {
      expect(state.listAgents().map((a) => [a.id, a.revokedAt !== undefined])).toEqual([
        ['bot-1', true],
        ['bot-2', true],
      ]);
      expect(state.listOperators().map((o) => [o.id, o.revokedAt !== undefined])).toEqual([['alice', true]]);
    } finally {
      state.close();
    }
  });

  it('revokes even when the audit log cannot be written, and says the revocation was not recorded', async () => {
    expect((await cli(dir, ['agent', 'add', 'bot-1'])).code).toBe(0);
    breakAudit();
    const r = await cli(dir, ['agent', 'revoke', 'bot-1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/COFRE_AUDIT_UNAVAILABLE.*revoked, but the revocation could not be written/);
    const state = new SqliteStateStore(join(dir, 'cofre-state.db'));
    try {
      expect(state.listAgents()[0]?.revokedAt).toBeDefined();
    } finally {
      state.close();
    }
  });
});
