import { z } from 'zod';

import { looksLikeLiteralSecret, parseSecretReference } from '../secrets/secret-reference.js';
import { BACKEND_TYPES, backendConfigSchema } from './backend-config.js';
import { byteSizeSchema } from './byte-size.js';
import { configNameSchema } from './config-name.js';
import { consoleSchema } from './console-config.js';
import { databasesSchema, isLoopback } from './databases-config.js';
import type { DeepReadonly } from './deep-freeze.js';
import { durationSchema } from './duration.js';
import { checkEncryptionReferences, encryptionKeysSchema } from './encryption-config.js';
import { identitySchemas, publicUrlSchema } from './identity-config.js';
import { addressBookSchema, checkPolicyReferences, policySchema } from './policy-config.js';
import { isReviewedVenue, REVIEWED_VENUES, unreviewedVenueMessage } from './reviewed-venues.js';
import { type ConfigIssueParams, secretRefSchema } from './secret-ref-schema.js';
import { isLoopbackUrl, servicesSchema } from './services-config.js';
import { chainsSchema, checkWalletReferences, walletsSchema } from './wallets-config.js';

/** Trading modes; `live` moves real money, `sandbox` uses the venue's test endpoints, `paper` a simulated venue. */
export const ACCOUNT_MODES = ['live', 'sandbox', 'paper'] as const;
export type AccountMode = (typeof ACCOUNT_MODES)[number];

export { POLICY_ACTIONS, type PolicyAction } from './policy-config.js';

const credentialsSchema = z
  .strictObject({
    apiKey: secretRefSchema.describe('Secret reference to the API key.'),
    secret: secretRefSchema.describe(
      'Secret reference to the API secret: an HMAC secret, or an Ed25519 or RSA (2048 bits or more) private key in unencrypted PEM (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`; line ends and `\\n` escapes do not matter). A key pair is signed as Binance documents it; `cofre doctor` shows the type.',
    ),
    password: secretRefSchema
      .optional()
      .describe('Secret reference to the API passphrase, for venues that need one.'),
    uid: secretRefSchema
      .optional()
      .describe('Secret reference to the account or user id, for venues that need one.'),
  })
  .describe('Secret references for the venue credentials; ccxt field names. References only, never values.');

// Issue 8, item 17: what one account lets through to its venue, so reads cannot starve orders and cancels.
const accountQueueSchema = z
  .strictObject({
    concurrency: z
      .int()
      .min(1)
      .max(64)
      .default(4)
      .describe(
        "Calls of this account in flight to the venue at once. Bounds what waits inside ccxt's own rate limiter.",
      ),
    readConcurrency: z
      .int()
      .min(1)
      .max(64)
      .default(3)
      .describe(
        'Of those, reads at most (balance, ticker, orders). Keep it below `concurrency` so a slot stays free for orders and cancels.',
      ),
    maxQueued: z
      .int()
      .min(0)
      .max(10_000)
      .default(64)
      .describe(
        'Calls that may wait for a slot. Beyond it a read is refused at once with `COFRE_ACCOUNT_BUSY` (retryable); an order or cancel takes the place of the newest waiting read.',
      ),
    readRateShare: z
      .number()
      .gt(0)
      .max(1)
      .default(0.75)
      .describe(
        "Fraction of the venue's rate limit (ccxt's rolling window) reads may use; the rest is kept for orders and cancels.",
      ),
  })
  .superRefine(
    (queue, ctx) => {
      const q = queue as { concurrency?: unknown; readConcurrency?: unknown };
      if (typeof q.concurrency === 'number' && typeof q.readConcurrency === 'number') {
        if (q.readConcurrency > q.concurrency) {
          ctx.addIssue({
            code: 'custom',
            path: ['readConcurrency'],
            message: 'readConcurrency cannot exceed concurrency',
            params: {
              hint: 'keep readConcurrency below concurrency so orders and cancels always find a slot',
            },
          });
        }
      }
    },
    { when: () => true },
  )
  .describe(
    'The queue in front of the venue: cancels first, then orders, then reads; bounded, failing fast when full.',
  );

