import { describe, expect, it } from 'vitest';

import { byteSizeSchema, parseByteSize } from './byte-size.js';

describe('parseByteSize', () => {
  it.each([
    [65_536, 65_536],
    ['65536', 65_536],
    ['64kb', 65_536],
    ['64 KiB', 65_536],
    ['1MB', 1_048_576],
    ['1mib', 1_048_576],
    ['10b', 10],
  ])('%s → %i bytes', (input, bytes) => {
    expect(parseByteSize(input)).toBe(bytes);
  });

  it.each(['', '1gb', '1.5kb', 'kb', -1, 0.5])('rejects %s', (input) => {
    expect(() => parseByteSize(input)).toThrow(/^invalid size/);
  });
});

describe('byteSizeSchema', () => {
  it('enforces its bounds', () => {
    const schema = byteSizeSchema({ min: 1024, max: 2048 });
    expect(schema.parse('2kb')).toBe(2048);
    expect(schema.safeParse(512).error?.issues[0]?.message).toBe('size must be between 1024 and 2048 bytes');
  });
});
