import { describe, expect, it } from 'vitest';

import { durationSchema, formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['90', 90_000],
    [90, 90_000],
    [0, 0],
  ])('%s → %i ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(['', '5 m', '5min', '1.5h', '-1s', 'h', '5M', '1e3', '99999999999999999999d', -1, 1.5, Number.NaN])(
    'rejects %s without echoing it',
    (input) => {
      expect(() => parseDuration(input)).toThrow(/^invalid duration; expected a duration like "30s"/);
    },
  );
});

describe('durationSchema', () => {
  it('enforces a minimum and names it', () => {
    const schema = durationSchema({ min: 60_000 });
    expect(schema.parse('1m')).toBe(60_000);
    expect(schema.safeParse('59s').error?.issues[0]?.message).toBe('duration must be at least 1m');
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [1500, '1500ms'],
    [60_000, '1m'],
    [86_400_000, '1d'],
  ])('%i → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
