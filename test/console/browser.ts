// The browser of the console's tests: Debian's Chromium (scripts/peers/install.sh chromium) driven by playwright-core
// through `executablePath` (no browser download here), one fresh context per test, and screenshots for docs/console/.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

import { peerOrSkip } from '../peers/peer-or-skip.js';
import { PeerUnavailableError } from '../peers/peers.js';

export { ensureConsoleBuilt, type ServedConsole, startServedConsole } from './served-console.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TOOLS_CHROMIUM = join(ROOT, '.tools/chromium');
const SYSTEM_CHROMIUM = '/usr/lib/chromium/chromium';

/** Where the Chromium binary is and the environment it needs. */
export interface ChromiumInstall {
  readonly executablePath: string;
  readonly env: Readonly<Record<string, string>>;
}

/**
 * The Chromium to drive: `.tools/chromium` (unpacked by `scripts/peers/install.sh chromium`, with its libraries on
 * `LD_LIBRARY_PATH`), else the system's. Throws {@link PeerUnavailableError} naming the install command.
 */
export function findChromium(): ChromiumInstall {
  const unpacked = join(TOOLS_CHROMIUM, 'usr/lib/chromium/chromium');
  if (existsSync(unpacked)) {
    const libs = [
      'usr/lib/x86_64-linux-gnu',
      'lib/x86_64-linux-gnu',
      'usr/lib/x86_64-linux-gnu/pulseaudio',
      'usr/lib/aarch64-linux-gnu',
      'lib/aarch64-linux-gnu',
    ].map((dir) => join(TOOLS_CHROMIUM, dir));
    const inherited = process.env['LD_LIBRARY_PATH'];
    return {
      executablePath: unpacked,
      env: { LD_LIBRARY_PATH: [...libs, ...(inherited === undefined ? [] : [inherited])].join(':') },
    };
  }
  if (existsSync(SYSTEM_CHROMIUM)) return { executablePath: SYSTEM_CHROMIUM, env: {} };
  throw new PeerUnavailableError(
    `Chromium is not installed (neither ${unpacked} nor ${SYSTEM_CHROMIUM}); run: scripts/peers/install.sh chromium`,
  );
}

/**
 * The flags every launch uses:
 * - `--no-sandbox`: the tests run as root here, and Chromium's sandbox refuses root; the pages are our own;
 * - the background-networking ones: this machine's network is closed, and Chromium's own connections (updates,
 *   sync, field trials) would be refused and slow every start.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-features=Translate,MediaRouter,OptimizationHints',
  '--no-first-run',
  '--no-default-browser-check',
  '--metrics-recording-only',
];

/** A launched Chromium; `newContext` gives each test a fresh profile (no cookies, no storage). */
export interface TestBrowser {
  readonly browser: Browser;
  newContext(options?: Parameters<Browser['newContext']>[0]): Promise<BrowserContext>;
  close(): Promise<void>;
}

/** Launches headless Chromium with its own temporary profile folder, removed on close. */
export async function launchChromium(): Promise<TestBrowser> {
  const install = findChromium();
  const profile = mkdtempSync(join(tmpdir(), 'cofre-chromium-'));
  const browser = await chromium.launch({
    executablePath: install.executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS],
    env: { ...process.env, ...install.env, HOME: profile },
  });
  const contexts: BrowserContext[] = [];
  return {
    browser,
    newContext: async (options) => {
      const context = await browser.newContext(options);
      contexts.push(context);
      return context;
    },
    close: async () => {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * The browser for a test file, at module level (`const chrome = await chromiumOrSkip()`), so the file can
 * `describe.skipIf(chrome === undefined)`: a missing Chromium fails the run in CI and is skipped loudly elsewhere.
 */
export function chromiumOrSkip(): Promise<TestBrowser | undefined> {
  return peerOrSkip('Chromium', launchChromium);
}

/** Where the screenshots shown in the README go. */
export const SCREENSHOT_DIR = join(ROOT, 'docs/console');

/** Saves a screenshot of `page` as `docs/console/<name>.png` (full page); returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`screenshot name "${name}": use a-z, 0-9 and -`);
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  return path;
}
