import type { Logger } from 'pino';

import { JsonlAuditLog } from '../audit/audit-log.js';
import type { CofreConfig } from '../config/config-schema.js';
import { AllowListPolicy } from '../policy/policy-engine.js';
import { openResolver } from '../secrets/open-backend.js';
import type { SecretResolver } from '../secrets/secret-resolver.js';
import type { SecretValue } from '../secrets/secret-value.js';
import { SqliteStateStore } from '../state/sqlite/sqlite-state-store.js';
import type { StateStore } from '../state/state-store.js';
import { DEFAULT_ACCOUNT_QUEUE_LIMITS, QueuedVenueAccount } from '../venues/account-queue.js';
import type { VenueAccount, VenueCredentials } from '../venues/venue-account.js';
import { AgentQuotas } from './agent-quotas.js';
import { Broker } from './broker.js';

/** A broker wired from a config, with everything it opened, for `cofre serve`, `cofre mcp` and `cofre demo`. */
export interface BrokerRuntime {
  readonly broker: Broker;
  readonly state: StateStore;
  readonly resolver: SecretResolver;
  /** Closes venues, backends (revoking leases and tokens), the audit log and the state store. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens the secret backends, state store, audit log and policy a config describes, and a broker over them.
 * Venue accounts (and ccxt, which takes about a second to load) open lazily on first use.
 */
export async function openBrokerRuntime(
  config: CofreConfig,
  options: { logger: Logger; promptPassphrase?: (question: string) => Promise<Buffer> },
): Promise<BrokerRuntime> {
  const backendLogger = options.logger.child({ part: 'secrets' });
  const resolver = await openResolver(config, {
    log: (level, message, fields) => {
      backendLogger[level](fields ?? {}, message);
    },
    ...(options.promptPassphrase === undefined ? {} : { promptPassphrase: options.promptPassphrase }),
  });
  const state = new SqliteStateStore(config.state.path);
  const audit = new JsonlAuditLog(config.audit.path);
  const venues = new Map<string, Promise<VenueAccount>>();

  const credentials = async (accountId: string): Promise<VenueCredentials> => {
    const refs = config.accounts[accountId]?.credentials;
    if (refs === undefined) throw new Error(`account ${accountId} has no credentials`);
    const [apiKey, secret, password, uid] = await Promise.all([
      resolver.resolve(refs.apiKey),
      resolver.resolve(refs.secret),
      refs.password === undefined ? undefined : resolver.resolve(refs.password),
      refs.uid === undefined ? undefined : resolver.resolve(refs.uid),
    ]);
    return {
      apiKey,
      secret,
      ...(password === undefined ? {} : { password }),
      ...(uid === undefined ? {} : { uid }),
    };
  };

  const venue = (accountId: string): Promise<VenueAccount> => {
    let opened = venues.get(accountId);
    if (opened === undefined) {
      const account = config.accounts[accountId];
      if (account === undefined) throw new Error(`account ${accountId} is not configured`);
      opened = import('../venues/ccxt-venue-account.js').then(
        async ({ openVenueAccount }) =>
          // Every account sits behind its bounded priority queue (issue 8, item 17).
          new QueuedVenueAccount(
            await openVenueAccount(accountId, account, () => credentials(accountId)),
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

  const quotas = new AgentQuotas(
    { ...config.agents.quotas, requestDeadlineMs: config.agents.requestDeadline },
    { logger: options.logger.child({ part: 'quotas' }), audit },
  );
  const broker = new Broker({
    admission: quotas,
    accounts: config.accounts,
    policy: new AllowListPolicy(config.policies),
    audit,
    state,
    venue,
    credentials: async (accountId): Promise<readonly SecretValue[]> => {
      const c = await credentials(accountId);
      return [
        c.apiKey,
        c.secret,
        ...(c.password === undefined ? [] : [c.password]),
        ...(c.uid === undefined ? [] : [c.uid]),
      ];
    },
    logger: options.logger,
  });

  let closed: Promise<void> | undefined;
  return {
    broker,
    state,
    resolver,
    close: () =>
      (closed ??= (async () => {
        const opened = await Promise.allSettled(venues.values());
        await Promise.allSettled(opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value.close()] : [])));
        await quotas.close();
        await audit.close();
        await resolver.close();
        state.close();
      })()),
  };
}
