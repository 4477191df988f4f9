/**
 * One step of the PostgreSQL state schema (issue 16). Versions are consecutive from 1; a step is applied once, in
 * its own transaction, and recorded in `cofre_schema_migrations`. A step is never edited after it ships: a change is
 * a new step.
 */
export interface Migration {
  readonly version: number;
  /** Short name, shown by `cofre state migrate`. */
  readonly name: string;
  /** SQL run as one transaction (several statements allowed). */
  readonly sql: string;
}
