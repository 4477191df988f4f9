import { Writable } from 'node:stream';

import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

import type { KeyScopeStatus } from '../../broker/key-scope-gate.js';
import { checkKeyScopesAtStart } from './key-scope-at-start.js';

function capture() {
  const lines: { msg: string; accounts?: string[] }[] = [];
  const logger = pino(
    { level: 'warn' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as { msg: string });
        done();
      },
    }),
  );
  return { lines, logger };
}

const unchecked = (account: string): KeyScopeStatus => ({
  account,
  state: 'unchecked',
  required: true,
  problems: [],
  scope: undefined,
  error: undefined,
});

describe('checkKeyScopesAtStart', () => {
  it('stops waiting for a venue that does not answer, says which accounts are judged on first use', async () => {
    const { lines, logger } = capture();
    // A venue that never answers: the start must go on.
    const gate = { checkAll: () => new Promise<never>(() => undefined), status: unchecked };
    const statuses = await checkKeyScopesAtStart(gate, ['main', 'spare'], logger, 1);
    expect(statuses.map((s) => s.state)).toEqual(['unchecked', 'unchecked']);
    expect(lines).toEqual([
      expect.objectContaining({
        accounts: ['main', 'spare'],
        msg: 'the key permissions of main, spare were not read within 1 ms; serving, and judging them on first use',
      }),
    ]);
  });

  it('returns the judgements, silently, when every venue answered in time', async () => {
    const { lines, logger } = capture();
    const allowed = (account: string): KeyScopeStatus => ({ ...unchecked(account), state: 'allowed' });
    const gate = { checkAll: () => Promise.resolve([allowed('main')]), status: allowed };
    expect(await checkKeyScopesAtStart(gate, ['main'], logger, 60_000)).toEqual([allowed('main')]);
    expect(lines).toEqual([]);
  });
});
