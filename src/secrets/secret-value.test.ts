import { inspect } from 'node:util';

import { describe, expect, it } from 'vitest';

import { isCofreError } from '../errors.js';
import { SecretValue } from './secret-value.js';

const canary = 'canary-5f1e2d3c4b5a';

describe('SecretValue', () => {
  it('redacts itself in every way a value gets printed', () => {
    const value = SecretValue.fromText(canary);
    const printed = [
      String(value),
      // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- the redaction under test
      `${value}`,
      JSON.stringify({ value }),
      inspect(value),
      inspect({ nested: { value } }, { depth: 10 }),

      // eslint-disable-next-line @typescript-eslint/restrict-plus-operands -- the redaction under test
      'v=' + (value as unknown as number),
    ];
    for (const text of printed) {
      expect(text).toContain('[REDACTED]');
      expect(text).not.toContain(canary);
    }
  });

  it('keeps no enumerable property that a generic serialiser could walk', () => {
    const value = SecretValue.fromText(canary);
    expect(Object.keys(value)).toEqual([]);
    expect(JSON.stringify(Object.assign({}, value))).toBe('{}');
  });

  it('gives the bytes to code that asks by name', () => {
    const value = SecretValue.fromText(canary);
    expect(value.text()).toBe(canary);
    expect(value.bytes().equals(Buffer.from(canary))).toBe(true);
    expect(value.length).toBe(canary.length);
  });

  it('zeroes the underlying buffer and refuses later use', () => {
    const buffer = Buffer.from(canary);
    const value = SecretValue.adopt(buffer);
    value.zero();
    expect(buffer.every((b) => b === 0)).toBe(true);
    expect(value.zeroed).toBe(true);
    let caught: unknown;
    try {
      value.text();
    } catch (err) {
      caught = err;
    }
    expect(isCofreError(caught, 'COFRE_SECRET_ZEROED')).toBe(true);
    expect(() => {
      value.zero();
    }).not.toThrow();
  });

  it('copies on copyOf and clone, so owners can zero independently', () => {
    const source = Buffer.from(canary);
    const value = SecretValue.copyOf(source);
    source.fill(0);
    const clone = value.clone();
    value.zero();
    expect(clone.text()).toBe(canary);
  });

  it('compares in constant time and by content', () => {
    expect(SecretValue.fromText('a').equals(SecretValue.fromText('a'))).toBe(true);
    expect(SecretValue.fromText('a').equals(SecretValue.fromText('b'))).toBe(false);
    expect(SecretValue.fromText('a').equals(SecretValue.fromText('ab'))).toBe(false);
  });
});
