// Regression: the config accepted any venue id, including ccxt venues that keep session tokens between calls; the
// refusal came, if at all, at an agent's first request.
import { describe, expect, it } from 'vitest';

import { CofreError } from '../errors.js';
import { parseConfig } from './load-config.js';

const account = (venue: string): string =>
  [
    'backends: { local: { type: embedded, path: s, keyFile: k } }',
    'accounts:',
    `  main: { venue: ${venue}, mode: live, credentials: { apiKey: "local:x#k", secret: "local:x#s" } }`,
  ].join('\n');

function problems(yaml: string): string {
  try {
    parseConfig(yaml, { sourcePath: '/etc/cofre/cofre.yaml' });
  } catch (err) {
    if (err instanceof CofreError) return err.message;
    throw err;
  }
  return '';
}

describe('venues in the config', () => {
  it('refuses a venue not reviewed for how ccxt holds its credentials, at config check', () => {
    for (const venue of ['ndax', 'paradex', 'bitget']) {
      const message = problems(account(venue));
      expect(message).toContain('accounts.main.venue');
      expect(message).toContain(`venue "${venue}" is not one cofre has reviewed`);
      expect(message).toContain('binance, binanceus, kraken, okx');
    }
  });

  it('accepts the reviewed venues', () => {
    for (const venue of ['binance', 'binanceus', 'kraken', 'okx']) expect(problems(account(venue))).toBe('');
  });

  it('reports a malformed venue id once, as malformed', () => {
    const message = problems(account('"Binance"'));
    expect(message).toContain('invalid venue; use the ccxt exchange id');
    expect(message).not.toContain('not one cofre has reviewed');
  });
});
