/**
 * Error codes (Node's socket and DNS errors, and those the AWS and Azure SDKs put on errors they wrap) that mean
 * the backend could not be reached or stopped answering: transient, so `COFRE_BACKEND_UNAVAILABLE`. One list, so
 * that every backend's error mapper agrees on what "unreachable" is.
 */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  // Node's http client, undici, the Azure SDK and msal-node.
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_SOCKET',
  'REQUEST_SEND_ERROR',
  'network_error',
]);