const accountSchema = z
  .strictObject({
    venue: z
      .string()
      .regex(/^[a-z][a-z0-9_]*$/, {
        error: 'invalid venue; use the ccxt exchange id, e.g. binance, kraken, okx',
      })
      // SECURITY: only venues whose ccxt code signs per request and keeps no session (config/reviewed-venues.ts).
      .refine((venue) => !/^[a-z][a-z0-9_]*$/.test(venue) || isReviewedVenue(venue), {
        error: (issue) => unreviewedVenueMessage(String(issue.input)),
      })
      .describe(
        `ccxt exchange id, lowercase. Only venues reviewed for how ccxt holds their credentials: ${Object.keys(REVIEWED_VENUES).join(', ')}.`,
      ),
    mode: z
      .enum(ACCOUNT_MODES)
      .describe('`live` trades real funds, `sandbox` the venue test network, `paper` a simulator.'),
    baseUrl: z
      .url({ protocol: /^https?$/, error: 'invalid baseUrl; expected an http(s) URL' })
      .optional()
      .describe('Endpoint of a paper exchange. Only allowed when `mode` is `paper`.'),
    credentials: credentialsSchema,
    requireLeastPrivilege: z
      .boolean()
      .optional()
      .describe(
        'Refuse to serve this account when its key can do more than the policies need: it can withdraw while no policy allows `withdraw` on the account, or (live) it has no IP restriction. Checked at start and by `cofre doctor` where the venue reports key permissions (binance). Default: true for `live`, false (a warning only) otherwise.',
      ),
    queue: accountQueueSchema
      .optional()
      .describe(
        'The queue in front of the venue; every field has a default (see below), also when `queue` is left out.',
      ),
  })
  .superRefine(
    (account, ctx) => {
      // SECURITY: live and sandbox credentials go only to the venue's own hosts; a configurable URL would let one
      // config line send live keys anywhere.
      const raw = account as { mode?: unknown; baseUrl?: unknown };
      if (raw.baseUrl !== undefined && raw.mode !== 'paper') {
        ctx.addIssue({
          code: 'custom',
          path: ['baseUrl'],
          message: 'baseUrl is only allowed when mode is paper',
          params: { hint: 'live and sandbox accounts always use the venue endpoints known to ccxt' },
        });
      }
    },
    { when: () => true },
  )
  .describe('A trading account at one venue.');

// Issue 8, items 17-18: one agent must not slow down another, with allowed requests or with denied ones.
const agentQuotasSchema = z
  .strictObject({
    requestsPerSecond: z
      .number()
      .positive()
      .max(10_000)
      .default(10)
      .describe(
        'Sustained requests per second of one agent. Beyond: `COFRE_AGENT_QUOTA_EXCEEDED` (HTTP 429).',
      ),
    burst: z
      .int()
      .min(1)
      .max(100_000)
      .default(20)
      .describe('Requests an idle agent may send at once before `requestsPerSecond` applies.'),
    concurrency: z.int().min(1).max(1_000).default(8).describe('Requests of one agent in flight at once.'),
    deniedPerMinute: z
      .number()
      .positive()
      .max(100_000)
      .default(30)
      .describe(
        'Denied requests per minute one agent may make. Past it (and `deniedBurst`), all its requests are refused, without a state row or audit line each, until the budget refills; the audit log gets one summary per agent and minute.',
      ),
    deniedBurst: z
      .int()
      .min(1)
      .max(100_000)
      .default(10)
      .describe('Denied requests an agent may have in a row before `deniedPerMinute` applies.'),
  })
  .describe('Limits per agent, checked before anything is stored or audited. Kept in memory, per process.');

const agentsSchema = z
  .strictObject({
    tokenTtl: durationSchema({ min: 60_000 })
      .prefault('30d')
      .describe('Lifetime of a new agent token (`cofre agent add`). Parsed to milliseconds.'),
    quotas: agentQuotasSchema.prefault({}),
    requestDeadline: durationSchema({ min: 50 })
      .prefault('20s')
      .describe(
        "How long a request may wait for its account's venue. An order or cancel that cannot start by then is not sent and fails with `COFRE_REQUEST_DEADLINE_EXCEEDED` (retryable). Parsed to milliseconds.",
      ),
    ...identitySchemas,
  })
  .describe(
    'Agent settings and identity: tokens from `cofre agent add` (kept in the state store), JWT access tokens from OAuth authorization servers, workload identity exchange, and delegation.',
  );

