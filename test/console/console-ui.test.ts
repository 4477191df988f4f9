// The operator console's pages in a real Chromium against a served cofre (issue 18): an approval appears live and
// approving it in the page sends exactly that order to the paper exchange; denying sends nothing; the kill switch
// refuses agents and shows on every page; limits, activity with a request's story, audit verification; agents
// added (token shown once, and it works) and revoked. COFRE_CONSOLE_SCREENSHOTS=1 also rewrites docs/console/*.png.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ApprovalJson, LimitsJson } from '../../src/surfaces/http/operator-api-types.js';
import { chromiumOrSkip, type ServedConsole } from './browser.js';
import {
  approvalCard,
  logInPage,
  markPage,
  notReloaded,
  placeBuy,
  shot,
  startConsoleUi,
} from './console-ui-fixture.js';

const chrome = await chromiumOrSkip();
afterAll(async () => {
  await chrome?.close();
});

const errorCodeOf = (body: Record<string, unknown>): unknown =>
  (body['error'] as { code?: unknown } | undefined)?.code;

describe.skipIf(chrome === undefined)('the operator console pages in Chromium', () => {
  let fx: ServedConsole;
  let operator: string;
  let agent: string;
  let page: Page;

  beforeAll(async () => {
    fx = await startConsoleUi();
    operator = await fx.operatorToken('alice');
    agent = await fx.agentToken('trader-1', 'trader');
    page = await logInPage(
      await chrome!.newContext({ viewport: { width: 1280, height: 900 } }),
      fx,
      operator,
    );
  });
  afterAll(async () => {
    await fx.close();
  });

  async function pendingOrder(amount: string): Promise<{ requestId: string; payloadHash: string }> {
    const answer = await placeBuy(fx, agent, amount);
    expect([answer.status, answer.body['status']]).toEqual([202, 'pending_approval']);
    const approval = answer.body['approval'] as { payloadHash: string };
    return { requestId: String(answer.body['requestId']), payloadHash: approval.payloadHash };
  }

  it('tells a person at the login form why a token was refused, and never keeps it in the page', async () => {
    const context = await chrome!.newContext();
    const login = await context.newPage();
    await login.goto(fx.consoleUrl);
    const alert = login.getByRole('alert');
    await login.getByLabel('Operator token').fill(agent);
    await login.getByRole('button', { name: 'Log in' }).click();
    await alert.filter({ hasText: 'That is an agent token' }).waitFor();
    await login.getByLabel('Operator token').fill('cofre_op_not-a-real-token');
    await login.getByRole('button', { name: 'Log in' }).click();
    await alert.filter({ hasText: 'That token was not accepted' }).waitFor();
    expect(await context.cookies()).toEqual([]);

    await login.getByLabel('Operator token').fill(operator);
    await login.getByRole('button', { name: 'Log in' }).click();
    await login.getByText('alice', { exact: true }).waitFor();
    expect(await login.content()).not.toContain(operator);
    await login.getByRole('button', { name: 'Log out' }).click();
    await login.getByText('You are logged out.').waitFor();
    await context.close();
  });

  it('shows a new pending approval live, with its order and rule, and approving it sends exactly that order', async () => {
    await page.goto(`${fx.consoleUrl}/#/approvals`);
    await page.getByText('Nothing waits for approval').waitFor();
    await markPage(page);
    const sentBefore = fx.paper.orders().length;

    const { requestId, payloadHash } = await pendingOrder('0.05');
    const card = approvalCard(page, requestId);
    await card.waitFor();
    expect(await notReloaded(page)).toBe(true);
    const text = await card.innerText();
    expect(text).toContain('trader-1');
    expect(text).toMatch(/Asked by rule\s+large \(policies\.trader\.rules\[1\]\)/);
    expect(text).toMatch(/BUY\s+0\.05 BTC limit @ 60,000 USDT/);
    expect(text).toContain('3,000 USDT');
    expect(text).toMatch(/±0\.00 % from it/);
    expect(await card.locator('.hash-full').textContent()).toBe(payloadHash);
    expect(fx.paper.orders()).toHaveLength(sentBefore);

    await card.getByRole('button', { name: 'Approve' }).click();
    await card.getByLabel('Comment (optional)').fill('checked the book');
    await card.getByRole('button', { name: 'Confirm approve' }).click();
    await card.waitFor({ state: 'detached' });

    expect(fx.paper.orders()).toHaveLength(sentBefore + 1);
    expect(fx.paper.orders().at(-1)).toMatchObject({ side: 'BUY', origQty: '0.05', price: '60000' });
    const row = page.getByRole('row').filter({ hasText: 'checked the book' });
    expect(await row.innerText()).toMatch(/executed.*buy 0\.05 BTC\/USDT.*alice/s);
    const shown = (await fx.call('GET', `/v1/operator/approvals/${requestId}`, operator))
      .body as unknown as ApprovalJson;
    expect(shown).toMatchObject({
      status: 'executed',
      decidedBy: 'alice',
      approvals: [{ operator: 'alice' }],
    });
    expect((await fx.call('GET', `/v1/requests/${requestId}`, agent)).body['status']).toBe('executed');
  });

  it('denying in the page sends nothing, and the agent reads its request denied', async () => {
    const sentBefore = fx.paper.orders().length;
    const { requestId } = await pendingOrder('0.04');
    const card = approvalCard(page, requestId);
    await card.waitFor();
    // The picture for the README: one pending, one decided.
    await page.getByRole('row').filter({ hasText: 'checked the book' }).waitFor();
    await shot(page, 'approvals');
    await card.getByRole('button', { name: 'Deny' }).click();
    await card.getByLabel('Comment (optional)').fill('not today');
    await card.getByRole('button', { name: 'Confirm deny' }).click();
    await card.waitFor({ state: 'detached' });

    expect(fx.paper.orders()).toHaveLength(sentBefore);
    const polled = await fx.call('GET', `/v1/requests/${requestId}`, agent);
    expect(polled.body['status']).toBe('denied');
    expect(await page.getByRole('row').filter({ hasText: 'not today' }).innerText()).toMatch(
      /denied.*alice/s,
    );
  });

  it('halts from the page after a typed confirmation: agents are refused, every page shows it, resume lifts it', async () => {
    await page.getByRole('button', { name: 'Halt trading' }).click();
    const dialog = page.getByRole('dialog', { name: 'Halt all trading' });
    await dialog.getByLabel('Reason').fill('exchange incident drill');
    // Without the typed word nothing happens.
    await dialog.getByRole('button', { name: 'Halt now' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'Type HALT to confirm' }).waitFor();
    expect((await fx.call('GET', '/v1/operator/halt', operator)).body['halted']).toBe(false);

    await dialog.getByLabel('Type HALT to confirm').fill('HALT');
    await dialog.getByRole('button', { name: 'Halt now' }).click();
    await page.getByRole('heading', { name: 'Trading halted' }).waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
    expect((await fx.call('GET', '/v1/operator/halt', operator)).body).toMatchObject({
      halted: true,
      reason: 'exchange incident drill',
      by: 'alice',
    });

    const refused = await placeBuy(fx, agent, '0.001');
    expect(errorCodeOf(refused.body)).toBe('COFRE_HALTED');
    for (const link of ['Limits', 'Agents', 'Approvals']) {
      await page.getByRole('navigation').getByRole('link', { name: link }).click();
      await page.getByRole('heading', { name: link, level: 1 }).waitFor();
      const banner = page.getByRole('alert').filter({ hasText: 'Trading is halted' });
      await banner.waitFor();
      expect(await banner.innerText()).toMatch(/exchange incident drill.*by alice/s);
    }
    await shot(page, 'halted');

    await page.getByRole('button', { name: 'Resume trading' }).click();
    await page.getByRole('button', { name: 'Yes, resume' }).click();
    await page.getByRole('alert').filter({ hasText: 'Trading is halted' }).waitFor({ state: 'detached' });
    expect((await fx.call('GET', '/v1/operator/halt', operator)).body['halted']).toBe(false);
    expect((await placeBuy(fx, agent, '0.001')).body['status']).toBe('executed');
  });

  it('shows each limit as a bar with what the executed orders used', async () => {
    await page.goto(`${fx.consoleUrl}/#/limits`);
    const limits = (await fx.call('GET', '/v1/operator/limits', operator)).body as unknown as LimitsJson;
    const daily = limits.limits.find((l) => l.limit === 'daily-notional');
    // 0.05 BTC approved and 0.001 after the resume, at 60,000; the denied order spent nothing.
    expect(daily).toMatchObject({ used: '3060', remaining: '16940', cap: '20000', unit: 'USDT' });
    const item = page
      .getByRole('region', { name: 'agent:trader-1' })
      .getByRole('listitem')
      .filter({ hasText: 'daily-notional' });
    await item.getByText('3,060 / 20,000 USDT used').waitFor();
    const bar = item.getByRole('img');
    expect(await bar.getAttribute('aria-label')).toBe(
      'daily-notional: 3060 of 20000 USDT used, 16940 remaining, window 24h',
    );
    expect(Number(await bar.locator('.bar-fill').getAttribute('width'))).toBeGreaterThan(0);
    const chart = page.getByRole('figure', { name: /Spend per window against its cap/ });
    expect(await chart.getByRole('listitem').filter({ hasText: 'daily-notional' }).innerText()).toMatch(
      /15% · 3,060 \/ 20,000 USDT/,
    );
    await shot(page, 'limits');
  });

  it('lists activity with filters and opens the story of a request with its rule and vote', async () => {
    await page.goto(`${fx.consoleUrl}/#/activity`);
    await page.getByLabel('Status').selectOption('denied');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const rows = page.locator('table.requests tbody tr');
    await expect.poll(() => rows.filter({ hasNotText: 'denied' }).count()).toBe(0);
    expect(await rows.count()).toBeGreaterThanOrEqual(1);
    expect(await rows.first().innerText()).toMatch(/trader-1.*place_order.*denied/s);

    await page.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(3);
    const approved = rows.filter({ hasText: 'executed' }).filter({ hasText: 'large' }).first();
    await approved.getByRole('link').click();
    const story = page.getByRole('region', { name: /^Request / });
    await story.getByRole('heading', { name: 'Timeline (audit records)' }).waitFor();
    const text = await story.innerText();
    expect(text).toMatch(/Decided by rule\s+large/);
    expect(text).toMatch(/alice approved at .*checked the book/);
    // The timeline: the decision that asked, the operator's vote, the outcome.
    expect(text).toMatch(/intent[\s\S]*decision\s+approval[\s\S]*order\s+buy 0\.05 BTC\/USDT @ 60000/);
    expect(text).toMatch(
      /operator[\s\S]*action\s+approve[\s\S]*operator\s+alice[\s\S]*comment\s+checked the book/,
    );
    expect(text).toMatch(/outcome[\s\S]*status\s+executed/);
    await page.getByRole('img', { name: /Requests over the last 24h per 1h/ }).waitFor();
    await shot(page, 'activity');
  });

  it('verifies the audit chain on demand and shows it passed', async () => {
    await page.goto(`${fx.consoleUrl}/#/audit`);
    await page.getByRole('button', { name: 'Verify now' }).click();
    const progress = page.getByLabel(/Passed: \d+ records verified/);
    await progress.waitFor();
    await shot(page, 'audit');
  });

  it('adds an agent: its token shows once, works for the agent, and is gone after; revoking stops it', async () => {
    await page.goto(`${fx.consoleUrl}/#/agents`);
    await page.getByLabel('Agent id').fill('helper-bot');
    await page.getByLabel('Policy').selectOption('trader');
    await page.getByRole('button', { name: 'Add agent' }).click();
    const tokenField = page.getByLabel('New token for agent helper-bot');
    await tokenField.waitFor();
    const token = await tokenField.inputValue();
    expect(token).not.toBe('');
    await page.getByText('This token will not be shown again.').waitFor();
    await shot(page, 'agents', [tokenField]);

    const used = await placeBuy(fx, token, '0.001');
    expect(used.body['status']).toBe('executed');

    await page.getByRole('button', { name: /hide the token/ }).click();
    await page.reload();
    await page.getByRole('rowheader', { name: 'helper-bot' }).waitFor();
    expect(await page.content()).not.toContain(token);

    await page.getByRole('button', { name: 'Revoke helper-bot' }).click();
    await page.getByRole('button', { name: 'Yes, revoke helper-bot' }).click();
    await page.getByText('Agent helper-bot revoked').waitFor();
    const refused = await placeBuy(fx, token, '0.001');
    expect(refused.status).toBe(401);
  });

  it('approves from the keyboard alone: focus goes to the comment, then the confirmation, then back to the list', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Approvals' }).click();
    const { requestId } = await pendingOrder('0.01');
    const card = approvalCard(page, requestId);
    await card.waitFor();
    await card.getByRole('button', { name: 'Approve' }).focus();
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.evaluate<string | undefined>('document.activeElement?.id'))
      .toMatch(/-comment$/);
    await page.keyboard.type('by keyboard');
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string | undefined>('document.activeElement?.textContent')).toBe(
      'Confirm approve',
    );
    await page.keyboard.press('Enter');
    await card.waitFor({ state: 'detached' });
    await expect
      .poll(() => page.evaluate<string | undefined>('document.activeElement?.id'))
      .toBe('pending-title');
    expect((await fx.call('GET', `/v1/requests/${requestId}`, agent)).body['status']).toBe('executed');
  });

  it('adds an operator who can log in once with the shown token; revoking them ends their session', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Operators' }).click();
    await page.getByLabel('Operator id').fill('carol');
    await page.getByRole('button', { name: 'Add operator' }).click();
    const tokenField = page.getByLabel('New token for operator carol');
    const token = await tokenField.inputValue();
    await page.getByRole('button', { name: /hide the token/ }).click();
    await tokenField.waitFor({ state: 'detached' });

    const carol = await logInPage(await chrome!.newContext(), fx, token);
    await carol.getByText('carol', { exact: true }).waitFor();

    await page.getByRole('button', { name: 'Revoke carol' }).click();
    await page.getByRole('button', { name: 'Yes, revoke carol' }).click();
    await page.getByRole('row', { name: /carol/ }).getByText('revoked').waitFor();
    // Carol's page goes back to the login form and says why: on her next call (going to another page), or earlier
    // if the server already closed her event stream (it ends streams of ended sessions within seconds). Going by
    // the address bar works in both cases, where a click on the nav could find it gone.
    await carol.evaluate('location.hash = "#/limits"');
    await carol.getByText('Your session ended. Log in again.').waitFor();
    await carol.getByLabel('Operator token').waitFor();
  });

  it('labels every control and uses no inline style on any page (the CSP allows none)', async () => {
    for (const link of ['Approvals', 'Limits', 'Activity', 'Audit', 'Agents', 'Operators']) {
      await page.getByRole('navigation').getByRole('link', { name: link }).click();
      await page.getByRole('heading', { name: link, level: 1 }).waitFor();
      await page.getByText('Loading…').waitFor({ state: 'detached' });
      // Page code as text: the tests are type-checked without the DOM library.
      const problems = await page.evaluate<string[]>(`(() => {
        const out = [];
        for (const el of document.querySelectorAll('input, select, textarea, button, a[href], progress')) {
          const named = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label') ||
            el.getAttribute('aria-labelledby') || (el.textContent || '').trim() !== '';
          if (!named) out.push('unlabelled ' + el.outerHTML.slice(0, 80));
        }
        for (const el of document.querySelectorAll('[style]')) out.push('inline style ' + el.outerHTML.slice(0, 80));
        return out;
      })()`);
      expect(problems, link).toEqual([]);
    }
  });
});

describe.skipIf(chrome === undefined)('the console on a phone-sized screen', () => {
  let fx: ServedConsole;

  beforeAll(async () => {
    fx = await startConsoleUi();
  });
  afterAll(async () => {
    await fx.close();
  });

  it('shows a pending approval and approves it at 390 px wide, with nothing wider than the screen', async () => {
    const operator = await fx.operatorToken('bob');
    const agent = await fx.agentToken('trader-1', 'trader');
    const context = await chrome!.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    const page = await logInPage(context, fx, operator);
    const answer = await placeBuy(fx, agent, '0.02');
    const card = approvalCard(page, String(answer.body['requestId']));
    await card.waitFor();
    const [scrolled, screen] = await page.evaluate<[number, number]>(
      '[document.documentElement.scrollWidth, window.innerWidth]',
    );
    expect(scrolled).toBeLessThanOrEqual(screen);
    await shot(page, 'approvals-phone');

    await card.getByRole('button', { name: 'Approve' }).tap();
    await card.getByRole('button', { name: 'Confirm approve' }).tap();
    await card.waitFor({ state: 'detached' });
    expect(fx.paper.orders().at(-1)).toMatchObject({ side: 'BUY', origQty: '0.02', price: '60000' });
  });
});
