import { isCofreError } from '../../errors.js';

/** Exit codes of every command, as published in DESIGN.md. */
export const ExitCode = { ok: 0, failure: 1, usage: 2, denied: 3 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The one mapping from an error to a CLI exit code. */
export function exitCodeFor(err: unknown): ExitCode {
  if (!isCofreError(err)) return ExitCode.failure;
  if (err.code === 'COFRE_USAGE') return ExitCode.usage;
  return err.category === 'denied' ? ExitCode.denied : ExitCode.failure;
}

/**
 * How an error is shown on stderr. CofreErrors are written for people and carry no secret; anything else is
 * unexpected, so only its message is shown (stack traces stay out of output).
 */
export function describeError(err: unknown): string {
  if (isCofreError(err)) return `${err.code}: ${err.message}`;
  return `COFRE_INTERNAL: unexpected error: ${err instanceof Error ? err.message : String(err)}`;
}
