import type { TokenCredential } from '@azure/identity';

/** Thrown when a credential's token request does not settle in time; the sign-in mapper reads its name. */
export class TokenRequestTimeoutError extends Error {
  override readonly name = 'TokenRequestTimeoutError';
  /** A network code, so that the failure reads as transient wherever codes are checked. */
  readonly code = 'ETIMEDOUT';

  constructor(timeoutMs: number) {
    super(`no token within ${timeoutMs} ms`);
  }
}

/**
 * `credential` with every token request bounded by `timeoutMs`.
 *
 * Why: msal-node's managed-identity sources (IMDS, App Service) ignore the abort signal and the timeout the SDK
 * passes to `getToken`, and the Key Vault client waits for the token before it sends anything, so a metadata
 * endpoint that accepts the connection and never answers would hang every secret read — and the orders waiting on
 * it — for good. The request left behind settles or dies on its own; its answer is dropped.
 */
export function withTokenTimeout(credential: TokenCredential, timeoutMs: number): TokenCredential {
  return {
    getToken(scopes, options) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new TokenRequestTimeoutError(timeoutMs));
        }, timeoutMs);
        credential.getToken(scopes, options).then(
          (token) => {
            clearTimeout(timer);
            resolve(token);
          },
          (err: unknown) => {
            clearTimeout(timer);
            reject(err instanceof Error ? err : new Error(String(err)));
          },
        );
      });
    },
  };
}
