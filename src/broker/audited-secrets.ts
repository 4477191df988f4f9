import type { AuditHasher } from '../audit/audit-hasher.js';
import type { AppendOptions, AuditEvent, AuditSink } from '../audit/audit-log.js';
import type { CofreConfig } from '../config/config-schema.js';
import type { SecretResolver } from '../secrets/secret-resolver.js';
import type { SecretValue } from '../secrets/secret-value.js';
import { currentRequestIdentity, type RequestIdentity } from '../venues/request-context.js';
import type { VenueCredentials } from '../venues/venue-account.js';

/** Why cofre read a secret, as written in the `purpose` of its `secret-access` record. */
export type SecretPurpose =
  | 'venue-credentials'
  | 'approval-webhook'
  | 'audit-signing-key'
  | 'audit-hmac-key'
  | 'preflight'
  /** Issue 12: an account's venue credentials, read to ask the venue what the key may do (key-scope-gate.ts). */
  | 'key-scope'
  /** Issue 19: an embedded wallet key, read to sign one digest (zeroed after). */
  | 'wallet-key'
  /** Issue 15: a service's credential, read to inject into one `http_request`. */
  | 'service-credential'
  /** Issue 15: a database's credentials, read to open one upstream connection for an agent. */
  | 'database-credentials'
  /** Issue 19: an embedded encryption key, read for one encrypt, decrypt or data key (and zeroed after). */
  | 'encryption-key'
  /** Issue 19: a chain's RPC endpoint URL that carries an API key, read once when the chain is first used. */
  | 'wallet-rpc';

/** One secret read to record: the reference as configured (recorded HMAC'd only) and what it was read for. */
export interface SecretAccess {
  readonly reference: string;
  readonly version?: string | undefined;
  readonly purpose: SecretPurpose;
  readonly account?: string | undefined;
}

/**
 * Every secret the broker reads goes through here: read through the resolver, then recorded in the audit log as a
 * `secret-access` record — the reference HMAC'd ({@link AuditHasher}), the version the backend returned, the
 * account or purpose, and the request it was read for (from `venues/request-context.ts`, `-` outside a request).
 *
 * SECURITY: fail closed — a value whose read could not be recorded is zeroed and never returned; the caller gets
 * the audit log's error (`COFRE_AUDIT_UNAVAILABLE`), so nothing is signed with it.
 *
 * Safe to call concurrently; concurrent reads' records share the log's group commit.
 */
export class AuditedSecrets {
  readonly #resolver: Pick<SecretResolver, 'resolveRecord'>;
  readonly #audit: AuditSink;
  readonly #hasher: AuditHasher;

  constructor(deps: {
    resolver: Pick<SecretResolver, 'resolveRecord'>;
    audit: AuditSink;
    hasher: AuditHasher;
  }) {
    this.#resolver = deps.resolver;
    this.#audit = deps.audit;
    this.#hasher = deps.hasher;
  }

  /** The value of `reference`, once its read is on record. The caller owns the value and zeroes it. */
  async read(reference: string, access: Omit<SecretAccess, 'reference' | 'version'>): Promise<SecretValue> {
    const record = await this.#resolver.resolveRecord(reference);
    try {
      await this.record({ ...access, reference, version: record.version });
    } catch (err) {
      record.value.zero();
      throw err;
    }
    return record.value;
  }

  /** Appends the `secret-access` record of a read made elsewhere (the audit keys' own, read before the log opened). */
  record(access: SecretAccess): Promise<void> {
    return this.recordFor(access, currentRequestIdentity());
  }

  /** The `secret-access` record of a read made for `request` (`-` for none), appended with `options`. */
  recordFor(
    access: SecretAccess,
    request: Pick<RequestIdentity, 'requestId' | 'agent'> | undefined,
    options?: AppendOptions,
  ): Promise<void> {
    const event: AuditEvent = {
      kind: 'secret-access',
      requestId: request?.requestId ?? '-',
      agent: request?.agent ?? '-',
      action: access.purpose,
      ...(access.account === undefined ? {} : { account: access.account }),
      reference: this.#hasher.reference(access.reference),
      ...(access.version === undefined ? {} : { version: access.version }),
      purpose: access.purpose,
    };
    return this.#audit.append(event, options);
  }

  /**
   * The venue credentials of `accountId`, each reference read and recorded (`purpose: venue-credentials`). All or
   * nothing: if any read or record fails, the values already read are zeroed and the first error is thrown.
   *
   * Inside a request whose broker already read them ({@link RequestIdentity.credentials}, recorded in its intent's
   * batch), copies of those are returned and nothing is read or recorded again.
   */
  async venueCredentials(
    accountId: string,
    config: Pick<CofreConfig, 'accounts'>,
  ): Promise<VenueCredentials> {
    const held = currentRequestIdentity()?.credentials;
    if (held?.account === accountId) return copyCredentials(held.values);
    return this.#venueCredentials(accountId, config, (ref, access) => this.read(ref, access));
  }

  /**
   * Reads the venue credentials of `accountId` for one request WITHOUT recording the reads: the caller appends
   * `accesses` (with {@link recordFor}) in the batch of the request's intent and uses the values only once that is
   * on record, or zeroes them. All or nothing, as {@link venueCredentials}.
   */
  async readVenueCredentials(
    accountId: string,
    config: Pick<CofreConfig, 'accounts'>,
  ): Promise<{ readonly values: VenueCredentials; readonly accesses: readonly SecretAccess[] }> {
    const accesses: SecretAccess[] = [];
    const values = await this.#venueCredentials(accountId, config, async (reference, access) => {
      const record = await this.#resolver.resolveRecord(reference);
      accesses.push({ ...access, reference, version: record.version });
      return record.value;
    });
    return { values, accesses };
  }

  async #venueCredentials(
    accountId: string,
    config: Pick<CofreConfig, 'accounts'>,
    readOne: (ref: string, access: Omit<SecretAccess, 'reference' | 'version'>) => Promise<SecretValue>,
  ): Promise<VenueCredentials> {
    const refs = config.accounts[accountId]?.credentials;
    if (refs === undefined) throw new Error(`account ${accountId} has no credentials`);
    const access = { purpose: 'venue-credentials', account: accountId } as const;
    const read = (ref: string | undefined): Promise<SecretValue | undefined> =>
      ref === undefined ? Promise.resolve(undefined) : readOne(ref, access);
    const settled = await Promise.allSettled([
      read(refs.apiKey),
      read(refs.secret),
      read(refs.password),
      read(refs.uid),
    ]);
    const failed = settled.find((s) => s.status === 'rejected');
    const values = settled.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
    if (failed !== undefined) {
      for (const value of values) value?.zero();
      throw failed.reason;
    }
    const [apiKey, secret, password, uid] = values;
    if (apiKey === undefined || secret === undefined)
      throw new Error(`account ${accountId} has no credentials`);
    return {
      apiKey,
      secret,
      ...(password === undefined ? {} : { password }),
      ...(uid === undefined ? {} : { uid }),
    };
  }
}

/** Fresh copies of `held`: a venue call zeroes the credentials it is given when it ends. */
function copyCredentials(held: VenueCredentials): VenueCredentials {
  return {
    apiKey: held.apiKey.clone(),
    secret: held.secret.clone(),
    ...(held.password === undefined ? {} : { password: held.password.clone() }),
    ...(held.uid === undefined ? {} : { uid: held.uid.clone() }),
  };
}

/** Zeroes every value of `credentials`. */
export function zeroCredentials(credentials: VenueCredentials): void {
  credentials.apiKey.zero();
  credentials.secret.zero();
  credentials.password?.zero();
  credentials.uid?.zero();
}
