// RFC 6750 §2.1: `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 9110 §11.1).
const BEARER = /^Bearer +([^\s]+) *$/i;

/**
 * The token in an `Authorization: Bearer <token>` header, or undefined when the header is missing or is not a
 * bearer credential. The token is not checked here: `authenticateAgent` does that, in constant time.
 *
 * SECURITY: the token is returned to the caller only; never log it or the header.
 */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  return BEARER.exec(header)?.[1];
}
