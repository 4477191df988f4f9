/** Severity of a {@link BackendLog} line. */
export type BackendLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured, non-secret context of a log line: paths, counts, codes, accessors — never a value or a token. */
export type BackendLogFields = Readonly<Record<string, string | number | boolean | undefined>>;

/**
 * The logger a backend is handed (secrets/ does no logging of its own; the process wires this to pino).
 *
 * SECURITY: callers pass only references, paths, codes and counts; tests inject a recording logger and check
 * that no canary value, token or secret_id reaches it.
 */
export type BackendLog = (level: BackendLogLevel, message: string, fields?: BackendLogFields) => void;

/** A logger that drops everything. */
export const silentLog: BackendLog = () => undefined;
