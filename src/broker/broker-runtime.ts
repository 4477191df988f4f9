import type { Logger } from 'pino';

import { AuditHasher } from '../audit/audit-hasher.js';
import { loadAuditKeys } from '../audit/audit-keys.js';
import type { AuditSink } from '../audit/audit-log.js';
import { processLogRedactor } from '../audit/create-logger.js';
import type { CofreConfig } from '../config/config-schema.js';
import { openEncryption } from '../encryption/encryption-service.js';
import { type AgentAuthenticator, createAgentAuthenticator } from '../identity/agent-authenticator.js';
import { createOAuthVerifier } from '../identity/oauth-verifier.js';
import { RulePolicy } from '../policy/rule-policy.js';
import type { BackendLog } from '../secrets/backend-log.js';
import { accountCredentialReferences, CurrentVersionWatcher } from '../secrets/current-version-watcher.js';
import type { LogRedactor } from '../secrets/log-redactor.js';
import { openResolver } from '../secrets/open-backend.js';
import { parseSecretReference } from '../secrets/secret-reference.js';
import type { SecretResolver } from '../secrets/secret-resolver.js';
import { ServiceProxy } from '../services/service-proxy.js';
import { openStateStore } from '../state/open-state-store.js';
import type { StateStore } from '../state/state-store.js';
import { DEFAULT_ACCOUNT_QUEUE_LIMITS, QueuedVenueAccount } from '../venues/account-queue.js';
import { checkKeyScope } from '../venues/check-key-scope.js';
import { ReferencePrices } from '../venues/reference-prices.js';
import { runWithRequestId } from '../venues/request-context.js';
import type { VenueAccount } from '../venues/venue-account.js';
import { openWallets } from '../wallets/wallet-service.js';
import { AgentQuotas } from './agent-quotas.js';
import { approvalWebhookFor } from './approval-webhook.js';
import { AuditedSecrets } from './audited-secrets.js';
import { Broker, type ReconcileReport } from './broker.js';
import { KeyScopeGate } from './key-scope-gate.js';
import { openAuditLogFor } from './open-audit-log-for.js';
import { type ReplicaLoop, startReplicaLoop } from './replica-loop.js';
import { startRequestRetention } from './request-retention.js';
import { advanceAuditHorizon, type AuditRestoreReport, restoreFromAudit } from './restore-from-audit.js';

/**
 * How long a signed venue request can still be accepted after it was made: Binance's largest `recvWindow` (60 s).
 * A request left `executing` is settled only once it is older than this, so no signed order of it can still arrive
 * after cofre has decided it was never placed.
 */
export const SIGNED_REQUEST_WINDOW_MS = 60_000;

/**
 * How often the state's audit horizon moves to the end of the log (and at a clean close): after a power loss, start
 * reads at most about this much of the log (issue 11).
 */
export const AUDIT_HORIZON_INTERVAL_MS = 10_000;

