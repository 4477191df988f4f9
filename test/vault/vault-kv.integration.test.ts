// The vault backend against a real OpenBao dev server: the conformance suite on KV v2 and KV v1, stage pointers,
// and the distinct errors (denied, missing, wrong mount version).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { isCofreError } from '../../src/errors.js';
import { SecretValue } from '../../src/secrets/secret-value.js';
import { tokenAuth } from '../../src/secrets/vault/vault-auth.js';
import { STAGE_METADATA_KEYS, VaultBackend } from '../../src/secrets/vault/vault-backend.js';
import { VaultClient } from '../../src/secrets/vault/vault-client.js';
import { VaultSession } from '../../src/secrets/vault/vault-session.js';
import { exerciseSecretBackend } from '../../src/testing/exercise-secret-backend.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { startOpenBao } from '../peers/peers.js';
import {
  baoApi,
  credentialDir,
  policy,
  recordingLog,
  rejection,
  tokenWith,
  unique,
  vaultConfig,
} from './vault-fixture.js';

const bao = await peerOrSkip('OpenBao', startOpenBao);
const files = await credentialDir();
if (bao !== undefined) await baoApi(bao, 'POST', 'sys/mounts/kv1', { type: 'kv', options: { version: '1' } });
const rootTokenFile = bao === undefined ? '' : await files.file('root-token', `${bao.rootToken}\n`);

afterAll(async () => {
  await bao?.stop();
  await files.remove();
});

/** A backend with token auth from `tokenFile`; `count` sees every request URL. */
async function open(
  backend: Record<string, unknown>,
  tokenFile = rootTokenFile,
  count?: (url: string) => void,
): Promise<VaultBackend> {
  const addr = bao?.addr ?? '';
  const countingFetch: typeof fetch = (input, init) => {
    count?.(input instanceof Request ? input.url : String(input));
    return fetch(input, init);
  };
  return VaultBackend.open('vault', vaultConfig(addr, { auth: { method: 'token', tokenFile }, ...backend }), {
    fetch: countingFetch,
  });
}

const json = (o: Record<string, string>): SecretValue => SecretValue.fromText(JSON.stringify(o));

