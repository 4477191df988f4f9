import { type DestinationStream, type Logger, pino } from 'pino';

import { type Environment, readEnv } from '../config/read-env.js';
import { CofreError } from '../errors.js';
import { LogRedactor } from '../secrets/log-redactor.js';

/** The environment variable that sets every logger's level (`trace` … `fatal`, `silent`), over each command's own. */
export const LOG_LEVEL_ENV = 'COFRE_LOG_LEVEL';

/**
 * The redactor every logger made by {@link createLogger} uses unless told otherwise, and that `openBrokerRuntime`
 * feeds from its secret resolver: one list per process, so no logger and no resolver can be left out.
 */
export const processLogRedactor: LogRedactor = new LogRedactor();

/**
 * Paths pino blanks in every log line, wherever they appear: credentials and tokens must never reach a log even
 * if some code passes a whole object. `SecretValue` redacts itself already; this catches plain strings.
 */
export const REDACTED_LOG_PATHS = [
  'authorization',
  'token',
  'apiKey',
  'secret',
  'password',
  'passphrase',
  'secretId',
  'secret_id',
  '*.authorization',
  '*.token',
  '*.apiKey',
  '*.secret',
  '*.password',
  '*.passphrase',
  '*.secretId',
  '*.secret_id',
  'req.headers.authorization',
  'headers.authorization',
  'headers["x-mbx-apikey"]',
  'headers["x-vault-token"]',
];

/**
 * The process logger: JSON lines on stderr (stdout belongs to command output and MCP stdio), at the level of
 * `COFRE_LOG_LEVEL` when set (an operator asking for `debug` gets it from every command), else `options.level`, else
 * `info`.
 *
 * SECURITY: every serialised line, of this logger and of all its children, passes through `redactor` (default
 * {@link processLogRedactor}) before it is written: the secret values the process has loaded are scrubbed by value,
 * in every encoding, on top of the path-based `redact` above (see `secrets/log-redactor.ts`).
 */
export function createLogger(
  options: {
    level?: string;
    destination?: DestinationStream;
    redactor?: LogRedactor;
    env?: Environment;
  } = {},
): Logger {
  const redactor = options.redactor ?? processLogRedactor;
  const level = readEnv(LOG_LEVEL_ENV, options.env) ?? options.level ?? 'info';
  if (!Object.hasOwn(pino.levels.values, level) && level !== 'silent') {
    throw new CofreError(
      'COFRE_CONFIG_INVALID',
      `${LOG_LEVEL_ENV}="${level}" is not a log level; use one of ${Object.keys(pino.levels.values).join(', ')}, silent`,
    );
  }
  return pino(
    {
      level,
      base: { service: 'cofre' },
      redact: { paths: REDACTED_LOG_PATHS, censor: '[REDACTED]' },
      serializers: { err: pino.stdSerializers.err },
      hooks: { streamWrite: (line) => redactor.redact(line) },
    },
    options.destination ?? pino.destination(2),
  );
}

/** How long a line may wait in {@link bufferedDestination} at most. */
export const LOG_FLUSH_MS = 100;

/**
 * A log destination for a server's request log (`cofre serve`): lines are written in batches — at least every
 * {@link LOG_FLUSH_MS} ms, or as soon as 4 KiB wait — instead of one `write(2)` per line, which cost a tenth of
 * cofre's CPU per request under load (bench/README.md). A line at level `error` or above is written at once.
 * What waits is written when the process exits (pino flushes it on exit), so only a process killed outright
 * (SIGKILL) can lose up to {@link LOG_FLUSH_MS} ms of lines: the audit log, not this log, is the durable record.
 */
export function bufferedDestination(dest: number | string = 2): DestinationStream {
  const stream = pino.destination({ dest, sync: false, minLength: 4096 });
  const timer = setInterval(() => {
    flushQuietly(stream);
  }, LOG_FLUSH_MS);
  timer.unref();
  stream.on('close', () => {
    clearInterval(timer);
  });
  return {
    write(line: string) {
      stream.write(line);
      // pino writes the level first: {"level":50 … — error (50) and fatal (60) are written at once.
      if (line.startsWith('{"level":5') || line.startsWith('{"level":6')) flushQuietly(stream);
    },
  };
}

/** SonicBoom refuses to flush before its file is open; the next flush writes what waits then. */
function flushQuietly(stream: ReturnType<typeof pino.destination>): void {
  try {
    stream.flush();
  } catch {
    // not open yet
  }
}
