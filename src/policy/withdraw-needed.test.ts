import { describe, expect, it } from 'vitest';

import { parseConfig } from '../config/load-config.js';
import { withdrawNeeded } from './withdraw-needed.js';

const ACCOUNTS = `backends:
  local: { type: embedded, path: s.enc, keyFile: s.key }
accounts:
  paper: { venue: binance, mode: paper, baseUrl: 'http://127.0.0.1:1', credentials: { apiKey: 'local:k#a', secret: 'local:k#s' } }
  main: { venue: binance, mode: live, credentials: { apiKey: 'local:k#a', secret: 'local:k#s' } }
  kr: { venue: kraken, mode: live, credentials: { apiKey: 'local:k#a', secret: 'local:k#s' } }
addressBook:
  cold: { asset: USDT, network: TRX, address: T1 }
`;

/** withdrawNeeded for each account under the given `policies:` lines. */
function needed(policies: string): Record<string, boolean> {
  const config = parseConfig(`${ACCOUNTS}policies:\n${policies}`, { sourcePath: 'c.yaml' });
  return Object.fromEntries(['paper', 'main', 'kr'].map((id) => [id, withdrawNeeded(config, id)]));
}

describe('withdrawNeeded', () => {
  it('is false when no policy mentions withdraw', () => {
    expect(needed('  t: { accounts: [paper, main, kr], actions: [place_order, get_balance] }\n')).toEqual({
      paper: false,
      main: false,
      kr: false,
    });
  });

  it('reads the shorthand { accounts, actions } as one allow rule, `*` included', () => {
    expect(needed('  t: { accounts: [main], actions: [withdraw] }\n')).toEqual({
      paper: false,
      main: true,
      kr: false,
    });
    expect(needed("  t: { accounts: ['*'], actions: [withdraw] }\n")).toEqual({
      paper: true,
      main: true,
      kr: true,
    });
  });

  it.each(['allow', 'approve', 'confirm'])('counts a rule that %ss withdraw', (effect) => {
    expect(needed(`  t:\n    rules:\n      - ${effect}: [withdraw]\n        accounts: [main]\n`)).toEqual({
      paper: false,
      main: true,
      kr: false,
    });
  });

  it('does not count a deny rule, nor a rule that grants other actions only', () => {
    const policies = [
      '  t:',
      '    rules:',
      '      - deny: [withdraw]',
      '      - allow: [place_order, cancel_order]',
      "        accounts: ['*']",
      '',
    ].join('\n');
    expect(Object.values(needed(policies))).toEqual([false, false, false]);
  });

  it('does not count a shadow rule: it decides nothing', () => {
    const policies = '  t:\n    rules:\n      - allow: [withdraw]\n        mode: shadow\n';
    expect(Object.values(needed(policies))).toEqual([false, false, false]);
  });

  it('a rule without account conditions covers every account', () => {
    expect(Object.values(needed('  t:\n    rules:\n      - allow: [withdraw]\n'))).toEqual([
      true,
      true,
      true,
    ]);
  });

  it('applies the venues and modes conditions', () => {
    expect(needed('  t:\n    rules:\n      - allow: [withdraw]\n        venues: [binance]\n')).toEqual({
      paper: true,
      main: true,
      kr: false,
    });
    expect(needed('  t:\n    rules:\n      - allow: [withdraw]\n        modes: [live]\n')).toEqual({
      paper: false,
      main: true,
      kr: true,
    });
    const both =
      '  t:\n    rules:\n      - allow: [withdraw]\n        venues: [binance]\n        modes: [live]\n';
    expect(needed(both)).toEqual({ paper: false, main: true, kr: false });
  });

  it('counts a rule whose conditions on the withdrawal itself may hold (amount, destination, asset, hours)', () => {
    const policies = [
      '  t:',
      '    rules:',
      '      - allow: [withdraw]',
      '        accounts: [main]',
      '        destinations: [cold]',
      '        assets: [USDT]',
      '        maxAmount: 100',
      '        hours: { days: mon-fri, time: "08:00-20:00", timeZone: UTC }',
      '',
    ].join('\n');
    expect(needed(policies).main).toBe(true);
  });

  it('does not count a rule with a condition a withdrawal never satisfies (symbols, sides, notional)', () => {
    // Legal config (the rule also lists place_order), but policy never lets a withdrawal through it.
    for (const condition of ['symbols: [BTC/USDT]', 'sides: [buy]', 'maxNotional: 500']) {
      const policies = `  t:\n    rules:\n      - allow: [place_order, withdraw]\n        ${condition}\n`;
      expect(needed(policies), condition).toEqual({ paper: false, main: false, kr: false });
    }
  });

  it('does not count a policy whose unconditional deny takes withdraw away on the account', () => {
    const policies = [
      '  t:',
      '    rules:',
      "      - allow: [withdraw]\n        accounts: ['*']",
      '      - deny: [withdraw]',
      '        accounts: [main]',
      '',
    ].join('\n');
    expect(needed(policies)).toEqual({ paper: true, main: false, kr: true });
  });

  it('still counts a policy whose deny holds only for some withdrawals (an amount, a destination)', () => {
    const policies = [
      '  t:',
      '    rules:',
      '      - allow: [withdraw]',
      '      - deny: [withdraw]',
      '        minAmount: 1000',
      '',
    ].join('\n');
    expect(Object.values(needed(policies))).toEqual([true, true, true]);
  });

  it('ignores a shadow deny and a deny that other conditions keep off the account', () => {
    const policies = [
      '  t:',
      '    rules:',
      '      - allow: [withdraw]',
      '      - deny: [withdraw]',
      '        mode: shadow',
      '      - deny: [withdraw]',
      '        venues: [kraken]',
      '',
    ].join('\n');
    expect(needed(policies)).toEqual({ paper: true, main: true, kr: false });
  });

  it('is true when any one policy needs it, and false for an unknown account', () => {
    const config = parseConfig(
      `${ACCOUNTS}policies:\n  a: { accounts: [paper], actions: [get_balance] }\n  b: { accounts: [kr], actions: [withdraw] }\n`,
      { sourcePath: 'c.yaml' },
    );
    expect(withdrawNeeded(config, 'kr')).toBe(true);
    expect(withdrawNeeded(config, 'paper')).toBe(false);
    expect(withdrawNeeded(config, 'nope')).toBe(false);
  });
});