describe.skipIf(bao === undefined)('vault backend on OpenBao', () => {
  exerciseSecretBackend('vault KV v2 (detected)', async () => ({
    backend: await open({ mount: 'secret' }),
    prefix: 'cofre-test/',
  }));

  exerciseSecretBackend('vault KV v1 (configured)', async () => ({
    backend: await open({ mount: 'kv1', kvVersion: 1 }),
    prefix: 'cofre-test/',
  }));

  describe('KV v2 details', () => {
    let backend: VaultBackend;
    beforeAll(async () => {
      backend = await open({ mount: 'secret' });
    });
    afterAll(async () => {
      await backend.close();
    });

    it('detects KV v2 and claims versions and stages, but not binary values', () => {
      expect(backend.kvVersion).toBe(2);
      expect(backend.capabilities).toEqual({
        binary: false,
        write: true,
        listVersions: true,
        stages: true,
        delete: true,
      });
    });

    it('keeps stage pointers in custom_metadata and leaves other keys alone', async () => {
      const p = unique('stages/custom');
      await backend.write(p, json({ k: 'one' }));
      await baoApi(bao!, 'POST', `secret/metadata/${p}`, { custom_metadata: { owner: 'ops' } });
      await backend.write(p, json({ k: 'two' }), { stage: 'pending' });
      const meta = (await baoApi(bao!, 'GET', `secret/metadata/${p}`)).data.custom_metadata;
      expect(meta).toEqual({
        owner: 'ops',
        [STAGE_METADATA_KEYS.current]: '1',
        [STAGE_METADATA_KEYS.pending]: '2',
      });
      await backend.moveStage(p, 'current', '2');
      const after = (await baoApi(bao!, 'GET', `secret/metadata/${p}`)).data.custom_metadata;
      // current == newest needs no pointer, so a later `bao kv put` becomes current as usual.
      expect(after).toEqual({ owner: 'ops', [STAGE_METADATA_KEYS.previous]: '1' });
    });

    it('clears a stage by dropping its custom_metadata key, keeping other keys and the current pointer', async () => {
      const p = unique('stages/clear');
      await backend.write(p, json({ k: 'one' }));
      await baoApi(bao!, 'POST', `secret/metadata/${p}`, { custom_metadata: { owner: 'ops' } });
      await backend.write(p, json({ k: 'two' }), { stage: 'pending' });
      await backend.clearStage(p, 'pending');
      const meta = (await baoApi(bao!, 'GET', `secret/metadata/${p}`)).data;
      // Version 2 is still Vault's newest, so the pointer to 1 must stay or `latest` would serve the failed key.
      expect(meta.custom_metadata).toEqual({ owner: 'ops', [STAGE_METADATA_KEYS.current]: '1' });
      expect(meta.current_version).toBe(2);
      expect((await backend.read(p, { kind: 'latest' })).version).toBe('1');
      const kept = (await baoApi(bao!, 'GET', `secret/data/${p}?version=2`)).data;
      expect(kept.data).toEqual({ k: 'two' });
    });

    it('answers COFRE_BACKEND_UNSUPPORTED to clearStage on a dynamic mount, sending nothing to Vault', async () => {
      const urls: string[] = [];
      const dynamic = await open({ mount: 'secret', dynamicMounts: ['database'] }, rootTokenFile, (url) => {
        urls.push(url);
      });
      const err = await rejection(dynamic.clearStage('database/creds/app', 'pending'));
      expect(isCofreError(err, 'COFRE_BACKEND_UNSUPPORTED')).toBe(true);
      expect(urls.filter((u) => u.includes('database'))).toEqual([]);
      await dynamic.close();
    });

    it('treats a write by another tool as the new current when no pointer pins an older one', async () => {
      const p = unique('stages/external');
      await backend.write(p, json({ k: 'cofre' }));
      await baoApi(bao!, 'POST', `secret/data/${p}`, { data: { k: 'operator' } });
      const latest = await backend.read(p, { kind: 'latest' });
      expect(JSON.parse(latest.value.text())).toEqual({ k: 'operator' });
      expect(latest.version).toBe('2');
    });

    it('reports deleted versions as deleted and refuses to read them', async () => {
      const p = unique('deleted');
      await backend.write(p, json({ k: 'one' }));
      await backend.write(p, json({ k: 'two' }));
      await baoApi(bao!, 'POST', `secret/delete/${p}`, { versions: [1] });
      const meta = await backend.describe(p);
      expect(meta.versions.map((v) => [v.version, v.deleted === true])).toEqual([
        ['1', true],
        ['2', false],
      ]);
      const err = await rejection(backend.read(p, { kind: 'version', version: '1' }));
      expect(isCofreError(err, 'COFRE_SECRET_NOT_FOUND')).toBe(true);
      expect((err as Error).message).toContain(`vault:${p}`);
      // Deleting the newest version leaves no readable current version.
      await baoApi(bao!, 'DELETE', `secret/data/${p}`);
      expect(
        isCofreError(await rejection(backend.read(p, { kind: 'latest' })), 'COFRE_SECRET_NOT_FOUND'),
      ).toBe(true);
    });

    it('rejects a value that is not a JSON object', async () => {
      const err = await rejection(backend.write(unique('bad'), SecretValue.fromText('not json')));
      expect(isCofreError(err, 'COFRE_SECRET_VALUE_INVALID')).toBe(true);
      const arr = await rejection(backend.write(unique('bad'), SecretValue.fromText('["a"]')));
      expect(isCofreError(arr, 'COFRE_SECRET_VALUE_INVALID')).toBe(true);
    });

    it('reads version 0 as missing, not as "latest" (Vault reads version=0 as the newest)', async () => {
      const p = unique('v0');
      await backend.write(p, json({ k: 'x' }));
      const err = await rejection(backend.read(p, { kind: 'version', version: '0' }));
      expect(isCofreError(err, 'COFRE_SECRET_NOT_FOUND')).toBe(true);
    });

    it('refuses paths with "." or ".." segments instead of letting URL parsing move them', async () => {
      const err = await rejection(backend.read('a/../../sys/mounts', { kind: 'latest' }));
      expect(isCofreError(err, 'COFRE_REFERENCE_INVALID')).toBe(true);
    });
  });

  describe('errors', () => {
    it('names a missing path COFRE_SECRET_NOT_FOUND with the reference', async () => {
      const backend = await open({ mount: 'secret' });
      const err = await rejection(backend.read('no/such/secret', { kind: 'latest' }));
      expect(isCofreError(err, 'COFRE_SECRET_NOT_FOUND')).toBe(true);
      expect((err as Error).message).toContain('vault:no/such/secret');
      await backend.close();
    });

    it('maps a policy denial to COFRE_BACKEND_DENIED and sends the denied request once', async () => {
      await policy(bao!, 'kv-allowed-only', 'path "secret/data/allowed/*" { capabilities = ["read"] }');
      const tokenFile = await files.file('limited-token', await tokenWith(bao!, ['kv-allowed-only']));
      await baoApi(bao!, 'POST', 'secret/data/allowed/x', { data: { k: 'ok' } });
      await baoApi(bao!, 'POST', 'secret/data/forbidden/x', { data: { k: 'no' } });
      const urls: string[] = [];
      const backend = await open({ mount: 'secret', kvVersion: 2 }, tokenFile, (url) => urls.push(url));
      expect(JSON.parse((await backend.read('allowed/x', { kind: 'latest' })).value.text())).toEqual({
        k: 'ok',
      });
      const err = await rejection(backend.read('forbidden/x', { kind: 'latest' }));
      expect(isCofreError(err, 'COFRE_BACKEND_DENIED')).toBe(true);
      expect((err as Error).message).toContain('vault:forbidden/x');
      expect(urls.filter((u) => u.includes('/v1/secret/data/forbidden/x'))).toHaveLength(1);
      await backend.close();
    });

    it('says which KV version the mount has when the config says otherwise (v1 config, v2 mount)', async () => {
      const backend = await open({ mount: 'secret', kvVersion: 1 });
      const err = await rejection(backend.read('anything', { kind: 'latest' }));
      expect(isCofreError(err, 'COFRE_VAULT_MOUNT_MISMATCH')).toBe(true);
      expect((err as Error).message).toMatch(/KV version 2.*kvVersion: 1.*set kvVersion: 2/);
      await backend.close();
    });

    it('says which KV version the mount has when the config says otherwise (v2 config, v1 mount)', async () => {
      const backend = await open({ mount: 'kv1', kvVersion: 2 });
      const err = await rejection(backend.write('anything', json({ k: 'v' })));
      expect(isCofreError(err, 'COFRE_VAULT_MOUNT_MISMATCH')).toBe(true);
      expect((err as Error).message).toContain('set kvVersion: 1');
      await backend.close();
    });

    it('detects a v1 path on a v2 mount from the warning of Vault when the mount was not checked', async () => {
      // As when the policy does not allow the mount check: the backend trusts the config.
      const session = new VaultSession({
        client: new VaultClient({ address: bao!.addr }),
        auth: tokenAuth(rootTokenFile),
      });
      const backend = new VaultBackend({
        name: 'vault',
        session,
        mount: 'secret',
        kvVersion: 1,
        kvVersionConfigured: false,
      });
      const err = await rejection(backend.read('anything', { kind: 'latest' }));
      expect(isCofreError(err, 'COFRE_VAULT_MOUNT_MISMATCH')).toBe(true);
      expect((err as Error).message).toContain('used KV version 1 paths; set kvVersion: 2');
      await backend.close();
    });

    it('asks for kvVersion when detection is refused', async () => {
      await policy(bao!, 'no-mounts', 'path "secret/data/x" { capabilities = ["read"] }');
      const tokenFile = await files.file('no-mounts-token', await tokenWith(bao!, ['no-mounts']));
      const err = await rejection(open({ mount: 'kv1' }, tokenFile));
      expect(isCofreError(err, 'COFRE_VAULT_MOUNT_MISMATCH')).toBe(true);
      expect((err as Error).message).toContain('set kvVersion');
    });

    it('refuses a mount that is not KV', async () => {
      const err = await rejection(open({ mount: 'cubbyhole' }));
      expect(isCofreError(err, 'COFRE_VAULT_MOUNT_MISMATCH')).toBe(true);
      expect((err as Error).message).toContain('not KV');
    });

    it('works with the least-privilege policy of the README: reads, versions and stages, but no writes', async () => {
      await policy(
        bao!,
        'cofre-readme',
        [
          'path "secret/data/cofre/*" { capabilities = ["read"] }',
          'path "secret/metadata/cofre/*" { capabilities = ["read"] }',
          'path "sys/internal/ui/mounts/secret" { capabilities = ["read"] }',
        ].join('\n'),
      );
      const root = await open({ mount: 'secret' });
      const p = unique('cofre/exchanges/binance');
      const v1 = await root.write(p, json({ api_key: 'old' }));
      const v2 = await root.write(p, json({ api_key: 'new' }), { stage: 'pending' });
      await root.close();

      const tokenFile = await files.file('readme-token', await tokenWith(bao!, ['cofre-readme']));
      const backend = await open({ mount: 'secret' }, tokenFile); // detects the KV version
      expect(backend.kvVersion).toBe(2);
      expect(JSON.parse((await backend.read(p, { kind: 'latest' })).value.text())).toEqual({
        api_key: 'old',
      });
      expect((await backend.read(p, { kind: 'stage', stage: 'pending' })).version).toBe(v2);
      expect((await backend.describe(p)).stages).toEqual({ current: v1, pending: v2 });
      const err = await rejection(backend.write(p, json({ api_key: 'x' })));
      expect(isCofreError(err, 'COFRE_BACKEND_DENIED')).toBe(true);
      await backend.close();
    });

    it('takes the address from BAO_ADDR, then VAULT_ADDR, when the config has none', async () => {
      const config = vaultConfig('http://127.0.0.1:1', {
        auth: { method: 'token', tokenFile: rootTokenFile },
      });
      const { address: _unused, ...withoutAddress } = config;
      const backend = await VaultBackend.open('vault', withoutAddress, {
        env: { BAO_ADDR: bao!.addr, VAULT_ADDR: 'http://127.0.0.1:1' },
      });
      expect(backend.kvVersion).toBe(2);
      await backend.close();
      const err = await rejection(VaultBackend.open('vault', withoutAddress, { env: {} }));
      expect(isCofreError(err, 'COFRE_CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).toContain('BAO_ADDR');
    });

    it('warns through the injected logger when the token looks root-like', async () => {
      const { log, lines } = recordingLog();
      const backend = await VaultBackend.open(
        'vault',
        vaultConfig(bao!.addr, { auth: { method: 'token', tokenFile: rootTokenFile }, kvVersion: 2 }),
        { log },
      );
      await backend.read('allowed/x', { kind: 'latest' });
      expect(lines.some((l) => l.level === 'warn' && /root-like/.test(l.message))).toBe(true);
      await backend.close();
    });

    it('does not revoke an operator token on close', async () => {
      const token = await tokenWith(bao!, ['default']);
      const tokenFile = await files.file('operator-token', token);
      const backend = await open({ mount: 'secret', kvVersion: 2 }, tokenFile);
      await backend.read('allowed/x', { kind: 'latest' }).catch(() => undefined);
      await backend.close();
      await expect(
        baoApi(bao!, 'GET', 'auth/token/lookup-self', undefined, { token }),
      ).resolves.toBeDefined();
    });
  });
});