/** A broker wired from a config, with everything it opened, for `cofre serve`, `cofre mcp` and `cofre demo`. */
export interface BrokerRuntime {
  readonly broker: Broker;
  readonly state: StateStore;
  /** The audit log the broker writes; operator decisions go to it too. */
  readonly audit: AuditSink;
  readonly resolver: SecretResolver;
  /**
   * Reads secrets and records each read (`secret-access`); fails closed. Every secret the runtime's process reads
   * for its own use should go through it rather than {@link BrokerRuntime.resolver}.
   */
  readonly secrets: AuditedSecrets;
  /**
   * Issue 12, hot reload: polls the backends every `rotation.pollInterval` for the version of each account's
   * credentials that is `current` and drops the resolver's cached values when it moved. A promotion made in this
   * process calls `checkNow()` so it takes effect at once.
   */
  readonly credentialVersions: CurrentVersionWatcher;
  /**
   * Settles the requests a stopped process left `executing` (see {@link Broker.reconcileInterrupted}): at once those
   * older than {@link SIGNED_REQUEST_WINDOW_MS}, the rest once that window has passed. Resolves with the first
   * pass's report; results are logged.
   */
  reconcileInterrupted(): Promise<ReconcileReport>;
  /**
   * What the start's reconciliation from the audit log did (see `restore-from-audit.ts`), or undefined when it was
   * not run here (`reconcileFromAudit: false`).
   */
  readonly restoredFromAudit: AuditRestoreReport | undefined;
  /**
   * Least privilege (issue 12): each account's key scope as judged, and the refusals. `cofre serve` runs
   * {@link KeyScopeGate.checkAll} at start; every action on an account passes {@link KeyScopeGate.admit}.
   */
  readonly keyScope: KeyScopeGate;
  /**
   * Issue 17: how agents authenticate on every surface: `cofre agent add` tokens, session tokens (exchange and
   * delegation) and JWT access tokens from `agents.oauth`.
   */
  readonly authenticator: AgentAuthenticator;
  /** Closes venues, backends (revoking leases and tokens), the audit log and the state store. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens the secret backends, state store, audit log and policy a config describes, and a broker over them.
 * Venue accounts (and ccxt, which takes about a second to load) open lazily on first use.
 */
export async function openBrokerRuntime(
  config: CofreConfig,
  options: {
    logger: Logger;
    promptPassphrase?: (question: string) => Promise<Buffer>;
    /** The broker's and the policy's clock (approval expiry, rolling windows); default the system clock. */
    now?: () => Date;
    /** Fed every secret value the resolver loads, to scrub them from log lines; default the process's own. */
    logRedactor?: LogRedactor;
    /**
     * Where a `stdout` audit witness writes; default the process's stdout. `cofre mcp` passes stderr: its stdout is
     * the MCP protocol.
     */
    witnessStdout?: NodeJS.WritableStream;
    /**
     * Issue 11: put back, before anything is served, the sent requests the state lost and the audit log recorded
     * (default true). Run it in exactly one process before any other serves: `serve --workers N` passes false to
     * the workers once the first runtime has opened.
     */
    reconcileFromAudit?: boolean;
    /**
     * Where the broker records, instead of opening `audit.path`: a worker of `cofre serve --workers N` passes a sink
     * that sends each event to the primary, the log's one writer (audit/ipc-audit-sink.ts). The runtime then never
     * reads `audit.signingKey` (the writer signs) and closes the sink it was given.
     */
    audit?: AuditSink;
    /**
     * The share (0 < share ≤ 1) of each venue's request rate this process may use: `1/N` in each of N workers, so
     * together they stay within the venue's limit. Default 1.
     */
    venueRateShare?: number;
  },
): Promise<BrokerRuntime> {
  const now = options.now ?? (() => new Date());
  const backendLogger = options.logger.child({ part: 'secrets' });
  const backendLog: BackendLog = (level, message, fields) => {
    backendLogger[level](fields ?? {}, message);
  };
  const resolver = await openResolver(config, {
    log: backendLog,
    ...(options.promptPassphrase === undefined ? {} : { promptPassphrase: options.promptPassphrase }),
  });
  // SECURITY: every value the resolver loads is scrubbed from the logs by value (secrets/log-redactor.ts).
  const unfollowRedactor = (options.logRedactor ?? processLogRedactor).follow(resolver);
  // Issue 10: the checkpoint signing key (keys.signingKey) and the HMAC key, read once, before anything is recorded.
  const keys = await loadAuditKeys(
    options.audit === undefined ? config : { audit: withoutSigningKey(config.audit) },
    resolver,
  ).catch(async (err: unknown) => {
    unfollowRedactor();
    await resolver.close();
    throw err;
  });
  const hasher = new AuditHasher(keys.hmacKey);
  keys.hmacKey?.fill(0);
  // cofre's own files readable beyond their owner are restricted to 600 when opened; say so (config/private-file.ts).
  const onModeFixed = (fixed: { path: string; was: string }): void => {
    options.logger.warn(fixed, 'file was readable beyond its owner; restricted it to mode 600');
  };
  const state = await openStateStore(config, {
    resolver,
    onModeFixed,
    onBackgroundError: (err) => {
      options.logger.error(
        { err },
        'could not store the rows of finished reads and cancels (the audit log has them)',
      );
    },
  }).catch(async (err: unknown) => {
    unfollowRedactor();
    await resolver.close();
    throw err;
  });
  // The hash-chained log (audit/chained-audit-log.ts): group commit, signed checkpoints, witnesses, rotation.
  const audit =
    options.audit ??
    (await openAuditLogFor(config.audit, state, {
      ...(keys.signingKey === undefined ? {} : { signingKey: keys.signingKey }),
      reporter: options.logger.child({ part: 'audit' }),
      onModeFixed,
      ...(options.witnessStdout === undefined ? {} : { stdout: options.witnessStdout }),
    }));
  // Every secret read from here on is recorded (secret-access), the audit keys' own reads first.
  const secrets = new AuditedSecrets({ resolver, audit, hasher });
  await Promise.all(keys.reads.map((read) => secrets.record(read))).catch(async (err: unknown) => {
    hasher.zero();
    unfollowRedactor();
    await audit.close().catch(() => undefined);
    await resolver.close();
    await state.close();
    throw err;
  });
  const retention = startRequestRetention({
    state,
    retentionMs: config.state.retention.requests,
    logger: options.logger,
    now,
  });
  const venues = new Map<string, Promise<VenueAccount>>();
  const credentials = (accountId: string) => secrets.venueCredentials(accountId, config);

  const venue = (accountId: string): Promise<VenueAccount> => {
    let opened = venues.get(accountId);
    if (opened === undefined) {
      const account = config.accounts[accountId];
      if (account === undefined) throw new Error(`account ${accountId} is not configured`);
      opened = import('../venues/ccxt-venue-account.js').then(
        async ({ openVenueAccount }) =>
          // Every account sits behind its bounded priority queue (issue 8, item 17).
          new QueuedVenueAccount(
            await openVenueAccount(
              accountId,
              account,
              () => credentials(accountId),
              options.venueRateShare === undefined ? {} : { rateShare: options.venueRateShare },
            ),
            account.queue ?? DEFAULT_ACCOUNT_QUEUE_LIMITS,
          ),
      );
      // A failed open (bad sandbox config, unreachable venue) is retried on the next request, not cached.
      opened.catch(() => {
        venues.delete(accountId);
      });
      venues.set(accountId, opened);
    }
    return opened;
  };
  const keyScope = new KeyScopeGate({
    config,
    logger: options.logger.child({ part: 'key-scope' }),
    check: (accountId) => keyScopeOf(accountId, config, secrets, venue),
  });

  const quotas = new AgentQuotas(
    { ...config.agents.quotas, requestDeadlineMs: config.agents.requestDeadline },
    { logger: options.logger.child({ part: 'quotas' }), audit },
  );
  const referencePrices = new ReferencePrices({ maxAgeMs: config.orders.referencePriceMaxAge });
  const webhook = approvalWebhookFor(
    config.approvals,
    { resolve: (reference) => secrets.read(reference, { purpose: 'approval-webhook' }) },
    options.logger.child({ part: 'webhook' }),
  );
  const policy = new RulePolicy({
    policies: config.policies,
    accounts: config.accounts,
    addressBook: config.addressBook,
    wallets: config.wallets,
    now,
  });
  // Issue 19: wallets (keys in AWS KMS or a backend) and encryption keys (Transit, AWS KMS or a backend).
  const wallets = openWallets(config, { state, secrets, logger: options.logger.child({ part: 'wallets' }) });
  const encryption = openEncryption(config, {
    resolver,
    secrets,
    logger: options.logger.child({ part: 'encryption' }),
  });
  const broker = new Broker({
    admission: quotas,
    accounts: config.accounts,
    addressBook: config.addressBook,
    referencePrice: async (_account, venue, symbol) => (await referencePrices.get(venue, symbol)).price,
    approvalTtlMs: config.approvals.expiry,
    secrets,
    ...(webhook === undefined
      ? {}
      : {
          onPendingApproval: (approval) => {
            // Its key's reads are recorded under the request awaiting approval.
            runWithRequestId(approval.requestId, approval.agentId, () => {
              webhook.notify(approval);
            });
          },
        }),
    policy,
    audit,
    state,
    venue,
    // Refuses actions on accounts whose key can do too much (in resolution and in run-action.ts); reconciliation
    // of what was already sent still reads them.
    keyScope,
    // Issue 15: the service proxy's services, their allowlists and rate limits.
    services: new ServiceProxy(config.services),
    delegation: config.agents.delegation,
    wallets,
    encryption,
    logger: options.logger,
    now,
  });

  const reconcileLogger = options.logger.child({ part: 'reconcile' });
  const settle = async (before: Date): Promise<ReconcileReport> => {
    const report = await broker.reconcileInterrupted(before);
    if (report.resolved.length > 0) {
      reconcileLogger.warn({ resolved: report.resolved }, 'settled requests a stopped cofre left executing');
    }
    if (report.unresolved.length > 0) {
      reconcileLogger.error(
        { unresolved: report.unresolved },
        'requests left executing could not be settled; see `cofre request list --executing`',
      );
    }
    return report;
  };
  let later: NodeJS.Timeout | undefined;
  let replicas: ReplicaLoop | undefined;
  // The horizon moves only once the restore below is done: never past an intent whose row is not back yet.
  let horizon: NodeJS.Timeout | undefined = undefined;

  const credentialVersions = new CurrentVersionWatcher({
    resolver,
    references: accountCredentialReferences(config),
    intervalMs: config.rotation.pollInterval,
    log: backendLog,
    // The key-scope judgement of the old key does not hold for the new one: judge the accounts on it again.
    onChange: (change) => {
      for (const id of accountsReading(config, change.reference)) keyScope.invalidate(id);
    },
  });

  let closed: Promise<void> | undefined;
  const runtime = {
    broker,
    state,
    audit,
    resolver,
    secrets,
    credentialVersions,
    restoredFromAudit: undefined as AuditRestoreReport | undefined,
    keyScope,
    authenticator: createAgentAuthenticator(state, {
      oauth:
        config.agents.oauth.length > 0 && config.server.publicUrl !== undefined
          ? createOAuthVerifier(config.agents.oauth, config.server.publicUrl)
          : undefined,
    }),
    reconcileInterrupted: () => {
      const openedAt = Date.now();
      later ??= setTimeout(() => {
        settle(new Date(openedAt)).catch((err: unknown) => {
          reconcileLogger.error({ err }, 'settling interrupted requests failed');
        });
      }, SIGNED_REQUEST_WINDOW_MS).unref();
      return settle(new Date(openedAt - SIGNED_REQUEST_WINDOW_MS));
    },
    close: () =>
      (closed ??= (async () => {
        clearTimeout(later);
        clearInterval(horizon);
        await replicas?.stop();
        retention.stop();
        await credentialVersions.close();
        const opened = await Promise.allSettled(venues.values());
        await Promise.allSettled(opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value.close()] : [])));
        await quotas.close();
        await webhook?.close();
        await Promise.allSettled([wallets?.close(), encryption?.close()]);
        await audit.close();
        // After the last record: a clean start then reads nothing of the log (issue 11).
        if (horizon !== undefined) {
          await advanceAuditHorizon(state, config.audit.path, new Date()).catch((err: unknown) => {
            options.logger.warn({ err }, 'could not record the audit horizon at close');
          });
        }
        hasher.zero();
        await resolver.close();
        unfollowRedactor();
        await state.close();
      })()),
  };
  // Issue 16: on PostgreSQL the intent and the request row are in one durable database, and a replica's
  // unfinished requests are adopted by the survivors (replica-loop.ts), so there is no file log to restore from.
  const fileState = config.state.type === 'sqlite';
  if (fileState && options.reconcileFromAudit !== false) {
    // SECURITY: before anything is served, so no retry of a request the state lost can be sent a second time.
    runtime.restoredFromAudit = await restoreFromAudit({
      state,
      policy,
      auditPath: config.audit.path,
      logger: options.logger.child({ part: 'reconcile' }),
      now,
      retentionMs: config.state.retention.requests,
    }).catch(async (err: unknown) => {
      await runtime.close();
      throw err;
    });
  }
  if (fileState) horizon = startAuditHorizon(state, config.audit.path, options.logger);
  if (config.state.type === 'postgres') {
    replicas = startReplicaLoop({
      state,
      settle: (rows, before) => broker.reconcileInterrupted(before, rows),
      inFlight: () => broker.inFlight(),
      heartbeatMs: config.state.heartbeat,
      leaseMs: config.state.lease,
      windowMs: SIGNED_REQUEST_WINDOW_MS,
      logger: options.logger,
    });
    // Alive before the first request, so no survivor takes this replica for dead.
    await replicas.tick();
  }
  credentialVersions.start();
  return runtime;
}

