import { CofreError } from '../errors.js';
import type { VenueCallRecord } from '../venues/venue-account.js';
import type { ActionInput } from './actions.js';
import type { BrokerContext } from './broker-types.js';

/**
 * The send step of an `http_request` (issue 15), after policy allowed it and its intent is on record: the service's
 * own allowlist and rate (service-proxy.ts), then its credential, read through the audited resolver (a
 * `secret-access` record under this request, the reference HMAC'd), then the request (service-request.ts).
 *
 * SECURITY: the credential goes into `record.held`, so the broker scrubs the whole answer of it in every encoding
 * (broker-finish.ts) and zeroes it when the request ends, whatever happens.
 */
export async function sendHttpRequest(
  ctx: BrokerContext,
  input: ActionInput<'http_request'>,
  record: VenueCallRecord,
): Promise<unknown> {
  const { services, secrets } = ctx.deps;
  if (services === undefined) {
    throw new CofreError('COFRE_SERVICE_NOT_FOUND', `no such service "${input.service}"`);
  }
  const admitted = services.admit(input);
  if (secrets?.read === undefined) throw new CofreError('COFRE_INTERNAL', 'no secret resolver for services');
  let credential;
  try {
    credential = await secrets.read(services.reference(admitted), { purpose: 'service-credential' });
  } catch (err) {
    // As for venue credentials: the agent learns the service cannot be used now, the operator the reason.
    ctx.deps.logger.error({ err, service: admitted.name }, 'the credential of a service could not be read');
    throw new CofreError(
      'COFRE_SERVICE_UNAVAILABLE',
      `the credential of service "${admitted.name}" cannot be read now; nothing was sent`,
    );
  }
  record.held.push(credential);
  return { response: await services.send(admitted, credential) };
}
