/**
 * Verifies the `client_assertion` of a client-credentials request
 * (https://learn.microsoft.com/entra/identity-platform/certificate-credentials):
 * - a certificate credential: a JWT whose `x5t` (SHA-1) or `x5t#S256` header names the registered certificate,
 *   signed with its key (RS256 or PS256), `aud` the token endpoint, `iss` = `sub` = the client id, in its time;
 * - a workload identity: a federated token from the trusted issuer, audience `api://AzureADTokenExchange`, with the
 *   subject registered for the app.
 */
import type { EntraError } from './entra-authority.js';
import type { Identity } from './identities.js';
import { decodeJwt, signatureVerifies, timeClaimsProblem } from './jwt.js';
import type { TokenIssuer } from './token-issuer.js';

interface AssertionContext {
  readonly tokenEndpoint: string;
  readonly issuer: TokenIssuer;
}

function invalid(code: number, description: string, status = 401): EntraError {
  return { status, error: 'invalid_client', code, description };
}

/** `undefined` when the assertion proves the identity; otherwise the Entra error to answer. */
export function verifyClientAssertion(
  identity: Identity,
  assertion: string,
  ctx: AssertionContext,
): EntraError | undefined {
  if (identity.kind === 'workload') return verifyFederated(identity, assertion, ctx.issuer);
  const certificate = identity.certificate;
  if (certificate === undefined) {
    return invalid(
      700027,
      'Client assertion failed signature validation: no certificate is registered for the app.',
    );
  }
  const jwt = decodeJwt(assertion);
  if (jwt === undefined) return invalid(50027, 'Invalid JWT token. The token is malformed.', 400);
  const x5t = jwt.header['x5t'];
  const x5tS256 = jwt.header['x5t#S256'];
  // SECURITY: the thumbprint picks the registered certificate; an assertion naming another is refused before any
  // signature check, and the signature is checked only against that certificate's key.
  if (x5t !== certificate.x5t && x5tS256 !== certificate.x5tS256) {
    return invalid(700027, 'Client assertion contains an invalid signature: the key was not found (x5t).');
  }
  if (!signatureVerifies(jwt, certificate.publicKey)) {
    return invalid(700027, 'Client assertion failed signature validation.');
  }
  const { claims } = jwt;
  if (claims['aud'] !== ctx.tokenEndpoint) {
    return invalid(700021, 'Client assertion audience claim does not match the token endpoint.', 400);
  }
  if (claims['iss'] !== identity.clientId || claims['sub'] !== identity.clientId) {
    return invalid(700023, 'Client assertion issuer and subject must be the client id.', 400);
  }
  if (timeClaimsProblem(claims, Math.floor(Date.now() / 1000)) !== undefined) {
    return invalid(700024, 'Client assertion is not within its valid time range.', 400);
  }
  return undefined;
}

function verifyFederated(identity: Identity, assertion: string, issuer: TokenIssuer): EntraError | undefined {
  const check = issuer.verifyFederated(assertion);
  if (!check.ok) {
    if (check.reason === 'expired' || check.reason === 'not yet valid') {
      return invalid(700024, 'Client assertion is not within its valid time range.', 400);
    }
    return invalid(
      700211,
      'No matching federated identity record found for presented assertion issuer, or the assertion is not valid.',
      400,
    );
  }
  if (check.subject !== identity.federatedSubject) {
    return invalid(
      70021,
      'No matching federated identity record found for presented assertion subject.',
      400,
    );
  }
  return undefined;
}