/**
 * Reads and judges the key scope of `accountId` (issue 12) through the account's own queued venue. Its credentials
 * are read here, recorded as `key-scope` reads under no request (fail closed: not used unless on record), handed to
 * the venue call as the current identity's held credentials, and zeroed after.
 */
async function keyScopeOf(
  accountId: string,
  config: CofreConfig,
  secrets: AuditedSecrets,
  openedVenue: (accountId: string) => Promise<VenueAccount>,
): ReturnType<typeof checkKeyScope> {
  const venue = await openedVenue(accountId);
  if (venue.keyScope === undefined) return checkKeyScope(config, accountId, venue);
  const { values, accesses } = await secrets.readVenueCredentials(accountId, config);
  try {
    await Promise.all(accesses.map((a) => secrets.recordFor({ ...a, purpose: 'key-scope' }, undefined)));
    return await runWithRequestId('-', '-', () => checkKeyScope(config, accountId, venue), {
      account: accountId,
      values,
    });
  } finally {
    for (const value of [values.apiKey, values.secret, values.password, values.uid]) value?.zero();
  }
}

/** Moves the state's audit horizon every {@link AUDIT_HORIZON_INTERVAL_MS}; a failure is logged and retried. */
function startAuditHorizon(state: StateStore, auditPath: string, logger: Logger): NodeJS.Timeout {
  return setInterval(() => {
    advanceAuditHorizon(state, auditPath, new Date()).catch((err: unknown) => {
      logger.warn({ err }, 'could not record the audit horizon');
    });
  }, AUDIT_HORIZON_INTERVAL_MS).unref();
}

/** The audit section without its signing key: a worker's runtime records through the primary, which signs. */
function withoutSigningKey(audit: CofreConfig['audit']): CofreConfig['audit'] {
  const copy = { ...audit };
  delete copy.signingKey;
  return copy;
}

/** The accounts whose credentials read the secret `<backend>:<path>`. */
function accountsReading(config: CofreConfig, secret: string): string[] {
  return Object.entries(config.accounts)
    .filter(([, account]) =>
      Object.values(account.credentials).some((reference) => {
        if (typeof reference !== 'string') return false;
        const ref = parseSecretReference(reference);
        return `${ref.backend}:${ref.path}` === secret;
      }),
    )
    .map(([id]) => id);
}
