import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { describe, expect, it, vi } from 'vitest';

import { leaks, makeCanary } from '../../test/invariants/canary.js';
import { CofreError } from '../errors.js';
import { LogRedactor } from '../secrets/log-redactor.js';
import { SecretValue } from '../secrets/secret-value.js';
import { bufferedDestination, createLogger, LOG_FLUSH_MS, LOG_LEVEL_ENV } from './create-logger.js';

function capturingLogger(redactor: LogRedactor): {
  logger: ReturnType<typeof createLogger>;
  lines: string[];
} {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: createLogger({ level: 'trace', destination, redactor }), lines };
}

describe('createLogger: value-based redaction', () => {
  const canary = makeCanary();
  const redactor = new LogRedactor();
  redactor.add('local:exchanges/paper#secret', SecretValue.fromText(canary.value));
  const bytes = Buffer.from(canary.value);

  it('scrubs an error whose message, cause chain and stack embed the secret', () => {
    const { logger, lines } = capturingLogger(redactor);
    const root = new Error(`venue echoed ${bytes.toString('base64')}`);
    const middle = new CofreError('COFRE_VENUE_UNAVAILABLE', `retry failed for ${bytes.toString('hex')}`, {
      cause: root,
    });
    const top = new Error(`signing with ${canary.value} failed`, { cause: middle });
    logger.child({ part: 'venue' }).error({ err: top }, `outer ${encodeURIComponent(canary.value)}`);
    logger.debug(top); // an error as the only argument
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(leaks(line, canary.encodings)).toEqual([]);
      expect(line).toContain('[REDACTED]');
      const parsed = JSON.parse(line) as { err: { stack: string; message: string } };
      // Not vacuous: the error and its causes were written, with the redaction in place of the value.
      expect(parsed.err.message).toContain('signing with [REDACTED] failed');
      expect(parsed.err.stack).toContain('venue echoed [REDACTED]');
    }
  });

  it('scrubs Buffers and fields, raw and JSON-escaped, at every level', () => {
    const { logger, lines } = capturingLogger(redactor);
    logger.trace({ body: bytes, nested: { quoted: JSON.stringify({ key: canary.value }) } }, 'response');
    logger.info({ url: `https://x/?k=${encodeURIComponent(canary.value)}` }, bytes.toString('base64url'));
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(leaks(line, canary.encodings)).toEqual([]);
    // A Buffer's bytes as pino would write them (`"data":[99,97,...]`) appear nowhere. (With the wildcard paths of
    // REDACTED_LOG_PATHS pino writes no Buffer content at all; the redactor's own Buffer rule is tested beside it.)
    expect(lines.join('')).not.toContain([...bytes].join(','));
  });

  it('writes the secret when no redactor holds it (what the redaction prevents)', () => {
    const { logger, lines } = capturingLogger(new LogRedactor());
    logger.error({ err: new Error(`signing with ${canary.value} failed`) }, 'x');
    expect(leaks(lines.join(''), canary.encodings)).not.toEqual([]);
  });
});

describe('createLogger: level', () => {
  it("takes COFRE_LOG_LEVEL over the caller's level, and refuses a level that does not exist", () => {
    expect(createLogger({ level: 'warn', env: { [LOG_LEVEL_ENV]: 'trace' } }).level).toBe('trace');
    expect(createLogger({ level: 'warn', env: {} }).level).toBe('warn');
    expect(() => createLogger({ env: { [LOG_LEVEL_ENV]: 'verbose' } })).toThrow(/COFRE_LOG_LEVEL="verbose"/);
  });
});

describe('bufferedDestination', () => {
  it('holds info lines for the flush timer and writes an error line, with them, at once', async () => {
    vi.useFakeTimers({ toFake: ['setInterval'] });
    const dir = await mkdtemp(join(tmpdir(), 'cofre-log-'));
    try {
      const file = join(dir, 'serve.log');
      const logger = createLogger({ destination: bufferedDestination(file) });
      logger.info({ route: '/v1/actions/get_balance' }, 'request');
      // Give the stream every chance to write (it opens the file, then waits for a flush or 4 KiB).
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(await readFile(file, 'utf8').catch(() => '')).toBe('');
      logger.error('venue unreachable');
      await vi.waitFor(async () => {
        const lines = (await readFile(file, 'utf8')).trim().split('\n');
        expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual([
          'request',
          'venue unreachable',
        ]);
      });
      vi.advanceTimersByTime(LOG_FLUSH_MS);
    } finally {
      vi.useRealTimers();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('writes info lines by the flush timer', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cofre-log-'));
    try {
      const file = join(dir, 'serve.log');
      const logger = createLogger({ destination: bufferedDestination(file) });
      logger.info('first');
      logger.info('second');
      await vi.waitFor(async () => {
        expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(2);
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
