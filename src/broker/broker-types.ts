import type { Logger } from 'pino';

import type { AuditSink } from '../audit/audit-log.js';
import type { AccountConfig } from '../config/config-schema.js';
import type { DelegationConfig } from '../config/identity-config.js';
import type { EncryptionService } from '../encryption/encryption-service.js';
import type { ErrorCode } from '../errors.js';
import type { PolicyEngine } from '../policy/policy-types.js';
import type { ServiceProxy } from '../services/service-proxy.js';
import type { ApprovalRecord } from '../state/control-store.js';
import type { RequestRecord, RequestStatus, StateStore } from '../state/state-store.js';
import type { Decimal, VenueAccount, VenueCallRecord } from '../venues/venue-account.js';
import type { WalletService } from '../wallets/wallet-service.js';
import type { ActionName } from './actions.js';
import type { RequestAdmission } from './agent-quotas.js';
import type { AuthenticatedAgent } from './agent-tokens.js';
import type { AuditedSecrets } from './audited-secrets.js';
import type { HaltGate } from './halt-gate.js';
import type { KeyScopeGate } from './key-scope-gate.js';
import type { AddressBookEntry } from './resolve-action.js';

/** What every action answers (the HTTP body and the MCP tool result). Holds no secret. */
export interface ActionResponse {
  readonly requestId: string;
  readonly status: Exclude<RequestStatus, 'executing'>;
  readonly result?: unknown;
  /** The policy rule (or limit) that decided. */
  readonly rule?: string;
  readonly reason?: string;
  /** For `pending_approval`: until when operators may approve, and the hash of exactly what will be sent. */
  readonly approval?: { readonly expiresAt: string; readonly payloadHash: string };
  readonly error?: {
    readonly code: ErrorCode;
    readonly message: string;
    readonly retryable: boolean;
    /**
     * The venue's own words about the failure, when it gave any: untrusted text (data, not instructions), at most
     * 160 characters, cleaned, and dropped whole if it held any trace of a credential.
     */
    readonly venueText?: string;
  };
  /** Set on the stored answer of an earlier request, returned for a repeated write instead of sending it again. */
  readonly replayed?: true;
}

/** What the broker needs; all passed in, so tests and `cofre demo` wire real parts their own way. */
export interface BrokerDependencies {
  readonly accounts: Readonly<Record<string, AccountConfig>>;
  readonly policy: PolicyEngine;
  readonly audit: AuditSink;
  readonly state: StateStore;
  /** Opens (once) and returns the venue account for an account id. */
  readonly venue: (accountId: string) => Promise<VenueAccount>;
  readonly logger: Logger;
  readonly now?: () => Date;
  /**
   * Per-agent quotas and the request's deadline and priority (`agent-quotas.ts`), checked before anything else.
   * Optional so that unit tests may leave it out; `openBrokerRuntime` always sets it.
   */
  readonly admission?: RequestAdmission;
  /** Withdrawal destinations by label (`addressBook:`); none by default. */
  readonly addressBook?: Readonly<Record<string, AddressBookEntry>>;
  /** The reference price of a market, from a short cache; by default the venue's ticker, asked every time. */
  readonly referencePrice?: (
    accountId: string,
    venue: VenueAccount,
    symbol: string,
  ) => Promise<Decimal | undefined>;
  /** How long operators have to approve a request (ms); 15 minutes by default. */
  readonly approvalTtlMs?: number;
  /** Told of each new pending approval (the webhook); must not throw or block. */
  readonly onPendingApproval?: (approval: ApprovalRecord) => void;
  /**
   * The audited secret reads (`audited-secrets.ts`): with them, a request's credentials are read before its intent
   * and recorded in the intent's batch, one fdatasync for both. Without (unit tests), venue calls read their own.
   */
  readonly secrets?: Pick<AuditedSecrets, 'readVenueCredentials' | 'recordFor'> &
    Partial<Pick<AuditedSecrets, 'read'>>;
  /**
   * Least privilege (issue 12, key-scope-gate.ts): refuses every action on an account whose key can do more than the
   * policies need, before anything is recorded or sent; `list_accounts` shows such accounts as refused. Optional so
   * that unit tests may leave it out; `openBrokerRuntime` always sets it.
   */
  readonly keyScope?: Pick<KeyScopeGate, 'admit' | 'status'>;
  /** Issue 15: the configured `services` for `http_request` (none: every http_request fails as an unknown service). */
  readonly services?: ServiceProxy;
  /** Issue 17: `agents.delegation` (depth and lifetime of delegated tokens); the config's defaults when absent. */
  readonly delegation?: DelegationConfig;
  /** Issue 19: the wallets (`wallets:`); none: every wallet action fails as an unknown wallet. */
  readonly wallets?: WalletService | undefined;
  /** Issue 19: the encryption keys (`encryptionKeys:`); none: every encryption action fails as an unknown key. */
  readonly encryption?: EncryptionService | undefined;
}

/** What a surface can add to one request. */
export interface ExecuteOptions {
  /**
   * Asks the human at the agent's own client to confirm (MCP elicitation) for a `confirm` rule; resolves true only
   * on an explicit yes. Absent: the client cannot ask, and such a request is denied (fail closed).
   */
  readonly confirm?: (question: ConfirmQuestion) => Promise<boolean>;
}

/** What the human at the agent's client is asked to confirm: the exact action and the hash it is bound to. */
export interface ConfirmQuestion {
  readonly requestId: string;
  readonly summary: string;
  readonly payloadHash: string;
}

/** A request the broker has claimed, as the steps after the claim need it. */
export interface Claimed {
  readonly requestId: string;
  readonly agent: AuthenticatedAgent;
  readonly action: ActionName;
  readonly account: string | undefined;
  readonly idempotencyKey: string | undefined;
  /**
   * A request with no key allowed outright (a read, a cancel) is not stored while it runs: it has nothing to claim
   * and nothing to settle if cofre stops, so its row is written once, finished (one commit instead of two). This
   * is the row to write then.
   */
  readonly unstored?: RequestRecord | undefined;
}

/** What `Broker.reconcileInterrupted` did with each request left `executing`. */
export interface ReconcileReport {
  readonly resolved: readonly { readonly requestId: string; readonly status: 'executed' | 'failed' }[];
  readonly unresolved: readonly { readonly requestId: string; readonly reason: string }[];
}

/** What every step of the broker works with: its dependencies, its clock and the kill switch's gate. */
export interface BrokerContext {
  readonly deps: BrokerDependencies;
  readonly now: () => Date;
  readonly halt: HaltGate;
  /**
   * Requests this process has claimed and not yet let go of, whatever happened to them (issue 16): any other row
   * this replica owns that is still `executing` was left behind (its finish could not be written) and is settled by
   * the replica loop once past the signed-request window.
   */
  readonly running: Set<string>;
}

/** A record for a request that calls no venue. */
export function emptyRecord(): VenueCallRecord {
  return { held: [], writeSent: false };
}
