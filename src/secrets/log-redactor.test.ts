import { describe, expect, it } from 'vitest';

import { encodedVariants, leaks, makeCanary } from '../../test/invariants/canary.js';
import { MemoryBackend } from '../testing/memory-backend.js';
import { LOG_REDACTED, LogRedactor } from './log-redactor.js';
import { SecretResolver } from './secret-resolver.js';
import { SecretValue } from './secret-value.js';

const ref = 'local:exchanges/binance';

function redactorWith(
  secret: string,
  options: ConstructorParameters<typeof LogRedactor>[0] = {},
): LogRedactor {
  const redactor = new LogRedactor(options);
  redactor.add(ref, SecretValue.fromText(secret));
  return redactor;
}

describe('LogRedactor', () => {
  it('returns the very same line when no secret is loaded (the fast path)', () => {
    const line = '{"level":30,"msg":"hello"}\n';
    expect(new LogRedactor().redact(line)).toBe(line);
  });

  const canary = makeCanary();
  for (const [name, encoded] of Object.entries(encodedVariants(canary.value))) {
    it(`scrubs the secret ${name}`, () => {
      const redactor = redactorWith(canary.value);
      const line = JSON.stringify({ level: 20, msg: `venue said: ${encoded} (end)` }) + '\n';
      const out = redactor.redact(line);
      expect(out).toContain(LOG_REDACTED);
      expect(out).not.toContain(encoded);
      expect(leaks(out, canary.encodings)).toEqual([]);
      // The line stays one JSON line.
      expect(out.endsWith('\n')).toBe(true);
      expect(() => JSON.parse(out) as unknown).not.toThrow();
    });
  }

  it('scrubs a secret with quotes, backslashes and non-ASCII in its JSON-escaped forms', () => {
    const secret = 'pa"ss\\wörd/€-0123456789';
    const redactor = redactorWith(secret);
    const line = JSON.stringify({ msg: `x ${secret} y` }) + '\n';
    const out = redactor.redact(line);
    expect(out).not.toContain('wörd');
    expect(JSON.parse(out)).toMatchObject({ msg: expect.stringContaining(LOG_REDACTED) as unknown });
  });

  it('scrubs a serialised Buffer holding the secret, and leaves other Buffers alone', () => {
    const redactor = redactorWith(canary.value);
    const line = `${JSON.stringify({
      body: Buffer.from(`prefix ${canary.value} suffix`),
      other: Buffer.from('nothing to see'),
    })}\n`;
    const out = JSON.parse(redactor.redact(line)) as { body: unknown; other: { data: number[] } };
    expect(out.body).toBe(LOG_REDACTED);
    expect(Buffer.from(out.other.data).toString()).toBe('nothing to see');
  });

  it('follows the resolver: adds values when resolved, keeps a replaced one for the retention, then drops it', async () => {
    const backend = new MemoryBackend('local');
    await backend.write('exchanges/binance', SecretValue.fromText('{"apiKey":"old-key-0123456789"}'));
    const clock = { now: 1_000_000 };
    const resolver = new SecretResolver({
      backends: [backend],
      cache: { local: { ttlMs: 1_000, staleIfErrorMs: 0 } },
      now: () => clock.now,
    });
    const redactor = new LogRedactor({ retainMs: 60_000, now: () => clock.now });
    redactor.follow(resolver);
    expect(redactor.redact('old-key-0123456789')).toBe('old-key-0123456789'); // not loaded yet

    (await resolver.resolve(`${ref}#apiKey`)).zero(); // the caller zeroes its copy; the redactor kept its own
    expect(redactor.redact('k=old-key-0123456789')).toBe(`k=${LOG_REDACTED}`);

    // Rotation: the resolver sees a new version after its TTL.
    await backend.write('exchanges/binance', SecretValue.fromText('{"apiKey":"new-key-9876543210"}'));
    clock.now += 1_000;
    (await resolver.resolve(`${ref}#apiKey`)).zero();
    expect(redactor.redact('new-key-9876543210')).toBe(LOG_REDACTED);
    // A late line about the old key is still scrubbed within the retention...
    clock.now += 59_999;
    expect(redactor.redact('old-key-0123456789')).toBe(LOG_REDACTED);
    // ...and the old value is dropped after it; the current one stays.
    clock.now += 1;
    expect(redactor.redact('old-key-0123456789')).toBe('old-key-0123456789');
    expect(redactor.redact('new-key-9876543210')).toBe(LOG_REDACTED);
    await resolver.close();
  });

  it('keeps a value that is resolved again after an invalidation', async () => {
    const backend = new MemoryBackend('local');
    await backend.write('exchanges/binance', SecretValue.fromText('same-value-0123456789'));
    const clock = { now: 0 };
    const resolver = new SecretResolver({ backends: [backend], now: () => clock.now });
    const redactor = new LogRedactor({ retainMs: 10, now: () => clock.now });
    redactor.follow(resolver);
    (await resolver.resolve(ref)).zero();
    resolver.invalidate(ref);
    (await resolver.resolve(ref)).zero();
    clock.now += 1_000;
    expect(redactor.redact('same-value-0123456789')).toBe(LOG_REDACTED);
    expect(redactor.size).toBe(1);
    await resolver.close();
  });

  it('passes lines through once disposed, holding nothing', () => {
    const redactor = redactorWith(canary.value);
    redactor.dispose();
    expect(redactor.size).toBe(0);
    expect(redactor.redact(canary.value)).toBe(canary.value);
  });
});

describe('LogRedactor: lines stay JSON', () => {
  it('writes a short secret standing as a JSON number as the string "[REDACTED]"', () => {
    const redactor = redactorWith('123456');
    const line = `${JSON.stringify({ level: 30, uid: 123456, ids: [123456, 7], msg: 'uid 123456, [x]' })}\n`;
    const out = redactor.redact(line);
    expect(JSON.parse(out)).toEqual({
      level: 30,
      uid: LOG_REDACTED,
      ids: [LOG_REDACTED, 7],
      msg: `uid ${LOG_REDACTED}, [x]`,
    });
  });

  it('stops scrubbing the values of a resolver that closed, once the retention has passed', async () => {
    const backend = new MemoryBackend('local');
    await backend.write('exchanges/binance', SecretValue.fromText('closing-value-0123456789'));
    const clock = { now: 0 };
    const resolver = new SecretResolver({ backends: [backend], now: () => clock.now });
    const redactor = new LogRedactor({ retainMs: 100, now: () => clock.now });
    const unfollow = redactor.follow(resolver);
    (await resolver.resolve(ref)).zero();
    unfollow();
    await resolver.close();
    expect(redactor.redact('closing-value-0123456789')).toBe(LOG_REDACTED);
    clock.now = 100;
    expect(redactor.redact('closing-value-0123456789')).toBe('closing-value-0123456789');
    expect(redactor.size).toBe(0);
  });
});