// Issue 12: rotation of the keys behind accounts and of any versioned secret.
const rotationSchema = z
  .strictObject({
    maxAge: durationSchema()
      .prefault('90d')
      .describe(
        '`cofre doctor` flags a secret whose current version is older than this (credential age). Parsed to milliseconds.',
      ),
    pollInterval: durationSchema()
      .prefault('30s')
      .describe(
        "How often a running broker asks each backend which version of an account's credentials is current, to pick up a promotion done elsewhere (another host, the cloud console) without a restart. 0 turns polling off; a promotion by `cofre rotate` on this host reaches a running `cofre serve` through the state file within this interval as well. Parsed to milliseconds.",
      ),
  })
  .describe('Rotation of credentials: `cofre rotate`, hot reload of promoted versions, and credential age.');

/** Longest `orders.referencePriceMaxAge`: beyond a minute a price band would judge orders against history. */
const REFERENCE_PRICE_MAX_AGE_CAP_MS = 60_000;

const ordersSchema = z
  .strictObject({
    referencePriceMaxAge: durationSchema()
      .refine((ms) => ms <= REFERENCE_PRICE_MAX_AGE_CAP_MS, {
        error: 'referencePriceMaxAge may be at most 60s: a price band needs a recent price',
      })
      .prefault('1s')
      .describe(
        "How long the venue's last price (the reference price of price bands and of a market order's notional) is reused before the ticker is asked again, per account and symbol. Concurrent orders share one ticker request. A price band compares against a price up to this old. At most 60s; 0 shares only concurrent requests. Parsed to milliseconds.",
      ),
  })
  .describe('How orders are resolved before policy sees them.');

// Issue 10: where checkpoints are copied outside the log file, so that cutting the log after its last local
// checkpoint is detectable from a copy the attacker does not also control.
const auditWitnessSchema = z
  .discriminatedUnion('type', [
    z
      .strictObject({
        type: z.literal('file'),
        path: z
          .string()
          .min(1)
          .describe('File that receives a copy of each checkpoint line (appended, fsynced).'),
      })
      .describe('A file, ideally on another disk or host mount.'),
    z
      .strictObject({ type: z.literal('stdout') })
      .describe('Standard output, one checkpoint line each, for a log shipper.'),
    z
      .strictObject({
        type: z.literal('http'),
        url: z
          .url({ protocol: /^https?$/, error: 'invalid url; expected an http(s) URL' })
          .describe('Receives each checkpoint line as a JSON POST body (https, or http to loopback only).'),
        timeout: durationSchema({ min: 100 }).prefault('5s').describe('Per attempt. Parsed to milliseconds.'),
      })
      .describe('An HTTP endpoint.'),
  ])
  .describe('A witness: a place outside the log that keeps a copy of every checkpoint.');

const auditSchema = z
  .strictObject({
    path: z
      .string()
      .min(1)
      .default('./cofre-audit.jsonl')
      .describe(
        'Audit log file (hash-chained JSON lines, docs/audit.md). Relative paths resolve against the config file directory.',
      ),
    signingKey: secretRefSchema
      .optional()
      .describe(
        'Secret reference to the Ed25519 private key (PKCS#8 PEM) that signs checkpoints; `cofre init` creates one. Without it, checkpoints are written unsigned and `cofre audit verify` says so.',
      ),
    hmacKey: secretRefSchema
      .optional()
      .describe(
        'Secret reference to the key (at least 32 bytes) that HMACs secret references and value-derived data in audit records, as Vault does; `cofre init` creates one. Without it, cofre derives none and records such data only as `[unavailable]`.',
      ),
    checkpoint: z
      .strictObject({
        every: z
          .int()
          .min(1)
          .max(1_000_000)
          .default(1000)
          .describe('Records between two checkpoints at most.'),
        interval: durationSchema({ min: 1_000 })
          .prefault('60s')
          .describe(
            'Time between two checkpoints at most (when records were written). Parsed to milliseconds.',
          ),
      })
      .prefault({})
      .describe('When the chain head is signed (also at every shutdown).'),
    witnesses: z
      .array(auditWitnessSchema)
      .default([])
      .describe('Where each checkpoint is also written, outside the log file.'),
    rotate: z
      .strictObject({
        maxSize: byteSizeSchema({ min: 1024 * 1024, max: 1024 ** 4 })
          .prefault('64mb')
          .describe(
            'The log file is rotated when it passes this size; the chain continues in the next file. Parsed to bytes.',
          ),
        keep: z
          .int()
          .min(1)
          .max(100_000)
          .default(100)
          .describe('Rotated files kept at most; older ones are removed.'),
        maxAge: durationSchema({ min: 60_000 })
          .optional()
          .describe('Rotated files older than this are removed. Parsed to milliseconds.'),
      })
      .prefault({})
      .describe('Rotation and retention of the log files.'),
  })
  .describe('Audit log: every action, decision, approval, operator action and secret access, hash-chained.');

