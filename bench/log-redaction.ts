// Log redaction benchmark: what a log line costs with cofre's logger (audit/create-logger.ts) when the value-based
// redactor (secrets/log-redactor.ts) holds no secret (the fast path), the two credentials of one account, and
// those of ten accounts, against pino with no redaction hook at all; and the redactor alone on a serialised line.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';

import { pino } from 'pino';

import { createLogger, REDACTED_LOG_PATHS } from '../src/audit/create-logger.js';
import { LogRedactor } from '../src/secrets/log-redactor.js';
import { SecretValue } from '../src/secrets/secret-value.js';
import { measure, report } from './measure.js';

const LINES = 50_000;

/** A sink that drops what it is given: the cost measured is cofre's, not the disk's. */
function nullSink(): Writable {
  return new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });
}

function redactorWith(accounts: number): LogRedactor {
  const redactor = new LogRedactor();
  for (let i = 0; i < accounts; i++) {
    redactor.add(`local:exchanges/a${i}#apiKey`, SecretValue.fromText(randomBytes(48).toString('base64url')));
    redactor.add(`local:exchanges/a${i}#secret`, SecretValue.fromText(randomBytes(48).toString('base64url')));
  }
  return redactor;
}

/** A typical request log line: about 300 bytes once serialised. */
function logOne(logger: pino.Logger, i: number): void {
  logger.info(
    {
      requestId: `req_${i.toString(36).padStart(16, '0')}`,
      agent: 'bench-agent',
      action: 'place_order',
      account: 'paper',
      status: 'executed',
      durationMs: 12.5,
      order: { symbol: 'BTC/USDT', side: 'buy', amount: '0.001', clientOrderId: `bench-${i}` },
    },
    'request finished',
  );
}

/** Prints the table. */
export async function logRedactionBench(): Promise<void> {
  const plain = pino({ level: 'info', base: { service: 'cofre' } }, nullSink());
  // createLogger's options without the value-redaction hook: what the path-based redaction alone costs.
  const pathsOnly = pino(
    {
      level: 'info',
      base: { service: 'cofre' },
      redact: { paths: REDACTED_LOG_PATHS, censor: '[REDACTED]' },
      serializers: { err: pino.stdSerializers.err },
    },
    nullSink(),
  );
  const cases = [
    { label: 'createLogger, no secret loaded (fast path)', redactor: new LogRedactor() },
    { label: 'createLogger, 1 account (2 secrets of 64 chars)', redactor: redactorWith(1) },
    { label: 'createLogger, 10 accounts (20 secrets)', redactor: redactorWith(10) },
  ].map((c) => ({
    ...c,
    logger: createLogger({ level: 'info', destination: nullSink(), redactor: c.redactor }),
  }));
  let i = 0;
  const logs = (logger: pino.Logger) => (): Promise<void> => {
    logOne(logger, i++);
    return Promise.resolve();
  };
  report(`One log line (about 300 bytes), ${LINES} lines per case`, [
    await measure('pino, no path or value redaction', LINES, logs(plain)),
    await measure('pino with path redaction only (before issue 10)', LINES, logs(pathsOnly)),
    ...(await sequential(cases.map((c) => () => measure(c.label, LINES, logs(c.logger))))),
  ]);
  const line = `${JSON.stringify({ level: 30, time: Date.now(), msg: 'request finished', requestId: 'req_x', order: { clientOrderId: 'bench-1' } })}\n`;
  const two = cases[1]?.redactor;
  if (two !== undefined) {
    report('The redactor alone on one serialised line (2 secrets)', [
      await measure('LogRedactor.redact', LINES, () => Promise.resolve(two.redact(line))),
    ]);
  }
  for (const c of cases) c.redactor.dispose();
}

async function sequential<T>(steps: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = [];
  for (const step of steps) out.push(await step());
  return out;
}
