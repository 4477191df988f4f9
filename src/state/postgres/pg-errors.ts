import pg from 'pg';

/**
 * True when `err` (as thrown by `PgDb`, i.e. `COFRE_STATE_UNAVAILABLE` wrapping the driver's error, or the driver's
 * error itself) is a unique violation (SQLSTATE 23505) of `constraint`: a duplicate id the caller turns into its own
 * error (`COFRE_AGENT_EXISTS`, …).
 */
export function isUniqueViolation(err: unknown, constraint: string): boolean {
  const cause = err instanceof pg.DatabaseError ? err : (err as { cause?: unknown } | undefined)?.cause;
  return cause instanceof pg.DatabaseError && cause.code === '23505' && cause.constraint === constraint;
}
