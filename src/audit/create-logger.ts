import { type DestinationStream, type Logger, pino } from 'pino';

import { LogRedactor } from '../secrets/log-redactor.js';

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
 * The process logger: JSON lines on stderr (stdout belongs to command output and MCP stdio).
 *
 * SECURITY: every serialised line, of this logger and of all its children, passes through `redactor` (default
 * {@link processLogRedactor}) before it is written: the secret values the process has loaded are scrubbed by value,
 * in every encoding, on top of the path-based `redact` above (see `secrets/log-redactor.ts`).
 */
export function createLogger(
  options: { level?: string; destination?: DestinationStream; redactor?: LogRedactor } = {},
): Logger {
  const redactor = options.redactor ?? processLogRedactor;
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'cofre' },
      redact: { paths: REDACTED_LOG_PATHS, censor: '[REDACTED]' },
      serializers: { err: pino.stdSerializers.err },
      hooks: { streamWrite: (line) => redactor.redact(line) },
    },
    options.destination ?? pino.destination(2),
  );
}
