/**
 * Key Vault's error answers: `{"error": {"code", "message", "innererror"?}}` (REST `KeyVaultError`), with the codes
 * and statuses the service uses. Messages paraphrase the service's; clients must match on `code`, never on text.
 * https://learn.microsoft.com/azure/key-vault/general/rest-error-codes
 */

export interface KeyVaultErrorWire {
  error: { code: string; message: string; innererror?: { code: string } };
}

export interface KeyVaultErrorAnswer {
  readonly status: number;
  readonly body: KeyVaultErrorWire;
  readonly headers?: Readonly<Record<string, string>>;
}

function answer(status: number, code: string, message: string, inner?: string): KeyVaultErrorAnswer {
  return {
    status,
    body: { error: { code, message, ...(inner !== undefined ? { innererror: { code: inner } } : {}) } },
  };
}

export const kvErrors = {
  /** No or unusable bearer token (the 401 also carries the `WWW-Authenticate` challenge). */
  unauthorized: (reason: string) => answer(401, 'Unauthorized', reason),
  /** The caller's role does not allow the data action. */
  forbiddenByRbac: (clientId: string, action: string) =>
    answer(
      403,
      'Forbidden',
      `Caller is not authorized to perform action on resource.\r\nCaller: appid=${clientId}\r\n` +
        `Action: '${action}'\r\nAssignment: (not found)\r\nDecisionReason: 'DeniedWithNoValidRBAC'`,
      'ForbiddenByRbac',
    ),
  /** Reading the value of a disabled version. */
  disabled: () =>
    answer(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled'),
  notFound: (what: string) =>
    answer(
      404,
      'SecretNotFound',
      `A secret with (name/id) ${what} was not found in this key vault. If you recently deleted this secret you may ` +
        'be able to recover it using the correct recovery command.',
    ),
  deletedNotFound: (name: string) => answer(404, 'SecretNotFound', `Deleted Secret not found: ${name}`),
  conflictDeleted: (name: string) =>
    answer(
      409,
      'Conflict',
      `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this ` +
        'state, the secret can only be recovered or purged.',
    ),
  badParameter: (message: string) => answer(400, 'BadParameter', message),
  throttled: (retryAfterSeconds: number): KeyVaultErrorAnswer => ({
    ...answer(
      429,
      'Throttled',
      'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached',
    ),
    headers: { 'retry-after': String(retryAfterSeconds) },
  }),
  serverError: (status: number) =>
    answer(
      status,
      status === 503 ? 'ServiceUnavailable' : 'InternalServerError',
      'The service is unavailable.',
    ),
  methodNotAllowed: () =>
    answer(405, 'MethodNotAllowed', 'The requested method is not allowed on this resource.'),
  notFoundRoute: () => answer(404, 'NotFound', 'The requested resource was not found.'),
} as const;
