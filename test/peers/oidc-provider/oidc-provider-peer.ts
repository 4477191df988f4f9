/**
 * Starts and stops the OpenID Provider peer (main.ts, `oidc-provider` by panva) as a child process on a free
 * loopback port, like the peers in ../peers.ts: log to `<run dir>/oidc-provider.log`, killed with this process,
 * ready once its discovery document answers.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import {
  freePort,
  httpOk,
  makeRunDir,
  peerEnv,
  PeerUnavailableError,
  REPO_ROOT,
  spawnPeer,
  type StopHandle,
  stopper,
  waitReady,
  withPortRetry,
} from '../peers.js';
import type { OidcPeerSettings } from './oidc-peer-settings.js';

export type { OidcPeerClient, OidcPeerSettings } from './oidc-peer-settings.js';

const MAIN = fileURLToPath(new URL('main.ts', import.meta.url));

export interface OidcProviderPeer extends StopHandle {
  /** `http://127.0.0.1:<port>`: the `iss` of its tokens and where discovery starts. */
  readonly issuer: string;
  /** Its token endpoint (from its discovery document). */
  readonly tokenEndpoint: string;
}

/** Starts the provider with `settings` (clients, resources); throws PeerUnavailableError when not installed. */
export async function startOidcProvider(
  settings: Omit<OidcPeerSettings, 'port'>,
  opts: { readyTimeoutMs?: number } = {},
): Promise<OidcProviderPeer> {
  if (!existsSync(join(REPO_ROOT, 'node_modules', 'oidc-provider', 'package.json'))) {
    throw new PeerUnavailableError('oidc-provider (an npm devDependency) is not installed; run: npm ci');
  }
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return withPortRetry(async () => {
    const runDir = await makeRunDir('oidc-provider');
    const logPath = join(runDir, 'oidc-provider.log');
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const spawned = spawnPeer(process.execPath, ['--import', tsx, MAIN], {
      cwd: runDir,
      runDir,
      logPath,
      env: peerEnv({ COFRE_OIDC_PEER: JSON.stringify({ ...settings, port } satisfies OidcPeerSettings) }),
    });
    try {
      await waitReady('oidc-provider', spawned, logPath, opts.readyTimeoutMs ?? 30_000, () =>
        httpOk(`${issuer}/.well-known/openid-configuration`),
      );
      const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as {
        token_endpoint: string;
      };
      return {
        issuer,
        tokenEndpoint: discovery.token_endpoint,
        runDir,
        logPath,
        stop: stopper(spawned, runDir),
      };
    } catch (err) {
      await spawned.kill(1000);
      throw err;
    }
  });
}
