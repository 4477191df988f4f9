import type { Logger } from 'pino';

import { type AuditReader, fileAuditReader, postgresAuditReader } from '../../audit/audit-reader.js';
import type { BrokerControl } from '../../broker/broker-control.js';
import type { BrokerRuntime } from '../../broker/broker-runtime.js';
import { OperatorActions } from '../../broker/operator-actions.js';
import { OperatorAdmin } from '../../broker/operator-admin.js';
import type { CofreConfig } from '../../config/config-schema.js';
import { parseDuration } from '../../config/duration.js';
import { RulePolicy } from '../../policy/rule-policy.js';
import { postgresDbOf } from '../../state/open-state-store.js';
import { DEFAULT_OPERATOR_TOKEN_TTL } from './operator-add.js';

/**
 * The operator actions of a serving broker: one instance behind both the operator API on the agent port (bearer
 * operator tokens) and the operator console on its own listener (issue 18: session cookies), so the two cannot
 * drift. It runs in the broker's own process, so a halt through it waits for this broker's writes.
 */
export function operatorActionsFor(
  config: CofreConfig,
  runtime: BrokerRuntime,
  options: {
    readonly logger: Logger;
    readonly now?: (() => Date) | undefined;
    readonly operatorBroker?: ((broker: BrokerControl) => BrokerControl) | undefined;
    /** Poll and ping intervals of the live events (`GET /v1/operator/events`); tests shorten them. */
    readonly events?: { readonly pollMs?: number; readonly pingMs?: number } | undefined;
  },
): OperatorActions {
  const now = options.now ?? (() => new Date());
  const admin = new OperatorAdmin({
    store: runtime.state,
    audit: runtime.audit,
    auditReader: auditReaderFor(config, runtime),
    // The same policies the broker decides with; only their limits are asked here (pure, no clock involved).
    policy: new RulePolicy({
      policies: config.policies,
      accounts: config.accounts,
      addressBook: config.addressBook,
      wallets: config.wallets,
      now,
    }),
    policies: Object.keys(config.policies),
    agentTokenTtlMs: config.agents.tokenTtl,
    operatorTokenTtlMs: parseDuration(DEFAULT_OPERATOR_TOKEN_TTL),
    now,
    logger: options.logger,
    ...(options.events === undefined ? {} : { events: options.events }),
  });
  return new OperatorActions({
    store: runtime.state,
    broker: options.operatorBroker?.(runtime.broker) ?? runtime.broker,
    audit: runtime.audit,
    logger: options.logger,
    ...(options.now === undefined ? {} : { now: options.now }),
    admin,
  });
}

/**
 * Where the served broker's audit chain is read back: the state database with PostgreSQL state (issue 16), else the
 * files of `audit.path`; verified as `cofre audit verify` does with this config (its file witnesses, and a warning
 * past twice `checkpoint.every` records without a checkpoint).
 */
function auditReaderFor(config: CofreConfig, runtime: BrokerRuntime): AuditReader {
  const checks = {
    witnesses: config.audit.witnesses.flatMap((w) => (w.type === 'file' ? [w.path] : [])),
    maxRecordsBetweenCheckpoints: config.audit.checkpoint.every * 2,
  };
  const db = postgresDbOf(runtime.state);
  return db === undefined ? fileAuditReader(config.audit.path, checks) : postgresAuditReader(db, checks);
}
