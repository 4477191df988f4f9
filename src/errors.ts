/**
 * The one catalogue of cofre's error codes.
 *
 * Domain code throws {@link CofreError} with a code from this catalogue and never an HTTP status; each surface
 * (HTTP, MCP, CLI) maps the category in exactly one place. Codes are published: never reuse or rename one, add a
 * new code instead. `docs/errors.md` is generated from this file (`npm run docs:errors`) and a test keeps the two
 * in sync.
 *
 * SECURITY: messages name secret *references*, never values or tokens. Nothing in this file formats a value.
 */

/** How a caller should react; surfaces map these to HTTP statuses, MCP tool errors and CLI exit codes. */
export type ErrorCategory = 'denied' | 'invalid' | 'not_found' | 'unavailable' | 'internal';

/** One catalogue entry. */
export interface ErrorSpec {
  readonly category: ErrorCategory;
  /** True when the same request may succeed if retried later without change. */
  readonly retryable: boolean;
  /** Short description for `docs/errors.md`: when it happens and what to do. */
  readonly description: string;
}

function spec(category: ErrorCategory, retryable: boolean, description: string): ErrorSpec {
  return { category, retryable, description };
}

export const errorCatalogue = {
  COFRE_CONFIG_INVALID: spec(
    'invalid',
    false,
    'The configuration file failed validation. Every problem is listed with its path; fix them and run `cofre config check`.',
  ),
  COFRE_CONFIG_NOT_FOUND: spec(
    'not_found',
    false,
    'No configuration file at the given path. Pass `--config`, set `COFRE_CONFIG`, or run `cofre init`.',
  ),
  COFRE_CONFIG_LITERAL_SECRET: spec(
    'invalid',
    false,
    'A value that looks like a credential stands where a secret reference belongs. Store it with `cofre secret put` and reference it instead.',
  ),
  COFRE_REFERENCE_INVALID: spec(
    'invalid',
    false,
    'A secret reference does not follow `<backend>:<path>[#<field>][@<version>|@stage=<label>]`; the message points at the bad character.',
  ),
  COFRE_BACKEND_UNKNOWN: spec('invalid', false, 'A secret reference names a backend that is not configured.'),
  COFRE_SECRET_NOT_FOUND: spec(
    'not_found',
    false,
    'The secret, version, stage or field does not exist in the backend.',
  ),
  COFRE_SECRET_FIELD_INVALID: spec(
    'invalid',
    false,
    'A reference selects a `#field` but the stored value is not a JSON object with that string field.',
  ),
  COFRE_SECRET_ZEROED: spec(
    'internal',
    false,
    'Code used a SecretValue after it was zeroed. This is a bug in cofre; please report it.',
  ),
  COFRE_SECRET_VALUE_INVALID: spec(
    'invalid',
    false,
    'A secret value was rejected before writing (empty, too large, or not valid for the backend).',
  ),
  COFRE_BACKEND_UNAVAILABLE: spec(
    'unavailable',
    true,
    'The secret backend could not be reached or answered with a transient error. cofre serves a cached value for a bounded time, then fails closed.',
  ),
  COFRE_BACKEND_DENIED: spec(
    'denied',
    false,
    'The secret backend refused access to the reference. Check the policy or role cofre uses for that backend.',
  ),
  COFRE_SECRET_DISABLED: spec(
    'denied',
    false,
    'The backend holds the secret version but will not serve it: disabled, expired, or not valid yet (Azure Key Vault `enabled`, `expires`, `notBefore`). cofre never uses such a value; enable the version or move the reference to another.',
  ),
  COFRE_SERVICE_DESTINATION_REFUSED: spec(
    'denied',
    false,
    "cofre refused to send a service request where it would have gone: a method or path outside the service's own `methods`/`paths` allowlist, another host or port than the service's, or an address in a loopback, private or link-local range for a service not marked `local`. Nothing was sent with the credential.",
  ),
  COFRE_SERVICE_UNAVAILABLE: spec(
    'unavailable',
    true,
    'The service did not answer in time, refused the connection or failed the TLS handshake. Nothing about the credential was exposed; retry later.',
  ),
  COFRE_SERVICE_RESPONSE_TOO_LARGE: spec(
    'unavailable',
    false,
    "The service's response is larger than its `maxResponseSize`; it was dropped unread. Ask for less, or raise the limit in the config.",
  ),
  COFRE_SERVICE_NOT_FOUND: spec(
    'not_found',
    false,
    'No service with that name is configured (answered only to agents allowed every service); agents not allowed `*` are denied by policy with the same words for services that exist and services that do not.',
  ),
  COFRE_SERVICE_RATE_LIMITED: spec(
    'unavailable',
    true,
    "The service's `rateLimit` (shared by every agent) is used up for now; nothing was sent. Retry in a moment.",
  ),
  COFRE_EGRESS_REFUSED: spec(
    'denied',
    false,
    "`cofre run`'s proxy refused a request of the wrapped tool: its host is not the host of a service the run injects, or it carried a placeholder to another host. The real credential was not sent.",
  ),
  COFRE_DATABASE_UNAVAILABLE: spec(
    'unavailable',
    true,
    'cofre could not open the upstream database connection (unreachable, credentials unavailable or refused). The tool never saw a database credential; retry later.',
  ),
  COFRE_BACKEND_UNSUPPORTED: spec(
    'invalid',
    false,
    'The backend cannot do what was asked (for example write, list versions or move stages).',
  ),
  COFRE_STORE_WRONG_KEY: spec(
    'denied',
    false,
    'The embedded store could not be opened with the given passphrase or key file. The file itself is intact.',
  ),
  COFRE_STORE_CORRUPT: spec(
    'internal',
    false,
    'The embedded store file failed its integrity check (changed, truncated or swapped bytes). Restore it from a backup; cofre will not guess.',
  ),
  COFRE_STORE_LOCKED: spec(
    'unavailable',
    true,
    'Another cofre process is writing the embedded store. Retry when it finishes.',
  ),
  COFRE_STORE_WRITE_FAILED: spec(
    'unavailable',
    true,
    'Writing the embedded store failed (for example the disk is full). The previous store is kept unchanged.',
  ),
  COFRE_STORE_EXISTS: spec(
    'invalid',
    false,
    'Refusing to overwrite an existing store, configuration or agent token file.',
  ),
  COFRE_KEY_FILE_INSECURE: spec(
    'denied',
    false,
    'A key or passphrase file, or an Azure service principal’s secret or certificate file, can be read by other users. Restrict it with `chmod 600` (on Kubernetes, the secret volume’s `defaultMode: 0400`).',
  ),
  COFRE_PRIVATE_FILE_INSECURE: spec(
    'denied',
    false,
    "A file cofre keeps private (the state database and its -wal/-shm, the audit log) can be read beyond its owner and belongs to another user, or its mode could not be restricted. cofre restricts its own files to mode 600 by itself (with a warning); for these, make them the service user's and run `chmod 600 <file>`.",
  ),
  COFRE_TOKEN_FILE_INSECURE: spec(
    'denied',
    false,
    'An agent token file can be read by other users (group or world bits set). Restrict it with `chmod 600`; anyone who can read the file can act as the agent.',
  ),
  COFRE_PASSPHRASE_REQUIRED: spec(
    'invalid',
    false,
    'The store needs a passphrase but none was given and there is no terminal to prompt on. Use a passphrase file.',
  ),
  COFRE_STATE_UNAVAILABLE: spec(
    'unavailable',
    true,
    'The state database (agents, requests) could not be opened or written. SQLite: check its path and disk. PostgreSQL: check that the server is up and reachable and the credentials are valid; cofre reconnects by itself, and refuses every action meanwhile (nothing is sent without a durable intent).',
  ),
  COFRE_STATE_SCHEMA_MISMATCH: spec(
    'unavailable',
    false,
    'The PostgreSQL state schema is not the one this cofre knows: older, run `cofre state migrate`; newer (a later cofre migrated it), upgrade this replica. A replica never serves on a schema it does not know.',
  ),
  COFRE_LIMIT_INVALID: spec(
    'invalid',
    false,
    'A limit cannot be counted: its cap, or what the request would use of it, is not a decimal from 0 to 10000000000 (limits count in steps of 0.00000001), or its window is not a whole number of milliseconds of at least 1. The message names the limit. For a cap or window, fix the policy; for an order or withdrawal, send a smaller one.',
  ),
  COFRE_AGENT_EXISTS: spec(
    'invalid',
    false,
    'An agent with that id already exists; revoke it or choose another id.',
  ),
  COFRE_AGENT_NOT_FOUND: spec('not_found', false, 'No agent with that id.'),
  COFRE_UNAUTHENTICATED: spec(
    'denied',
    false,
    'The agent token is missing, unknown, expired or revoked (all four get this same answer).',
  ),
  COFRE_ACTION_DENIED: spec(
    'denied',
    false,
    'Policy does not allow this agent that action on that account. The response names the rule that decided.',
  ),
  COFRE_ACTION_UNKNOWN: spec('invalid', false, 'No such action. See the list of actions in the README.'),
  COFRE_POLICY_TEST_FAILED: spec(
    'invalid',
    false,
    '`cofre policy test`: at least one case got another decision or rule than it expects; each is listed as FAIL with what it got.',
  ),
  COFRE_AUDIT_VERIFY_FAILED: spec(
    'invalid',
    false,
    '`cofre audit verify`: the audit log is damaged or was tampered with; each problem is listed with its file, line and seq. Keep the files as they are for investigation.',
  ),
  COFRE_AUDIT_HMAC_KEY_UNAVAILABLE: spec(
    'invalid',
    false,
    '`cofre audit hash` needs `audit.hmacKey` in the config, naming a secret of at least 32 bytes (`cofre init` creates one).',
  ),
  COFRE_AUDIT_UNAVAILABLE: spec(
    'unavailable',
    true,
    'The audit log could not be written, so the action was refused before anything was sent (fail closed).',
  ),
  COFRE_AUDIT_KEY_INVALID: spec(
    'invalid',
    false,
    'An audit key is not usable: `audit.signingKey` must be an Ed25519 private key in PKCS#8 PEM, `audit.hmacKey` at least 32 bytes. `cofre init` creates both; store a new one with `cofre secret put`.',
  ),
  COFRE_REQUEST_NOT_FOUND: spec('not_found', false, 'No request with that id was made by this agent.'),
  COFRE_CREDENTIALS_UNAVAILABLE: spec(
    'unavailable',
    true,
    "An account's credentials could not be read from their secret backend (missing, denied or unreachable), so nothing was sent. The reason is in the server log, not in the answer; `cofre doctor` checks every reference.",
  ),
  COFRE_CREDENTIALS_INVALID: spec(
    'unavailable',
    false,
    "An account's API secret has a form cofre cannot sign with: an encrypted private key, a public key or certificate in place of the private key, a key that is neither Ed25519 nor RSA (2048 bits or more), or PEM text that does not decode. Nothing was sent. The message says which, never the key; `cofre doctor` reports each account's key type.",
  ),
  COFRE_ACCOUNT_NOT_FOUND: spec(
    'not_found',
    false,
    'No account with that id is configured (answered only to agents allowed every account); list_accounts shows yours.',
  ),
  COFRE_ACCOUNT_REFUSED: spec(
    'denied',
    false,
    "cofre refuses to serve this account: its venue reports that the account's key can do more than cofre's policies need (it can withdraw while no policy allows `withdraw` on the account, or, live, it works from any IP address) and least privilege is required (`accounts.<id>.requireLeastPrivilege`, default true for `live`). Nothing was sent. Narrow the key at the venue (disable withdrawals, restrict it to the server's IP addresses): cofre reads its permissions again within a minute and serves the account once they fit; or set `requireLeastPrivilege: false` on the account and restart. `cofre doctor` shows the problems.",
  ),
  COFRE_REQUEST_IN_PROGRESS: spec(
    'unavailable',
    true,
    'A request with the same clientOrderId is still running; ask for its result with get_request instead of sending it again.',
  ),
  COFRE_IDEMPOTENCY_CONFLICT: spec(
    'invalid',
    false,
    'The clientOrderId was already used by this agent for a different order; the message names what differs. Choose a new clientOrderId, or repeat the first request exactly to get its answer (marked `replayed`).',
  ),
  COFRE_REQUEST_INTERRUPTED: spec(
    'unavailable',
    true,
    'cofre stopped while this request was running, and found at start-up (or an operator found with `cofre request resolve`) that nothing reached the venue; it may be sent again.',
  ),
  COFRE_HALTED: spec(
    'unavailable',
    false,
    'An operator stopped all trading (`cofre halt`); no action is taken until `cofre resume`. The message gives the reason.',
  ),
  COFRE_DESTINATION_UNKNOWN: spec(
    'invalid',
    false,
    'The withdrawal destination is not a label in the address book, or holds another asset; withdrawals go only to labels an operator bound to addresses.',
  ),
  COFRE_APPROVAL_NOT_EXECUTABLE: spec(
    'invalid',
    false,
    'The approved request cannot run: it is not approved, already executed, expired, or its bound payload no longer matches its hash.',
  ),
  COFRE_USAGE: spec('invalid', false, 'The command line was not understood; see `--help`.'),
  COFRE_INPUT_INVALID: spec('invalid', false, 'Input was rejected; the message says which field and why.'),
  COFRE_INTERNAL: spec(
    'internal',
    false,
    'An unexpected error. Details are logged with the request id; the caller sees only this code.',
  ),
  COFRE_STORE_NOT_FOUND: spec(
    'not_found',
    false,
    'No embedded store file at the configured path. Create one with `cofre init`, or fix the path in the config.',
  ),
  COFRE_KEY_FILE_INVALID: spec(
    'invalid',
    false,
    'A key or passphrase file is missing, unreadable, not a regular file, or malformed (a key file holds exactly 32 bytes; a passphrase file must not be empty).',
  ),
  COFRE_BACKEND_CLOSED: spec(
    'internal',
    false,
    'A secret backend was used after it was closed. This is a bug in cofre; please report it.',
  ),
  COFRE_CONFIG_UNREADABLE: spec(
    'invalid',
    false,
    'The configuration file exists but could not be read (permissions, a directory, or not UTF-8). The message names the path.',
  ),
  COFRE_PORT_IN_USE: spec(
    'unavailable',
    false,
    'The address cofre should listen on is taken by another process. Stop it, or choose another port with `--port` (or `server.port`).',
  ),
  COFRE_WORKERS_FAILED: spec(
    'unavailable',
    false,
    'A worker of `cofre serve --workers N` could not start, or workers kept crashing (5 within 60 s), so cofre stopped. The log says why each one exited; fix that and start again.',
  ),
  COFRE_PREFLIGHT_FAILED: spec(
    'invalid',
    false,
    'A start-up or `cofre doctor` / `cofre config check --resolve` check failed: a secret reference that does not resolve, a backend that cannot be reached, or a venue ccxt does not know. Each problem is listed with what to do; `cofre serve --no-verify` starts anyway.',
  ),
  COFRE_VAULT_SEALED: spec(
    'unavailable',
    true,
    'The Vault/OpenBao server is sealed and serves no secrets until an operator unseals it. cofre serves cached values for a bounded time, then fails closed.',
  ),
  COFRE_VAULT_REQUEST_REJECTED: spec(
    'invalid',
    false,
    'Vault/OpenBao rejected a request as malformed (HTTP 400 or another 4xx that is not a denial). The message names the path; check the backend config (mount, KV version, auth role).',
  ),
  COFRE_BACKEND_RESPONSE_TOO_LARGE: spec(
    'unavailable',
    false,
    "A secret backend answered with more bytes than cofre reads from it (default 1 MiB, the backend's `maxResponseSize`); the answer was dropped unread. Usually the address points at something other than the backend (a proxy or download page); otherwise raise `maxResponseSize`.",
  ),
  COFRE_VAULT_RESPONSE_INVALID: spec(
    'internal',
    false,
    'Vault/OpenBao answered with a response cofre does not understand (not JSON, or missing fields). Check that `address` points at Vault or OpenBao and not a proxy page.',
  ),
  COFRE_VAULT_MOUNT_MISMATCH: spec(
    'invalid',
    false,
    'The configured KV mount is not what the config says (KV version 1 vs 2, not a KV mount, or no such mount). Fix `mount` or `kvVersion` in the backend config.',
  ),
  COFRE_VAULT_WRAPPING_TOKEN_INVALID: spec(
    'denied',
    false,
    'A response-wrapping token was refused: already used, expired, or created by a different path than the expected AppRole secret-id endpoint (a sign of interception). A wrapping token works once, so a restarted cofre needs a fresh one: deliver a new wrapped secret_id to `wrappedSecretIdFile`. If no cofre process used it, investigate.',
  ),
  COFRE_VAULT_CREDENTIAL_FILE_INVALID: spec(
    'invalid',
    false,
    'A Vault/OpenBao credential file (token, role_id, secret_id, wrapping token, JWT) is missing, unreadable or empty. The message names the file, never its content.',
  ),
  COFRE_VENUE_UNKNOWN: spec(
    'invalid',
    false,
    'An account names a `venue` that is not a ccxt exchange id. Use the lowercase id ccxt lists (`binance`, `kraken`, `okx`, ...).',
  ),
  COFRE_VENUE_UNREVIEWED: spec(
    'invalid',
    false,
    'An account names a ccxt venue that cofre has not reviewed for how ccxt holds its credentials. Some venues log in and keep session tokens on the exchange object between calls, which cofre can neither wipe nor rotate; cofre trades only on reviewed venues (README, "Venues").',
  ),
  COFRE_VENUE_SANDBOX_UNSUPPORTED: spec(
    'invalid',
    false,
    'A `sandbox` account names a venue for which ccxt knows no test endpoints, or whose sandbox switch would leave some requests pointed at production. cofre refuses rather than trade live; use `paper` mode or another venue.',
  ),
  COFRE_VENUE_HOST_REFUSED: spec(
    'denied',
    false,
    "A request would have gone to a host the account's mode does not allow (`live`: the venue's production hosts; `sandbox`: its test hosts; `paper`: the account's `baseUrl`), or the account's `baseUrl` does not fit its mode. Nothing was sent.",
  ),
  COFRE_VENUE_REJECTED: spec(
    'invalid',
    false,
    "The venue refused the request (insufficient funds, invalid or unknown order, unknown symbol, bad parameters). The message gives the venue's error code, its own text is apart in `venueText`. It will not succeed unchanged.",
  ),
  COFRE_VENUE_AUTH_FAILED: spec(
    'denied',
    false,
    "The venue refused the account's credentials or their permissions (wrong key, bad signature, key without trading rights, IP not allowed). Check or rotate the account's keys.",
  ),
  COFRE_VENUE_UNAVAILABLE: spec(
    'unavailable',
    true,
    'The venue could not be reached, timed out, is rate limiting or in maintenance, and a read failed or a write was refused before it could take effect. Retry later.',
  ),
  COFRE_VENUE_OUTCOME_UNKNOWN: spec(
    'unavailable',
    false,
    'A write (new order, cancel) was sent but its answer was lost (connection dropped, timeout, venue-side error). The order may or may not exist: look it up by its client order id before doing anything else. Never retried automatically.',
  ),
  COFRE_VENUE_UNSUPPORTED: spec(
    'invalid',
    false,
    'The venue, through ccxt, cannot do what was asked as asked (an operation it lacks, a required argument, or a market that is not spot).',
  ),
  COFRE_VENUE_RESPONSE_INVALID: spec(
    'internal',
    false,
    'The venue answered with data cofre could not turn into its own shapes (a missing order id, an unknown status). Details are logged; please report it with the venue name.',
  ),
  COFRE_VENUE_CLOSED: spec(
    'internal',
    false,
    'A venue account was used after it was closed. This is a bug in cofre; please report it.',
  ),
  COFRE_ROUTE_NOT_FOUND: spec(
    'not_found',
    false,
    'No such HTTP endpoint. The endpoints are listed in `GET /v1/openapi.json`.',
  ),
  COFRE_BODY_TOO_LARGE: spec(
    'invalid',
    false,
    'The request body is larger than `server.bodyLimit` (HTTP 413). Send a smaller body; no action takes a large one.',
  ),
  COFRE_MEDIA_TYPE_UNSUPPORTED: spec(
    'invalid',
    false,
    'The request body is not JSON (HTTP 415). Send `Content-Type: application/json`.',
  ),
  COFRE_ORIGIN_REFUSED: spec(
    'denied',
    false,
    'The HTTP `Host` or `Origin` header is not one the server accepts (protection against DNS rebinding and browser pages calling the local API). Call cofre by an allowed host name, without a browser.',
  ),
  COFRE_METHOD_NOT_ALLOWED: spec(
    'invalid',
    false,
    'The HTTP endpoint exists but not with this method (HTTP 405); the `Allow` header lists the methods it takes. `/mcp` takes POST only (stateless Streamable HTTP).',
  ),
  COFRE_AGENT_QUOTA_EXCEEDED: spec(
    'unavailable',
    true,
    'The agent exceeded its quota (`agents.quotas`: rate, requests in flight, or denials per minute). Nothing was recorded or sent. Retry after the time given (HTTP `Retry-After`).',
  ),
  COFRE_ACCOUNT_BUSY: spec(
    'unavailable',
    true,
    "The account's queue to its venue is full (`accounts.<id>.queue`), so the request was refused at once and nothing was sent. Retry shortly; cancels and orders go ahead of reads.",
  ),
  COFRE_REQUEST_DEADLINE_EXCEEDED: spec(
    'unavailable',
    true,
    'The request could not start at the venue before its deadline (`agents.requestDeadline`). Nothing was sent, so an order or cancel may be sent again as it is.',
  ),
  COFRE_OPERATOR_EXISTS: spec(
    'invalid',
    false,
    'An operator with that id already exists; revoke it or choose another id (`cofre operator list`).',
  ),
  COFRE_OPERATOR_NOT_FOUND: spec(
    'not_found',
    false,
    'No active operator with that id (`cofre operator list`).',
  ),
  COFRE_OPERATOR_TOKEN_REQUIRED: spec(
    'denied',
    false,
    'An operator route (`/v1/operator/...`) was called with an agent token. Operator routes take only operator tokens (`cofre operator add`); an agent can never approve, deny, halt or resume.',
  ),
  COFRE_AGENT_TOKEN_REQUIRED: spec(
    'denied',
    false,
    'An agent route (`/v1/actions/...`, `/v1/requests/...`, `/mcp`, `cofre mcp`) was called with an operator token. Agent routes take only agent tokens (`cofre agent add`); give the agent its own token.',
  ),
  COFRE_INSUFFICIENT_SCOPE: spec(
    'denied',
    false,
    'The OAuth access token lacks the scope this class of action needs (`agents.oauth[].scopes`: read, trade, withdraw, services). HTTP answers 403 with `WWW-Authenticate: Bearer error="insufficient_scope"` naming it; ask the authorization server for a token with that scope. Nothing was executed.',
  ),
  COFRE_DELEGATION_REFUSED: spec(
    'denied',
    false,
    "A delegated token was not minted: the child would get a right its parent lacks (an account, action, symbol, a higher limit, a longer life), the chain would be deeper than `agents.delegation.maxDepth`, or the caller's token cannot delegate. Ask for a subset of the parent's rights.",
  ),
  COFRE_TOKEN_EXCHANGE_RATE_LIMITED: spec(
    'unavailable',
    true,
    '`POST /v1/token` was asked more often than 10 times per second (bursts of 30) from one client address. The route is unauthenticated and audits every refusal, so it is bounded; a workload exchanges once per token lifetime. Retry after the `Retry-After` seconds.',
  ),
  COFRE_CSRF_REJECTED: spec(
    'denied',
    false,
    "A state-changing request to the operator console came without the session's CSRF token, or from another origin (`Origin`, `Sec-Fetch-Site`). Nothing was done. Use the console page itself; scripts use the operator API on the agent port with a bearer token instead.",
  ),
  COFRE_CONSOLE_LOGIN_RATE_LIMITED: spec(
    'unavailable',
    true,
    'The console login was tried more often than 5 times per second (bursts of 20) from one client address. Every attempt is audited, so attempts are bounded. Retry after the `Retry-After` seconds.',
  ),
  COFRE_IDENTITY_ISSUER_UNAVAILABLE: spec(
    'unavailable',
    true,
    "A token's issuer (`agents.oauth` / `agents.exchange`) could not be reached for its discovery document or key set, so the token could not be checked. Nothing was executed; retry later, and check the issuer URL with `cofre doctor`.",
  ),
  COFRE_TOKEN_EXCHANGE_REFUSED: spec(
    'denied',
    false,
    '`POST /v1/token` refused the subject token: not a JWT from a configured `agents.exchange` issuer, wrong audience, expired or not yet valid, bad signature, or no rule matches its claims. The answer says which (RFC 8693 `invalid_grant`); nothing was issued.',
  ),
  COFRE_APPROVAL_NOT_FOUND: spec(
    'not_found',
    false,
    'No approval with that request id (`cofre approval list` or `GET /v1/operator/approvals`).',
  ),
  COFRE_APPROVAL_NOT_PENDING: spec(
    'invalid',
    false,
    'The approval is no longer pending: it expired, was denied, was already approved or executed. The message says which; an expired or denied request is never executed, the agent must ask again.',
  ),
  COFRE_APPROVAL_HASH_MISMATCH: spec(
    'invalid',
    false,
    'The payload hash given with an approval is not the hash of the payload waiting for approval. Show the approval again, check what it will send, and approve its current `payloadHash`.',
  ),
  COFRE_APPROVAL_ALREADY_VOTED: spec(
    'invalid',
    false,
    'This operator already approved the request; a quorum needs that many distinct operators.',
  ),
  COFRE_APPROVAL_NOT_APPROVER: spec(
    'denied',
    false,
    'This operator is not among the approvers the policy rule names for this request (its `approvers.of`).',
  ),
  COFRE_ROTATION_IN_PROGRESS: spec(
    'invalid',
    false,
    'Another rotation of the same account or secret has not ended. Finish it with `cofre rotate --resume <id>` (the message names it), or see `cofre rotate --status`.',
  ),
  COFRE_ROTATION_NOT_FOUND: spec(
    'not_found',
    false,
    'No rotation with that id in the state file; `cofre rotate --status` lists them.',
  ),
  COFRE_ROTATION_INVALID: spec(
    'invalid',
    false,
    'The rotation cannot run as asked: a credential reference is pinned to a version or stage (rotation moves `current`), the backend has no stages, the new credentials miss or add a field, or there is nothing to roll back. The message says which.',
  ),
  COFRE_ROTATION_TEST_FAILED: spec(
    'invalid',
    false,
    'The new version failed its test (the venue refused it, or its key can do more than the policies need): it was not promoted, the pending version was removed and the old one stays current. Fix the key at the venue and run `cofre rotate` again.',
  ),
  COFRE_ROTATION_INTERRUPTED: spec(
    'invalid',
    false,
    'A rotation was interrupted before every new version was written; cofre never keeps the new key outside the backend, so it was ended as failed (pending removed, the old version stays current). Run `cofre rotate` again.',
  ),
  // Issue 19: wallets and encryption as a service.
  COFRE_WALLET_UNKNOWN: spec(
    'invalid',
    false,
    'No wallet of that name is configured (`wallets:` in cofre.yaml). Nothing was signed or sent.',
  ),
  COFRE_CHAIN_MISMATCH: spec(
    'invalid',
    false,
    "The chain id asked for is not the wallet's, or the RPC endpoint reports another chain than the one configured. Nothing was signed or sent.",
  ),
  COFRE_SIMULATION_FAILED: spec(
    'invalid',
    false,
    'The transaction would revert (the simulation with `eth_call` / gas estimation failed), so it was not signed or sent. The message carries the reason the chain gave, as untrusted text.',
  ),
  COFRE_RPC_UNAVAILABLE: spec(
    'unavailable',
    true,
    "No configured RPC endpoint of the wallet's chain answered. Nothing was broadcast; retry later.",
  ),
  COFRE_SIGNER_UNAVAILABLE: spec(
    'unavailable',
    true,
    "The wallet's key source (AWS KMS, or the secret backend of an embedded key) could not be reached or refused the request. Nothing was signed or sent; retry later, and check with `cofre doctor`.",
  ),
  COFRE_SIGNER_KEY_INVALID: spec(
    'invalid',
    false,
    "The wallet's key is not a secp256k1 signing key (a KMS key of spec `ECC_SECG_P256K1` and usage `SIGN_VERIFY`, or 32 bytes in hex for an embedded key).",
  ),
  COFRE_ENCRYPTION_KEY_UNKNOWN: spec(
    'invalid',
    false,
    'No encryption key of that name is configured (`encryptionKeys:` in cofre.yaml).',
  ),
  COFRE_ENCRYPTION_UNAVAILABLE: spec(
    'unavailable',
    true,
    "The encryption key's service (OpenBao/Vault Transit, AWS KMS, or the secret backend of an embedded key) could not be reached or refused the request. Retry later, and check with `cofre doctor`.",
  ),
  COFRE_DECRYPT_REFUSED: spec(
    'denied',
    false,
    'The ciphertext does not open with this key and purpose for this agent: it was made by another agent, for another purpose or key, or was changed. Nothing is returned.',
  ),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorCatalogue;

/** Structured, non-secret context attached to an error (paths, reference strings, counts). */
export type ErrorDetails = Readonly<Record<string, unknown>>;

/**
 * The only error type domain code throws on purpose. `category` and `retryable` come from the catalogue so that
 * callers never have to string-match messages.
 */
export class CofreError extends Error {
  override readonly name = 'CofreError';
  readonly code: ErrorCode;
  readonly category: ErrorCategory;
  readonly retryable: boolean;
  readonly details: ErrorDetails | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: ErrorDetails } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const entry: ErrorSpec = errorCatalogue[code];
    this.code = code;
    this.category = entry.category;
    this.retryable = entry.retryable;
    this.details = options.details;
  }
}

/** True when `err` is a {@link CofreError}, optionally with the given code. */
export function isCofreError(err: unknown, code?: ErrorCode): err is CofreError {
  return err instanceof CofreError && (code === undefined || err.code === code);
}

/** Renders `docs/errors.md` from the catalogue; the test `errors.test.ts` fails when the file drifts. */
export function renderErrorsMarkdown(): string {
  const rows = Object.entries(errorCatalogue).map(
    ([code, e]: [string, ErrorSpec]) =>
      `| \`${code}\` | ${e.category} | ${e.retryable ? 'yes' : 'no'} | ${e.description} |`,
  );
  return [
    '# Error codes',
    '',
    'Generated from `src/errors.ts` by `npm run docs:errors`; do not edit by hand.',
    '',
    'Each error cofre returns carries one of these codes. The category decides the HTTP status, the MCP tool error',
    'and the CLI exit code (`denied` exits 3, `invalid` from the command line exits 2, all else 1).',
    '',
    '| code | category | retryable | meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