// Issue 8, item 19: a client holding thousands of idle or slow connections must not lock others out.
const connectionsSchema = z
  .strictObject({
    max: z
      .int()
      .min(1)
      .max(1_000_000)
      .default(1024)
      .describe(
        'Open connections at most. When full, the oldest idle connection (no request in progress) is closed to make room; if none is idle, the new one is refused.',
      ),
    maxPerIp: z
      .int()
      .min(1)
      .max(1_000_000)
      .default(64)
      .describe(
        'Open connections from one client address at most; more are refused. Only when `host` is not loopback (there every client has one address); behind a proxy on another host, raise it.',
      ),
    headersTimeout: durationSchema({ min: 100 })
      .prefault('10s')
      .describe('Time a client has to send the request line and headers. Parsed to milliseconds.'),
    requestTimeout: durationSchema({ min: 100 })
      .prefault('30s')
      .describe('Time a client has to send a whole request (headers and body). Parsed to milliseconds.'),
    keepAliveTimeout: durationSchema({ min: 100 })
      .prefault('5s')
      .describe('An idle keep-alive connection is closed after this. Parsed to milliseconds.'),
    idleTimeout: durationSchema({ min: 1_000 })
      .prefault('60s')
      .describe(
        'A connection with no bytes either way for this long is closed, even mid-request. Must exceed `agents.requestDeadline` plus the venue timeout (10 s). Parsed to milliseconds.',
      ),
    maxRequestsPerSocket: z
      .int()
      .min(0)
      .max(1_000_000)
      .default(1000)
      .describe('Requests served on one connection before it is closed; 0 for no limit.'),
  })
  .describe('Connection limits and timeouts of the HTTP server.');

/** Most workers `server.workers` accepts; `cofre serve` also refuses more than 4 per CPU core. */
export const MAX_SERVE_WORKERS = 256;

const serverSchema = z
  .strictObject({
    host: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .describe('Address the HTTP server binds to; loopback by default.'),
    port: z.int().min(0).max(65_535).default(8787).describe('TCP port; 0 picks a free one.'),
    publicUrl: publicUrlSchema.optional(),
    allowedHosts: z
      .array(z.string().min(1).max(253))
      .optional()
      .describe(
        'Host names (without port) agents use to reach cofre, besides localhost, 127.0.0.1 and [::1]. Other Host headers are refused (DNS-rebinding protection); set this when binding beyond loopback behind a proxy.',
      ),
    bodyLimit: byteSizeSchema({ min: 1024, max: 64 * 1024 ** 2 })
      .prefault(65_536)
      .describe('Largest accepted request body: bytes, or a size like "64kb". Parsed to bytes.'),
    connections: connectionsSchema.prefault({}),
    workers: z
      .union([z.int().min(1).max(MAX_SERVE_WORKERS), z.literal('auto')])
      .default(1)
      .describe(
        'Processes serving the port (`cofre serve --workers`): 1 is one process; `auto` is one per CPU core. Limits, idempotency, approvals and the halt are exact across workers (shared state file), the audit log has one writer; agent quotas apply per worker. At most 256.',
      ),
    console: consoleSchema.optional(),
  })
  .superRefine((server, ctx) => {
    // SECURITY: the console's cookie-authenticated routes must never share a listener with bearer-token agents.
    if (server.console !== undefined && server.console.port !== 0 && server.console.port === server.port) {
      ctx.addIssue({
        code: 'custom',
        path: ['console', 'port'],
        message: `the console needs a port of its own, not the agent port ${server.port}`,
      });
    }
  })
  .describe('HTTP server (`cofre serve`).');

