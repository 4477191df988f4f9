// The vault backend over https against an OpenBao dev server with a generated CA (`-dev-tls`): `caFile` (or
// BAO_CACERT) makes cofre trust exactly that CA; without it the connection is refused, not silently trusted.
import { afterAll, describe, expect, it } from 'vitest';

import { isCofreError } from '../../src/errors.js';
import { SecretValue } from '../../src/secrets/secret-value.js';
import { VaultBackend } from '../../src/secrets/vault/vault-backend.js';
import { peerOrSkip } from '../peers/peer-or-skip.js';
import { startOpenBao } from '../peers/peers.js';
import { credentialDir, rejection, vaultConfig } from './vault-fixture.js';

const bao = await peerOrSkip('OpenBao', () => startOpenBao({ tls: true }));
const files = await credentialDir();

afterAll(async () => {
  await bao?.stop();
  await files.remove();
});

describe.skipIf(bao === undefined)('vault backend over TLS', () => {
  it('trusts the CA of caFile, or of BAO_CACERT, and nothing else', async () => {
    const tokenFile = await files.file('token', bao!.rootToken);
    const auth = { method: 'token', tokenFile };
    const backend = await VaultBackend.open(
      'vault',
      vaultConfig(bao!.addr, { auth, caFile: bao!.caPemPath }),
    );
    const version = await backend.write('tls/x', SecretValue.fromText('{"k":"over-tls"}'));
    expect((await backend.read('tls/x', { kind: 'latest' })).version).toBe(version);
    await backend.close();

    const fromEnv = await VaultBackend.open('vault', vaultConfig(bao!.addr, { auth }), {
      env: { BAO_CACERT: bao!.caPemPath },
    });
    expect(JSON.parse((await fromEnv.read('tls/x', { kind: 'latest' })).value.text())).toEqual({
      k: 'over-tls',
    });
    await fromEnv.close();

    const untrusted = await VaultBackend.open(
      'vault',
      vaultConfig(bao!.addr, { auth, kvVersion: 2, retry: { maxAttempts: 1 } }),
      { env: {} },
    );
    const err = await rejection(untrusted.read('tls/x', { kind: 'latest' }));
    expect(isCofreError(err, 'COFRE_BACKEND_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toMatch(/CERT|SIGN|VERIFY/); // the TLS reason, e.g. SELF_SIGNED_CERT_IN_CHAIN
    await untrusted.close();
  });

  it('applies maxResponseSize to answers over TLS', async () => {
    const tokenFile = await files.file('token-size', bao!.rootToken);
    const auth = { method: 'token', tokenFile };
    const writer = await VaultBackend.open('vault', vaultConfig(bao!.addr, { auth, caFile: bao!.caPemPath }));
    await writer.write('tls/large', SecretValue.fromText(JSON.stringify({ k: 'v'.repeat(6_000) })));
    await writer.close();
    const reader = await VaultBackend.open(
      'vault',
      vaultConfig(bao!.addr, { auth, caFile: bao!.caPemPath, kvVersion: 2, maxResponseSize: 4096 }),
    );
    const err = await rejection(reader.read('tls/large', { kind: 'latest' }));
    expect(isCofreError(err, 'COFRE_BACKEND_RESPONSE_TOO_LARGE')).toBe(true);
    await reader.close();
  });
});
