// No leaks: a canary secret value, a canary secret_id, a wrapping token and every Vault token cofre holds go through
// the vault backend's flows (login, renew, read, write, describe, list, failures, close) against a real OpenBao
// server; then every log line and every error (inspected with depth) is searched for them in raw, base64, hex and
// URL-encoded form.
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { SecretValue } from '../../src/secrets/secret-value.js';
import { VaultBackend } from '../../src/secrets/vault/vault-backend.js';
import { encodingsOf, leaks, makeCanary } from '../invariants/canary.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { freePort, startOpenBao } from '../peers/peers.js';
import {
  appRole,
  baoApi,
  credentialDir,
  policy,
  recordingLog,
  renderError,
  vaultConfig,
} from './vault-fixture.js';

const bao = await peerOrSkip('OpenBao', startOpenBao);
const files = await credentialDir();

afterAll(async () => {
  await bao?.stop();
  await files.remove();
});

describe.skipIf(bao === undefined)('vault backend leaks no secret (canary)', () => {
  it('keeps values, secret_ids and tokens out of logs and errors', async () => {
    const value = makeCanary().value;
    const secretId = makeCanary().value;
    const wrongSecretId = makeCanary().value;
    const secrets: string[] = [value, secretId, wrongSecretId, bao!.rootToken];
    const { log, text: logText } = recordingLog();
    const errors: unknown[] = [];
    const rendered: string[] = [];
    const capture = async (promise: Promise<unknown>): Promise<void> => {
      await promise.then(
        (result) =>
          rendered.push(inspect(result, { depth: 10 }), (JSON.stringify(result) as string | undefined) ?? ''),
        (err: unknown) => errors.push(err),
      );
    };

    await policy(
      bao!,
      'canary',
      'path "secret/*" { capabilities = ["create", "read", "update", "delete", "list"] }\npath "secret/data/private/*" { capabilities = ["deny"] }',
    );
    const { roleId } = await appRole(bao!, 'canary', { token_policies: ['canary'], token_ttl: '1h' });
    await baoApi(bao!, 'POST', 'auth/approle/role/canary/custom-secret-id', { secret_id: secretId });
    await baoApi(bao!, 'POST', 'secret/data/private/x', { data: { k: value } });
    const roleIdFile = await files.file('role-id', roleId);

    // Plain AppRole, with the canary as secret_id: every KV operation and its failures.
    const backend = await VaultBackend.open(
      'vault',
      vaultConfig(bao!.addr, {
        auth: { method: 'approle', roleIdFile, secretIdFile: await files.file('secret-id', secretId) },
      }),
      { log },
    );
    await capture(backend.write('canary/app', SecretValue.fromText(JSON.stringify({ secret: value }))));
    await capture(
      backend.write('canary/app', SecretValue.fromText(JSON.stringify({ secret: value })), {
        stage: 'pending',
      }),
    );
    await capture(backend.read('canary/app', { kind: 'latest' }));
    await capture(backend.read('canary/app', { kind: 'stage', stage: 'pending' }));
    await capture(backend.describe('canary/app'));
    await capture(backend.list());
    await capture(backend.read('canary/app', { kind: 'version', version: '99' }));
    await capture(backend.read('canary/missing', { kind: 'latest' }));
    await capture(backend.read('private/x', { kind: 'latest' })); // denied
    await capture(backend.write('canary/bad', SecretValue.fromText(`not json ${value}`)));
    await capture(backend.write('private/x', SecretValue.fromText(JSON.stringify({ secret: value })))); // denied write
    await capture(backend.moveStage('canary/app', 'current', '999'));
    await capture(backend.clearStage('canary/app', 'pending'));
    await capture(backend.clearStage('private/x', 'previous')); // denied metadata read
    await capture(backend.session.renewNow());
    secrets.push(await backend.session.token());
    rendered.push(inspect(backend, { depth: 10, showHidden: true }));
    await backend.close();

    // A wrong secret_id: the login error must not echo it.
    const wrong = await VaultBackend.open(
      'vault',
      vaultConfig(bao!.addr, {
        auth: { method: 'approle', roleIdFile, secretIdFile: await files.file('wrong', wrongSecretId) },
        kvVersion: 2,
      }),
      { log },
    );
    await capture(wrong.read('canary/app', { kind: 'latest' }));
    await wrong.close();

    // A wrapped secret_id: used once, then refused; and one from the wrong path.
    const wrapped = await baoApi(
      bao!,
      'POST',
      'auth/approle/role/canary/secret-id',
      {},
      {
        headers: { 'X-Vault-Wrap-TTL': '120s' },
      },
    );
    const wrapToken = wrapped.wrap_info.token as string;
    secrets.push(wrapToken);
    const elsewhere = await baoApi(
      bao!,
      'POST',
      'sys/wrapping/wrap',
      { secret_id: randomUUID() },
      {
        headers: { 'X-Vault-Wrap-TTL': '120s' },
      },
    );
    secrets.push(elsewhere.wrap_info.token as string);
    for (const token of [wrapToken, wrapToken, elsewhere.wrap_info.token as string]) {
      const b = await VaultBackend.open(
        'vault',
        vaultConfig(bao!.addr, {
          auth: {
            method: 'approle',
            role: 'canary',
            roleIdFile,
            wrappedSecretIdFile: await files.file(`w-${randomUUID()}`, token),
          },
          kvVersion: 2,
        }),
        { log },
      );
      await capture(b.read('canary/app', { kind: 'latest' }));
      await b.session.token().then(
        (t) => secrets.push(t),
        () => undefined,
      );
      await b.close();
    }

    // Token auth with the root token, against a server that is not there: the network error must not carry it.
    const down = await VaultBackend.open(
      'vault',
      vaultConfig(`http://127.0.0.1:${await freePort()}`, {
        auth: { method: 'token', tokenFile: await files.file('root', bao!.rootToken) },
        kvVersion: 2,
        retry: { maxAttempts: 2, baseDelay: '1ms', maxDelay: '2ms', maxElapsed: '100ms' },
      }),
      { log },
    );
    await capture(down.read('canary/app', { kind: 'latest' }));
    await down.close();

    expect(errors.length).toBeGreaterThanOrEqual(10);
    const haystack = [logText(), ...errors.map(renderError), ...rendered].join('\n');
    expect(logText()).toContain('logged in to Vault'); // the logger did record the flows
    for (const secret of secrets) {
      expect(leaks(haystack, encodingsOf(secret))).toEqual([]);
    }
  });
});