const stateRetentionSchema = z
  .strictObject({
    requests: durationSchema({ min: 60 * 60_000 })
      .prefault('30d')
      .describe(
        'Finished requests (and their stored answers) older than this are deleted; the audit log keeps the record. Parsed to milliseconds.',
      ),
  })
  .prefault({})
  .describe('How long the state store keeps what it no longer needs.');

const sqliteStateSchema = z
  .strictObject({
    type: z.literal('sqlite').default('sqlite').describe('One host: a SQLite file (the default).'),
    path: z
      .string()
      .min(1)
      .default('./cofre-state.db')
      .describe(
        'SQLite state file: agents (token hashes only) and each request with its stored answer. Relative paths resolve against the config file directory.',
      ),
    retention: stateRetentionSchema,
  })
  .describe('State in one SQLite file, for one host (`cofre serve --workers` shares it).');

// Issue 16: many replicas on one PostgreSQL. SECURITY: the connection string or the credentials come by secret
// reference only (a literal password in cofre.yaml is refused like any other literal secret).
const postgresStateSchema = z
  .strictObject({
    type: z.literal('postgres').describe('Many replicas: one PostgreSQL database they all share.'),
    url: secretRefSchema
      .optional()
      .describe(
        'Secret reference to the whole connection string (`postgresql://user:password@host:5432/cofre`). Either this, or `host`, `database` and `credentials`.',
      ),
    host: z.string().min(1).max(253).optional().describe('Server host name or address.'),
    port: z.int().min(1).max(65_535).default(5432).describe('Server port.'),
    database: z.string().min(1).max(63).optional().describe('Database name.'),
    credentials: z
      .strictObject({
        username: secretRefSchema.describe(
          'The user name, by secret reference (e.g. `vault:database/creds/cofre#username` for Vault dynamic credentials).',
        ),
        password: secretRefSchema.describe(
          'The password, by secret reference (e.g. `vault:database/creds/cofre#password`).',
        ),
      })
      .optional()
      .describe(
        'By secret reference. Dynamic credentials roll with their lease: new connections use the current ones, and a login refused with the old ones reads them again.',
      ),
    ssl: z
      .enum(['disable', 'require', 'verify-full'])
      .default('verify-full')
      .describe(
        '`verify-full` (the default): TLS, with the server certificate checked against the system CAs (plus `NODE_EXTRA_CA_CERTS`) and the host name. `require`: TLS without checking the certificate. `disable`: no TLS, only for a server on loopback.',
      ),
    pool: z
      .strictObject({
        max: z.int().min(1).max(1000).default(10).describe('Connections this process keeps at most.'),
        connectTimeout: durationSchema({ min: 100 })
          .prefault('5s')
          .describe('Time to open one connection. Parsed to milliseconds.'),
        idleTimeout: durationSchema({ min: 1_000 })
          .prefault('30s')
          .describe('An idle connection is closed after this. Parsed to milliseconds.'),
        statementTimeout: durationSchema({ min: 100 })
          .prefault('10s')
          .describe(
            'A statement running longer is cancelled by the server (`statement_timeout`), so a stuck lock fails the request instead of holding it. Parsed to milliseconds.',
          ),
      })
      .prefault({})
      .describe('The connection pool of each cofre process.'),
    heartbeat: durationSchema({ min: 100 })
      .prefault('2s')
      .describe(
        'How often each replica records that it is alive, and checks that the others are. Parsed to milliseconds.',
      ),
    lease: durationSchema({ min: 1_000 })
      .prefault('15s')
      .describe(
        'A replica silent this long is dead: a survivor adopts its unfinished requests and settles them at the venue. At least 3 heartbeats. Parsed to milliseconds.',
      ),
    retention: stateRetentionSchema,
  })
  .superRefine((state, ctx) => {
    const parts = state.host !== undefined || state.database !== undefined || state.credentials !== undefined;
    if (state.url !== undefined && parts) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'give either `url` or `host`, `database` and `credentials`, not both',
      });
    } else if (state.url === undefined) {
      for (const key of ['host', 'database', 'credentials'] as const) {
        if (state[key] === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `\`${key}\` is required when \`url\` is not given`,
          });
        }
      }
    }
    if (state.lease < 3 * state.heartbeat) {
      ctx.addIssue({
        code: 'custom',
        path: ['lease'],
        message: 'the lease must be at least 3 heartbeats, or a slow replica is taken for dead',
      });
    }
    if (state.ssl === 'disable' && state.host !== undefined && !isLoopback(state.host)) {
      ctx.addIssue({
        code: 'custom',
        path: ['ssl'],
        message:
          '`ssl: disable` is allowed only for a server on loopback (127.0.0.1, ::1 or localhost): the password and every request would cross the network in the clear',
      });
    }
  })
  .describe('State in PostgreSQL, shared by every replica (issue 16). The audit log is kept there too.');

