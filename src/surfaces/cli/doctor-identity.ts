import type { CofreConfig } from '../../config/config-schema.js';
import { isCofreError } from '../../errors.js';
import { probeJwtIssuer } from '../../identity/jwt-issuer.js';
import type { DoctorCheck, DoctorFinding } from './doctor-checks.js';

/**
 * Issue 17, `cofre doctor`'s identity check: every issuer of `agents.oauth` and `agents.exchange` publishes a key set
 * cofre can fetch (through its discovery document unless `jwks` is set). An issuer that cannot be reached would
 * refuse every token it issued (`COFRE_IDENTITY_ISSUER_UNAVAILABLE`), so it is a failure, not a warning.
 */
export const identityDoctorCheck: DoctorCheck = (ctx) => checkIdentityIssuers(ctx.config);

/** {@link identityDoctorCheck} on a config; needs no secret. */
export async function checkIdentityIssuers(config: CofreConfig): Promise<readonly DoctorFinding[]> {
  const issuers = [
    ...config.agents.oauth.map((issuer, i) => ({ issuer, path: `agents.oauth[${i}]` })),
    ...config.agents.exchange.map((issuer, i) => ({ issuer, path: `agents.exchange[${i}]` })),
  ];
  return Promise.all(
    issuers.map(async ({ issuer, path }): Promise<DoctorFinding> => {
      const subject = `${path} (${issuer.issuer})`;
      try {
        const { jwks, keys } = await probeJwtIssuer(issuer);
        return {
          check: 'identity',
          subject,
          status: keys === 0 ? 'fail' : 'ok',
          message: keys === 0 ? `the key set at ${jwks} holds no key` : `${keys} signing key(s) at ${jwks}`,
          details: { jwks, keys },
        };
      } catch (err) {
        if (!isCofreError(err)) throw err;
        return { check: 'identity', subject, status: 'fail', message: err.message };
      }
    }),
  );
}
