import type { CofreConfig } from '../../config/config-schema.js';
import { CofreError, isCofreError } from '../../errors.js';
import { parseSecretReference } from '../../secrets/secret-reference.js';
import type { SecretValue } from '../../secrets/secret-value.js';
import { closestVenueIds, knownVenueIds } from '../../venues/venue-ids.js';

/** One thing that would make an agent's request fail, found before any agent asks. */
export interface PreflightProblem {
  /** Where in the config: `accounts.paper.credentials.apiKey`. */
  readonly path: string;
  readonly code: string;
  readonly message: string;
}

/** How one backend answered the credential references that point into it. */
export interface BackendCheck {
  readonly name: string;
  readonly type: string;
  readonly references: number;
  readonly resolved: number;
  /** False when the backend itself could not be reached or refused access (not merely a missing secret). */
  readonly reachable: boolean;
}

/** What {@link runPreflight} found. */
export interface PreflightReport {
  readonly accounts: readonly { readonly id: string; readonly venue: string; readonly mode: string }[];
  readonly backends: readonly BackendCheck[];
  readonly problems: readonly PreflightProblem[];
}

/**
 * Checks a loaded config against the world: every account's venue is a ccxt exchange id, and every credential
 * reference resolves through `resolver`. Problems are collected, not thrown, so all of them are reported at once.
 *
 * SECURITY: resolved values are zeroed at once and never printed; problems carry the reference and the error's code
 * and message, which never hold a value.
 */
export async function runPreflight(
  config: CofreConfig,
  resolver: { resolve(reference: string): Promise<SecretValue> },
): Promise<PreflightReport> {
  const problems: PreflightProblem[] = [];
  const known = await knownVenueIds();
  const backends = new Map<string, { references: number; resolved: number; reachable: boolean }>(
    Object.keys(config.backends).map((name) => [name, { references: 0, resolved: 0, reachable: true }]),
  );
  for (const [id, account] of Object.entries(config.accounts)) {
    if (!known.has(account.venue)) {
      const near = closestVenueIds(account.venue, known);
      problems.push({
        path: `accounts.${id}.venue`,
        code: 'COFRE_VENUE_UNKNOWN',
        message: `"${account.venue}" is not a ccxt exchange id${near.length > 0 ? `; did you mean ${near.join(', ')}?` : ''}`,
      });
    }
    for (const [field, reference] of Object.entries(account.credentials)) {
      if (typeof reference !== 'string') continue;
      const tally = backends.get(parseSecretReference(reference).backend);
      if (tally !== undefined) tally.references += 1;
      try {
        (await resolver.resolve(reference)).zero();
        if (tally !== undefined) tally.resolved += 1;
      } catch (err) {
        if (!isCofreError(err)) throw err;
        if (tally !== undefined && (err.category === 'unavailable' || err.category === 'denied')) {
          tally.reachable = false;
        }
        problems.push({
          path: `accounts.${id}.credentials.${field}`,
          code: err.code,
          // Most messages already name the reference; add it where one does not.
          message: `${err.message.includes(reference) ? '' : `${reference}: `}${err.message}${hintFor(err.code, reference, account.mode === 'paper')}`,
        });
      }
    }
  }
  return {
    accounts: Object.entries(config.accounts).map(([id, a]) => ({ id, venue: a.venue, mode: a.mode })),
    backends: [...backends].map(([name, tally]) => ({
      name,
      type: config.backends[name]?.type ?? 'unknown',
      ...tally,
    })),
    problems,
  };
}

/** The error a failed preflight ends in, listing every problem on its own line. */
export function preflightError(report: PreflightReport, whatNext: string): CofreError {
  const lines = report.problems.map((p) => `  ${p.path}: ${p.code}: ${p.message}`);
  return new CofreError(
    'COFRE_PREFLIGHT_FAILED',
    `${report.problems.length} problem${report.problems.length === 1 ? '' : 's'} found:\n${lines.join('\n')}\n${whatNext}`,
    { details: { problems: report.problems.length } },
  );
}

/** One line per backend: how many references it resolved, or that it could not be reached. */
export function describeBackends(report: PreflightReport): string[] {
  return report.backends.map(
    (b) =>
      `${b.name} (${b.type}): ${b.reachable ? 'reachable' : 'NOT reachable'}, ${b.resolved}/${b.references} references resolved`,
  );
}

function hintFor(code: string, reference: string, paper: boolean): string {
  if (code !== 'COFRE_SECRET_NOT_FOUND') return '';
  const ref = parseSecretReference(reference);
  const put = `cofre secret put ${ref.path}${ref.field === undefined ? '' : ' --field …'}${ref.backend === 'local' ? '' : ` -b ${ref.backend}`}`;
  return ` (store it with \`${put}\`${paper ? ', or run `cofre paper --create-keys` to make paper keys' : ''})`;
}
