// cofre served with its operator console, for the console's tests: the end-to-end served broker
// (test/e2e/served-broker.ts) with `server.console` on a free loopback port, and the console bundle built.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { DEFAULT_BUNDLE_DIR } from '../../src/surfaces/http/console/console-bundle.js';
import { type ServedFixture, startServedBroker, TRADER_POLICY } from '../e2e/served-broker.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Makes sure `dist/console` exists (`npm ci` builds it through `prepare`; a checkout that never built gets it built
 * here, once, by `scripts/build-console.ts`). Test files run in parallel: one builds under a lock folder, the others
 * wait for it.
 */
export async function ensureConsoleBuilt(): Promise<void> {
  const index = `${DEFAULT_BUNDLE_DIR}/index.html`;
  if (existsSync(index)) return;
  const lock = `${ROOT}dist/.console-build-lock`;
  mkdirSync(`${ROOT}dist`, { recursive: true });
  let mine = false;
  try {
    mkdirSync(lock);
    mine = true;
  } catch {
    // Another test file is building it.
  }
  if (mine) {
    try {
      execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build-console.ts'], {
        cwd: ROOT,
        stdio: 'inherit',
      });
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  } else {
    for (let waited = 0; !existsSync(index) && waited < 120_000; waited += 200) {
      await new Promise((done) => setTimeout(done, 200));
    }
  }
  if (!existsSync(index)) {
    throw new Error(`the console bundle is missing (${index}) and could not be built: run npm run build`);
  }
}

/** A served broker with its console, and the console's URL. */
export interface ServedConsole extends ServedFixture {
  readonly consoleUrl: string;
}

/**
 * Serves cofre (paper exchange, the `trader` policy of the approval tests, agent `trader` allowed) with
 * `server.console` on a free loopback port. `consoleLines`: more settings of `server.console`, e.g.
 * `idleTimeout: 1m`; `more.policyLines` replace the `trader` policy's lines, `more.topLines` add top-level settings.
 */
export async function startServedConsole(
  consoleLines: readonly string[] = [],
  more: { readonly policyLines?: readonly string[]; readonly topLines?: readonly string[] } = {},
): Promise<ServedConsole> {
  await ensureConsoleBuilt();
  const fixture = await startServedBroker((url, credentials) => [
    'accounts:',
    `  paper: { venue: binance, mode: paper, baseUrl: "${url}", ${credentials} }`,
    ...(more.topLines ?? []),
    'policies:',
    ...(more.policyLines ?? TRADER_POLICY),
    'server:',
    '  console:',
    '    port: 0',
    ...consoleLines.map((line) => `    ${line}`),
  ]);
  return Object.create(fixture, {
    consoleUrl: {
      get: () => {
        const url = fixture.server.consoleUrl;
        if (url === undefined) throw new Error('the served broker has no console');
        return url;
      },
    },
  }) as ServedConsole;
}