const stateSchema = z
  .discriminatedUnion('type', [sqliteStateSchema, postgresStateSchema])
  .describe('State store: SQLite (one host, the default) or PostgreSQL (many replicas).');

// Issue 9: where a new pending approval is announced. SECURITY: the notice is signed with a key held in a secret
// backend, and goes over TLS unless it stays on this host.
const approvalWebhookSchema = z
  .strictObject({
    url: z
      .url({ protocol: /^https?$/, error: 'invalid url; expected an https URL' })
      .refine((url) => !/^http:/i.test(url) || isLoopbackUrl(url), {
        error: 'the webhook url must use https (http is allowed only to 127.0.0.1, [::1] or localhost)',
      })
      .describe('Where each new pending approval is POSTed: https, or http to a loopback address only.'),
    key: secretRefSchema.describe(
      'Secret reference to the HMAC-SHA256 key that signs each notice (header `cofre-signature: t=<unix>,v1=<hex>`, HMAC of `<t>.<body>`).',
    ),
    timeout: durationSchema({ min: 100 })
      .prefault('5s')
      .describe('How long one delivery attempt may take. Parsed to milliseconds.'),
    retries: z
      .int()
      .min(0)
      .max(10)
      .default(3)
      .describe(
        'Further attempts after a failed one (non-2xx, timeout, unreachable), with exponential backoff.',
      ),
  })
  .describe('A signed JSON notice for each new pending approval, sent in the background with retries.');

const approvalsSchema = z
  .strictObject({
    expiry: durationSchema({ min: 10_000 })
      .prefault('15m')
      .describe(
        'How long a request waits for operators before it expires (and can no longer be approved). Parsed to milliseconds.',
      ),
    webhook: approvalWebhookSchema.optional(),
  })
  .describe(
    'Requests a policy sends to operators for approval (`cofre approval`, `/v1/operator/approvals`).',
  );

/** The whole `cofre.yaml`. The source of the config types, the JSON Schema and `docs/configuration.md`. */
export const cofreConfigSchema = z
  .strictObject({
    backends: z
      .record(configNameSchema('backend'), backendConfigSchema)
      .prefault({})
      .describe(
        `Secret backends by name; the name is the prefix of a secret reference (\`<name>:<path>\`). Types: ${BACKEND_TYPES.join(', ')}.`,
      ),
    accounts: z
      .record(configNameSchema('account'), accountSchema)
      .prefault({})
      .describe('Trading accounts by id.'),
    agents: agentsSchema.prefault({}),
    orders: ordersSchema.prefault({}),
    addressBook: addressBookSchema,
    policies: z
      .record(configNameSchema('policy'), policySchema)
      .prefault({})
      .describe('Policies by name; an agent has one (`cofre agent add --policy`).'),
    audit: auditSchema.prefault({}),
    server: serverSchema.prefault({}),
    state: stateSchema.prefault({}),
    approvals: approvalsSchema.prefault({}),
    rotation: rotationSchema.prefault({}),
    services: servicesSchema,
    databases: databasesSchema,
    chains: chainsSchema,
    wallets: walletsSchema,
    encryptionKeys: encryptionKeysSchema,
  })
  .superRefine(checkCrossReferences, { when: () => true })
  .meta({
    title: 'cofre configuration',
    description:
      'cofre.yaml: secret backends, trading accounts, agents, orders, address book, policies, audit, server, state, approvals, rotation, services, databases, chains, wallets and encryption keys.',
  });

