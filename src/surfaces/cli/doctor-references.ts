import { listSecretReferences } from '../../config/config-schema.js';
import { isCofreError } from '../../errors.js';
import type { DoctorCheck, DoctorFinding } from './doctor-checks.js';
import { runPreflight } from './preflight.js';

/**
 * `cofre doctor`'s references check: every secret reference in the config resolves — accounts' credentials (through
 * {@link runPreflight}, the check `cofre serve` runs before it listens, with its hints), the audit log's hmacKey and
 * signingKey, the approval webhook's key, and any other the config lists (`listSecretReferences`). One finding per
 * reference.
 *
 * SECURITY: each value is zeroed as soon as it resolves; findings name the reference and the error code only.
 */
export const referencesDoctorCheck: DoctorCheck = async (ctx) => {
  const findings: DoctorFinding[] = [];
  const report = await runPreflight(ctx.config, ctx.resolver);
  const problems = new Map(report.problems.map((p) => [p.path, p]));
  for (const { path, reference } of listSecretReferences(ctx.config)) {
    const subject = path.join('.');
    if (path[0] === 'accounts') {
      const problem = problems.get(subject);
      problems.delete(subject);
      findings.push(
        problem === undefined
          ? { check: 'references', subject, status: 'ok', message: `${reference} resolves` }
          : failed(subject, reference, problem.code, problem.message),
      );
      continue;
    }
    try {
      (await ctx.resolver.resolve(reference)).zero();
      findings.push({ check: 'references', subject, status: 'ok', message: `${reference} resolves` });
    } catch (err) {
      if (!isCofreError(err)) throw err;
      const message = `${err.message.includes(reference) ? '' : `${reference}: `}${err.message}`;
      findings.push(failed(subject, reference, err.code, message));
    }
  }
  // What the preflight found besides references (a venue ccxt does not know).
  for (const p of problems.values()) findings.push(failed(p.path, undefined, p.code, p.message));
  return findings;
};

function failed(
  subject: string,
  reference: string | undefined,
  code: string,
  message: string,
): DoctorFinding {
  return {
    check: 'references',
    subject,
    status: 'fail',
    message: `${code}: ${message}`,
    details: { reference: reference ?? null, code },
  };
}
