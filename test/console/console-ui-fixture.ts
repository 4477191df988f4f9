// The console UI's end-to-end tests (issue 18): cofre served with its console over the paper exchange, the
// approval tests' `trader` policy with spend limits (so the limits page has bars to show), a logged-in page in a
// real Chromium, and the screenshots of docs/console/ (written only when COFRE_CONSOLE_SCREENSHOTS=1, so an ordinary
// test run leaves the committed pictures alone).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import type { BrowserContext, Locator, Page } from 'playwright-core';

import { type HttpAnswer, TRADER_POLICY } from '../e2e/served-broker.js';
import { buyAtMarket } from '../resting-buy.js';
import { SCREENSHOT_DIR, type ServedConsole, startServedConsole } from './browser.js';

/** The `trader` policy's limits, as config lines under it. */
const TRADER_LIMITS: readonly string[] = [
  '    limits:',
  '      - { name: daily-notional, per: agent, window: 24h, notional: 20000, quote: USDT }',
  '      - { name: hourly-notional, per: agent, window: 1h, notional: 8000, quote: USDT }',
  '      - { name: orders-per-hour, per: account, window: 1h, orders: 40 }',
  '      - { name: open-orders, per: account, openOrders: 10 }',
];

/** Serves cofre with its console on a free loopback port: paper account, `trader` policy (limits included). */
export function startConsoleUi(): Promise<ServedConsole> {
  return startServedConsole([], {
    topLines: [
      'agents: { quotas: { requestsPerSecond: 10000, burst: 10000, concurrency: 1000 } }',
      'approvals: { expiry: 15m }',
    ],
    policyLines: [...TRADER_POLICY, ...TRADER_LIMITS],
  });
}

let next = 0;

/** The agent places a limit buy at the market price (60,000): 0.05 BTC is 3,000 USDT and waits for approval. */
export function placeBuy(fx: ServedConsole, agentToken: string, amount: string): Promise<HttpAnswer> {
  return fx.call('POST', '/v1/actions/place_order', agentToken, buyAtMarket(amount, `ui-${++next}`));
}

/** Opens the console in `context` and logs in through the form, as a person would. */
export async function logInPage(
  context: BrowserContext,
  fx: ServedConsole,
  operatorToken: string,
): Promise<Page> {
  const page = await context.newPage();
  await page.goto(fx.consoleUrl);
  await page.getByLabel('Operator token').fill(operatorToken);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Approvals', level: 1 }).waitFor();
  // The event stream is open: what happens from now on reaches the page without a reload.
  await page
    .getByRole('status')
    .filter({ hasText: /^Live$/ })
    .waitFor();
  return page;
}

/** The pending approval card of one request. */
export function approvalCard(page: Page, requestId: string): Locator {
  return page.locator(`article.approval[data-request-id="${requestId}"]`);
}

/** Marks the page's window; {@link notReloaded} then tells whether the page was reloaded since. */
export async function markPage(page: Page): Promise<void> {
  // Strings, not functions: this project's Node typings have no DOM (`window`), and the code runs in the page.
  await page.evaluate('window.cofreTestMark = true');
}

export function notReloaded(page: Page): Promise<boolean> {
  return page.evaluate<boolean>('window.cofreTestMark === true');
}

/** Whether this run regenerates docs/console/*.png. */
export const SCREENSHOTS = process.env['COFRE_CONSOLE_SCREENSHOTS'] === '1';

/**
 * Saves `docs/console/<name>.png` when {@link SCREENSHOTS}; `mask` hides what must not be in a committed picture
 * (a token, even a test server's).
 */
export async function shot(page: Page, name: string, mask: readonly Locator[] = []): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({
    path: join(SCREENSHOT_DIR, `${name}.png`),
    fullPage: true,
    animations: 'disabled',
    mask: [...mask],
    maskColor: '#c9ced8',
  });
}