/** The validated config as the loader returns it: defaults applied, paths absolute, deeply frozen. */
export type CofreConfig = DeepReadonly<z.output<typeof cofreConfigSchema>>;
/** What may be written in `cofre.yaml` (before defaults and parsing). */
export type CofreConfigInput = z.input<typeof cofreConfigSchema>;
export type AccountConfig = DeepReadonly<z.output<typeof accountSchema>>;
export type AccountCredentials = DeepReadonly<z.output<typeof credentialsSchema>>;
export type AgentsConfig = DeepReadonly<z.output<typeof agentsSchema>>;
export type OrdersConfig = DeepReadonly<z.output<typeof ordersSchema>>;
export type RotationConfig = DeepReadonly<z.output<typeof rotationSchema>>;
export type PolicyConfig = DeepReadonly<z.output<typeof policySchema>>;
export type ServiceConfig = DeepReadonly<z.output<typeof servicesSchema>>[string];
export type DatabaseConfig = DeepReadonly<z.output<typeof databasesSchema>>[string];
export type AddressBookConfig = DeepReadonly<z.output<typeof addressBookSchema>>;
export type AuditConfig = DeepReadonly<z.output<typeof auditSchema>>;
export type AuditWitnessConfig = DeepReadonly<z.output<typeof auditWitnessSchema>>;
export type ServerConfig = DeepReadonly<z.output<typeof serverSchema>>;
export type ConnectionsConfig = DeepReadonly<z.output<typeof connectionsSchema>>;
export type AccountQueueConfig = DeepReadonly<z.output<typeof accountQueueSchema>>;
export type AgentQuotasConfig = DeepReadonly<z.output<typeof agentQuotasSchema>>;
export type StateConfig = DeepReadonly<z.output<typeof stateSchema>>;
export type PostgresStateConfig = DeepReadonly<z.output<typeof postgresStateSchema>>;
export type ApprovalsConfig = DeepReadonly<z.output<typeof approvalsSchema>>;
export type ChainsConfig = DeepReadonly<z.output<typeof chainsSchema>>;
export type WalletsConfig = DeepReadonly<z.output<typeof walletsSchema>>;
export type EncryptionKeysConfig = DeepReadonly<z.output<typeof encryptionKeysSchema>>;
export type ApprovalWebhookConfig = DeepReadonly<z.output<typeof approvalWebhookSchema>>;

/** A secret reference found in a config, with where it was found. */
export interface ConfigSecretReference {
  readonly path: readonly string[];
  readonly reference: string;
}

/**
 * Every secret reference string in `config` (validated or not: non-strings are skipped), with its path. `cofre
 * doctor` resolves each; the schema checks their backends exist.
 */
