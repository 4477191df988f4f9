import { type DestinationStream, type Logger, pino } from 'pino';

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

/** The process logger: JSON lines on stderr (stdout belongs to command output and MCP stdio). */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'cofre' },
      redact: { paths: REDACTED_LOG_PATHS, censor: '[REDACTED]' },
      serializers: { err: pino.stdSerializers.err },
    },
    options.destination ?? pino.destination(2),
  );
}
