// What the rotation tests share: a rotation context over given backends, an audit sink that keeps its records in
// memory (and can be made to refuse), and a venue opener that stands in for a venue by checking the API key.
import type { AuditEvent, AuditSink } from '../../src/audit/audit-log.js';
import type { CofreConfig } from '../../src/config/config-schema.js';
import { CofreError } from '../../src/errors.js';
import type { RotationContext, RotationProgress, VenueOpener } from '../../src/rotation/rotation-context.js';
import type { RotationStore } from '../../src/rotation/rotation-types.js';
import type { SecretBackend } from '../../src/secrets/secret-backend.js';
import { checkKeyScope } from '../../src/venues/check-key-scope.js';
import type { KeyScope, VenueAccount } from '../../src/venues/venue-account.js';

/** An audit sink keeping records in memory; `refuse = true` makes appends fail as an unwritable log does. */
export class MemoryAudit implements AuditSink {
  readonly events: AuditEvent[] = [];
  refuse = false;

  append(event: AuditEvent): Promise<void> {
    if (this.refuse) return Promise.reject(new CofreError('COFRE_AUDIT_UNAVAILABLE', 'audit log refused'));
    this.events.push(event);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  actions(): string[] {
    return this.events.map((e) => e.action);
  }
}

/** What a fake venue accepts: API keys, and the scope it reports for each. */
export interface FakeVenue {
  readonly accepted: Set<string>;
  readonly scopes: Map<string, KeyScope>;
  /** When set, every balance read fails with this (e.g. a retryable outage). */
  failWith?: CofreError | undefined;
  /** The API keys balance reads were signed with, in order. */
  readonly seen: string[];
}

export function fakeVenue(accepted: readonly string[]): FakeVenue {
  return { accepted: new Set(accepted), scopes: new Map(), seen: [] };
}

/** Opens accounts of `venue`: a balance read passes only for an accepted API key; `keyScope` reports its scope. */
export function fakeVenueOpener(venue: FakeVenue): VenueOpener {
  return (id, account, credentials) => {
    const apiKey = async (): Promise<string> => {
      const values = await credentials();
      const key = values.apiKey.text();
      for (const value of Object.values(values)) (value as { zero(): void }).zero();
      return key;
    };
    const opened: Partial<VenueAccount> = {
      id,
      venue: account.venue,
      mode: account.mode,
      fetchBalance: async () => {
        if (venue.failWith !== undefined) throw venue.failWith;
        const key = await apiKey();
        venue.seen.push(key);
        if (!venue.accepted.has(key)) {
          throw new CofreError(
            'COFRE_VENUE_AUTH_FAILED',
            `account "${id}": the venue refused the credentials`,
          );
        }
        return { assets: {} };
      },
      keyScope: async () => venue.scopes.get(await apiKey()),
      close: () => Promise.resolve(),
    };
    return Promise.resolve(opened as VenueAccount);
  };
}

/** A rotation context over `backends`; progress goes to `progress`, warnings to `warnings`. */
export function rotationContext(options: {
  readonly config: CofreConfig;
  readonly backends: readonly SecretBackend[];
  readonly store: RotationStore;
  readonly audit: AuditSink;
  readonly openVenue: VenueOpener;
  readonly onStep?: (progress: RotationProgress) => void | Promise<void>;
  readonly invalidated?: string[];
  readonly progress?: RotationProgress[];
  readonly warnings?: string[];
}): RotationContext {
  const byName = new Map(options.backends.map((b) => [b.name, b]));
  return {
    config: options.config,
    backend: (name) => {
      const backend = byName.get(name);
      if (backend === undefined) throw new CofreError('COFRE_BACKEND_UNKNOWN', `no backend ${name}`);
      return backend;
    },
    invalidate: (backend, path) => options.invalidated?.push(`${backend}:${path}`),
    store: options.store,
    audit: options.audit,
    openVenue: options.openVenue,
    checkKeyScope,
    by: 'local:tester',
    now: () => new Date(Date.UTC(2026, 10, 30, 10, 0, 0)),
    onStep: async (progress) => {
      options.progress?.push(progress);
      await options.onStep?.(progress);
    },
    onWarning: (message) => options.warnings?.push(message),
  };
}