export function listSecretReferences(config: unknown): ConfigSecretReference[] {
  const found: ConfigSecretReference[] = [];
  const accounts = asRecord(asRecord(config)?.['accounts']);
  for (const [id, account] of Object.entries(accounts ?? {})) {
    const credentials = asRecord(asRecord(account)?.['credentials']);
    for (const [field, reference] of Object.entries(credentials ?? {})) {
      if (typeof reference === 'string')
        found.push({ path: ['accounts', id, 'credentials', field], reference });
    }
  }
  // Issue 15: each database's credentials (the schema then checks their backend exists; `cofre doctor` reads them).
  for (const [name, database] of Object.entries(asRecord(asRecord(config)?.['databases']) ?? {})) {
    const credentials = asRecord(asRecord(database)?.['credentials']);
    for (const [field, reference] of Object.entries(credentials ?? {})) {
      if (typeof reference === 'string')
        found.push({ path: ['databases', name, 'credentials', field], reference });
    }
  }
  // Issue 19: wallet keys and RPC URLs kept in a backend, and development encryption keys.
  for (const [name, wallet] of Object.entries(asRecord(asRecord(config)?.['wallets']) ?? {})) {
    const secret = asRecord(asRecord(wallet)?.['key'])?.['secret'];
    if (typeof secret === 'string')
      found.push({ path: ['wallets', name, 'key', 'secret'], reference: secret });
  }
  for (const [name, chain] of Object.entries(asRecord(asRecord(config)?.['chains']) ?? {})) {
    const rpc = asRecord(chain)?.['rpc'];
    if (!Array.isArray(rpc)) continue;
    rpc.forEach((entry: unknown, i) => {
      const secret = asRecord(entry)?.['secret'];
      if (typeof secret === 'string')
        found.push({ path: ['chains', name, 'rpc', String(i), 'secret'], reference: secret });
    });
  }
  for (const [name, key] of Object.entries(asRecord(asRecord(config)?.['encryptionKeys']) ?? {})) {
    const secret = asRecord(key)?.['secret'];
    if (typeof secret === 'string')
      found.push({ path: ['encryptionKeys', name, 'secret'], reference: secret });
  }
  const webhookKey = asRecord(asRecord(asRecord(config)?.['approvals'])?.['webhook'])?.['key'];
  if (typeof webhookKey === 'string')
    found.push({ path: ['approvals', 'webhook', 'key'], reference: webhookKey });
  const audit = asRecord(asRecord(config)?.['audit']);
  for (const field of ['signingKey', 'hmacKey']) {
    const reference = audit?.[field];
    if (typeof reference === 'string') found.push({ path: ['audit', field], reference });
  }
  return found;
}

// Runs even when other parts failed, so that every problem is reported at once; hence the defensive reads.
function checkCrossReferences(config: unknown, ctx: z.RefinementCtx): void {
  const root = asRecord(config);
  const backends = asRecord(root?.['backends']);
  if (backends) {
    const names = Object.keys(backends);
    for (const { path, reference } of listSecretReferences(config)) {
      // SECURITY: a literal credential is reported by the field itself, without the value; never parse it here.
      if (looksLikeLiteralSecret(reference)) continue;
      let backend: string;
      try {
        backend = parseSecretReference(reference).backend;
      } catch {
        continue; // reported by the field
      }
      if (names.includes(backend)) continue;
      const params: ConfigIssueParams = {
        code: 'COFRE_BACKEND_UNKNOWN',
        hint:
          names.length === 0
            ? 'add a backend under `backends:` (cofre init writes one named local)'
            : `configured backends: ${names.join(', ')}`,
      };
      ctx.addIssue({
        code: 'custom',
        path: [...path],
        message: `backend "${backend}" is not configured`,
        params,
      });
    }
  }

  checkPolicyReferences(root, ctx);
  checkIdentityReferences(root, ctx);
  checkWalletReferences(root, ctx);
  checkEncryptionReferences(root, ctx);
}

/** Issue 17: each identity rule names a configured policy; OAuth access tokens need cofre's public URL. */
function checkIdentityReferences(root: Record<string, unknown> | undefined, ctx: z.RefinementCtx): void {
  const agents = asRecord(root?.['agents']);
  const policies = Object.keys(asRecord(root?.['policies']) ?? {});
  for (const section of ['oauth', 'exchange'] as const) {
    const issuers = agents?.[section];
    if (!Array.isArray(issuers)) continue;
    issuers.forEach((issuer, i) => {
      const rules = asRecord(issuer)?.['rules'];
      if (!Array.isArray(rules)) return;
      rules.forEach((rule, j) => {
        const policy = asRecord(rule)?.['policy'];
        if (typeof policy !== 'string' || policies.includes(policy)) return;
        ctx.addIssue({
          code: 'custom',
          path: ['agents', section, i, 'rules', j, 'policy'],
          message: `policy "${policy}" is not configured${policies.length === 0 ? '' : ` (policies: ${policies.join(', ')})`}`,
        });
      });
    });
  }
  const oauth = agents?.['oauth'];
  if (Array.isArray(oauth) && oauth.length > 0 && asRecord(root?.['server'])?.['publicUrl'] === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['server', 'publicUrl'],
      message:
        'agents.oauth needs server.publicUrl: it is the resource identifier access tokens must be issued for (their `aud`) and what the 401 answer points clients to',
    });
  }
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
